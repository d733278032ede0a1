"""``auto``: pick a consolidation method per dataset, with or without gold.

Without gold: the first method in ``preference`` (richest model first) whose solution
keeps the meaning of every class (:func:`keeps_class_meaning`); the last one is always
accepted. With gold: every candidate is scored on the gold tasks, and ``auto`` moves away
from the no-gold choice only when a candidate is better on the gold items by a paired
sign test (more gold items it alone gets right than the reverse, by ``switch_z``
standard deviations), so a handful of gold items cannot flip the choice on noise.
See docs/quality-aggregation.md for the measurements behind these rules.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from truthset.consensus.aggregation.base import BaseAggregator, check_answers
from truthset.consensus.aggregation.checks import keeps_class_meaning
from truthset.consensus.aggregation.dawid_skene import DawidSkene
from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray, IntArray
from truthset.consensus.aggregation.glad import GLAD
from truthset.consensus.aggregation.gt_mds import GroundTruthMDS
from truthset.consensus.aggregation.majority_vote import MajorityVote
from truthset.consensus.aggregation.one_coin import OneCoinDawidSkene
from truthset.consensus.aggregation.wawa import Wawa

CANDIDATES: dict[str, Callable[[int], BaseAggregator]] = {
    "ds": lambda seed: DawidSkene(random_state=seed),
    "wawa": lambda seed: Wawa(random_state=seed),
    "mv": lambda seed: MajorityVote(random_state=seed),
    "gt-mds": lambda seed: GroundTruthMDS(random_state=seed),
    "onecoin": lambda seed: OneCoinDawidSkene(random_state=seed),
    "glad": lambda seed: GLAD(random_state=seed),
}
NO_GOLD_PREFERENCE = ("ds", "wawa")


class AutoAggregator(BaseAggregator):
    """Choose among ``CANDIDATES``; fitted ``method_``, ``estimator_``, ``report_``.

    ``fit(answers, gold_tasks=None, gold_labels=None)``: gold as task and class codes.
    """

    def __init__(
        self,
        *,
        preference: tuple[str, ...] = NO_GOLD_PREFERENCE,
        candidates: tuple[str, ...] | None = None,
        switch_z: float = 2.0,
        random_state: int = 0,
    ) -> None:
        self.preference = preference
        self.candidates = candidates
        self.switch_z = switch_z
        self.random_state = random_state

    def fit(
        self,
        answers: AnswerMatrix,
        gold_tasks: IntArray | None = None,
        gold_labels: IntArray | None = None,
    ) -> AutoAggregator:
        check_answers(answers)
        names = list(self.candidates or CANDIDATES)
        unknown = [n for n in [*names, *self.preference] if n not in CANDIDATES]
        if unknown:
            raise ValueError(f"unknown method {unknown[0]!r}; choose from {sorted(CANDIDATES)}")
        fitted: dict[str, BaseAggregator] = {}

        def get(name: str) -> BaseAggregator:
            if name not in fitted:
                fitted[name] = CANDIDATES[name](self.random_state).fit(answers)
            return fitted[name]

        report: dict[str, dict[str, float | bool]] = {}
        choice = self.preference[-1]
        for name in self.preference:
            ok = keeps_class_meaning(answers, get(name).posteriors_)
            report.setdefault(name, {})["keeps_class_meaning"] = ok
            if ok:
                choice = name
                break
        if gold_tasks is not None and gold_labels is not None and len(gold_tasks):
            choice = self._choose_with_gold(
                choice, names, get, np.asarray(gold_tasks), np.asarray(gold_labels), report
            )
        self.method_ = choice
        self.estimator_ = get(choice)
        self.report_ = report
        self.posteriors_ = self.estimator_.posteriors_
        self.labels_ = self.estimator_.labels_
        self.skills_ = self.estimator_.skills_
        self.worker_answer_counts_ = answers.answers_per_worker.copy()
        return self

    def _choose_with_gold(
        self,
        default: str,
        names: list[str],
        get: Callable[[str], BaseAggregator],
        gold_tasks: IntArray,
        gold_labels: IntArray,
        report: dict[str, dict[str, float | bool]],
    ) -> str:
        right = {n: get(n).labels_[gold_tasks] == gold_labels for n in {*names, default}}
        for name, hits in right.items():
            report.setdefault(name, {})["gold_accuracy"] = float(hits.mean())
        best, best_accuracy = default, float(right[default].mean())
        for name in names:
            only_new = int(np.sum(right[name] & ~right[default]))
            only_default = int(np.sum(right[default] & ~right[name]))
            discordant = only_new + only_default
            significant = only_new - only_default > self.switch_z * np.sqrt(max(discordant, 1))
            if significant and right[name].mean() > best_accuracy:
                best, best_accuracy = name, float(right[name].mean())
        return best

    def _fit(self, answers: AnswerMatrix) -> None:  # pragma: no cover - fit is overridden
        raise NotImplementedError

    def answer_model(self, answers: AnswerMatrix) -> FloatArray:
        return self.estimator_.answer_model(answers)
