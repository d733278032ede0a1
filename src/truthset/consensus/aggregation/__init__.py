"""Consolidation of classification answers: many workers' labels -> one label per task.

``aggregate`` is what the platform calls; ``AGGREGATORS`` maps method names (as used by
``truthset consolidate --method``) to estimator classes that work on integer codes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from truthset.consensus.aggregation.auto import AutoAggregator
from truthset.consensus.aggregation.base import BaseAggregator
from truthset.consensus.aggregation.bcc import BCC
from truthset.consensus.aggregation.dawid_skene import DawidSkene
from truthset.consensus.aggregation.encoding import AnswerMatrix, DuplicatePolicy, encode_answers
from truthset.consensus.aggregation.glad import GLAD
from truthset.consensus.aggregation.gt_mds import GroundTruthMDS
from truthset.consensus.aggregation.mace import MACE
from truthset.consensus.aggregation.majority_vote import MajorityVote
from truthset.consensus.aggregation.multilabel import MultiLabelAggregator
from truthset.consensus.aggregation.one_coin import OneCoinDawidSkene
from truthset.consensus.aggregation.result import AggregationResult
from truthset.consensus.aggregation.wawa import Wawa
from truthset.consensus.aggregation.zero_based_skill import ZeroBasedSkill

AGGREGATORS: dict[str, Callable[..., BaseAggregator]] = {
    "mv": MajorityVote,
    "wawa": Wawa,
    "ds": DawidSkene,
    "gt-mds": GroundTruthMDS,
    "onecoin": OneCoinDawidSkene,
    "glad": GLAD,
    "mace": MACE,
    "zbs": ZeroBasedSkill,
    "bcc": BCC,
    "auto": AutoAggregator,
}

__all__ = [
    "AGGREGATORS",
    "BCC",
    "GLAD",
    "MACE",
    "AggregationResult",
    "AnswerMatrix",
    "AutoAggregator",
    "BaseAggregator",
    "DawidSkene",
    "GroundTruthMDS",
    "MajorityVote",
    "MultiLabelAggregator",
    "OneCoinDawidSkene",
    "Wawa",
    "ZeroBasedSkill",
    "aggregate",
    "encode_answers",
]


def aggregate(
    task_ids: Sequence[str],
    worker_ids: Sequence[str],
    labels: Sequence[str],
    method: str = "auto",
    gold: Mapping[str, str] | None = None,
    random_state: int = 0,
    classes: Sequence[str] | None = None,
    duplicates: DuplicatePolicy = "keep",
) -> AggregationResult:
    """Consolidate string answers into one label and confidence per task.

    ``gold`` maps task id to its known label; ``auto`` uses it to choose the method, and
    the result's ``details["gold_accuracy"]`` reports accuracy on the gold tasks that have
    answers. ``classes`` fixes class order (a label config); by default, sorted labels seen.
    """
    if method not in AGGREGATORS:
        raise ValueError(f"unknown method {method!r}; choose from {sorted(AGGREGATORS)}")
    all_classes = list(classes) if classes is not None else None
    if all_classes is None and gold:
        all_classes = sorted({*map(str, labels), *gold.values()})
    answers = encode_answers(task_ids, worker_ids, labels, all_classes, duplicates)
    gold_tasks, gold_labels = _encode_gold(answers, gold)
    estimator = AGGREGATORS[method](random_state=random_state)
    details: dict[str, object] = {}
    if isinstance(estimator, AutoAggregator):
        estimator.fit(answers, gold_tasks, gold_labels)
        chosen = estimator.method_
        details["why"] = estimator.explanation_
        details["no_gold_choice"] = estimator.no_gold_choice_
        details["criterion"] = estimator.criterion_
        details["candidates"] = estimator.report_
        details["calibration"] = estimator.calibration_
    else:
        estimator.fit(answers)
        chosen = method
    posteriors = estimator.predict_proba()
    codes = estimator.predict()
    if len(gold_tasks):
        details["gold_accuracy"] = float(np.mean(codes[gold_tasks] == gold_labels))
        details["gold_tasks"] = len(gold_tasks)
    assert answers.task_names is not None and answers.class_names is not None
    assert answers.worker_names is not None
    return AggregationResult(
        task_ids=[str(t) for t in answers.task_names],
        labels=[str(c) for c in answers.class_names[codes]],
        # the chosen label's probability (the max, except where auto's vote label is not
        # its confidence model's most probable class)
        confidences=np.round(posteriors[np.arange(len(codes)), codes], 2),
        posteriors=posteriors,
        classes=[str(c) for c in answers.class_names],
        method=chosen,
        worker_skills={
            str(w): float(s) for w, s in zip(answers.worker_names, estimator.skills_, strict=True)
        },
        details=details,
    )


def _encode_gold(
    answers: AnswerMatrix, gold: Mapping[str, str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Gold as codes, for the gold tasks that have answers (others cannot be scored)."""
    if not gold:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    assert answers.task_names is not None and answers.class_names is not None
    task_index = {t: i for i, t in enumerate(answers.task_names.tolist())}
    class_index = {c: i for i, c in enumerate(answers.class_names.tolist())}
    pairs = []
    for task, label in gold.items():
        if label not in class_index:
            raise ValueError(f"gold label {label!r} of task {task!r} is not a known class")
        if task in task_index:
            pairs.append((task_index[task], class_index[label]))
    codes = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return codes[:, 0], codes[:, 1]
