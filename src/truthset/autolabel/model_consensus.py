"""Model-assisted consensus (CROWDLAB) for a job: the model is one more annotator.

With one or two answers per item, majority vote cannot break a tie or overrule one careless
worker. ``plan_model_consensus`` trains the model the auto-labeling loop would train on the
majority-vote labels, takes its out-of-sample probabilities (K-fold: an item's own answers
never teach the model about that item), and combines them with every counted answer in
``consensus.ModelAssistedConsensus`` (Goh, Tkachenko and Mueller 2022): each worker is
weighted by their agreement with the others, the model by how much better than the
majority class it agrees with the consensus. ``apply_model_consensus`` rewrites the labels
of complete, unreviewed tasks (method ``crowdlab``) in one short transaction.

Reached through job-level consolidation with ``method="crowdlab"``
(``POST /api/jobs/{name}/consolidate``, the ``consolidate`` run, ``quality.method``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from truthset.autolabel import repository
from truthset.autolabel.features import model_and_inputs
from truthset.autolabel.label_issues import check_job, require_classes
from truthset.autolabel.settings import DEFAULTS, autolabel_settings
from truthset.labels import repository as labels_repository
from truthset.labels.writer import class_label, write_label
from truthset.learning.consensus import ModelAssistedConsensus, out_of_sample_proba
from truthset.learning.models.base import expand_proba
from truthset.quality.methods import ConsolidationMethod
from truthset.store.models import Job
from truthset.store.raw import stored_json
from truthset.tasktypes import get_task_type

METHOD = "crowdlab"


@dataclass
class ConsensusPlan:
    """task id -> (class id, confidence) for the labels to write; the report."""

    labels: dict[int, tuple[int, float]] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


def plan_model_consensus(
    session: Session, job: Job, *, cache_dir: Path | None = None, folds: int = 5
) -> ConsensusPlan:
    """Combine the model and the workers' answers (reads only; see the module docstring)."""
    check_job(job, f"consolidation method {METHOD!r}")
    names = list(get_task_type(job.task_type).parse_label_config(job.label_config).labels)
    rows = repository.job_task_rows(session, job.id)
    index = {int(r.id): k for k, r in enumerate(rows)}
    answers = repository.included_answers(session, job.id)
    a_item, a_worker, a_label = [], [], []
    for task_id, worker_id, content in answers:
        k = index.get(int(task_id))
        label = stored_json(content).get("label") if k is not None else None
        if label not in names:
            continue  # a gold task's answer, or one no longer valid for the labels
        a_item.append(k)
        a_worker.append(int(worker_id))
        a_label.append(names.index(label))
    answered = np.unique(np.asarray(a_item, dtype=np.intp))
    items = np.asarray(a_item, dtype=np.intp)
    labels = np.asarray(a_label, dtype=np.intp)
    votes = np.zeros((len(rows), len(names)))
    np.add.at(votes, (items, labels), 1.0)
    majority = votes.argmax(axis=1)
    # The model learns from the items whose answers have a clear majority (a tie says
    # nothing about the class): out-of-sample for those, trained on all of them for ties.
    top2 = np.sort(votes[answered], axis=1)[:, -2:]
    clear = answered[top2[:, 1] > top2[:, 0]]
    tied = answered[top2[:, 1] == top2[:, 0]]
    require_classes(
        np.bincount(majority[clear], minlength=len(names)),
        names,
        f"consolidation method {METHOD!r} needs items with a clear majority",
        f"consolidation method {METHOD!r} needs answers; job {job.name!r} has none",
    )
    opts = autolabel_settings(job) or dict(DEFAULTS)
    features, _featurizer, model = model_and_inputs(job, rows, opts, cache_dir)
    proba = np.full((len(rows), len(names)), 1.0 / len(names))
    proba[clear] = out_of_sample_proba(
        model, features[clear], majority[clear], n_classes=len(names), n_splits=folds
    )
    if tied.size:
        fitted = copy.deepcopy(model).fit(features[clear], majority[clear])
        proba[tied] = expand_proba(
            fitted.predict_proba(features[tied]), np.asarray(fitted.classes_), len(names)
        )
    # Rows renumbered to the answered items, so that the consensus sees only those.
    position = np.full(len(rows), -1, dtype=np.intp)
    position[answered] = np.arange(answered.size)
    consensus = ModelAssistedConsensus().fit(
        proba[answered], position[items], np.asarray(a_worker), labels
    )
    plan = ConsensusPlan()
    changed = 0
    for j, k in enumerate(answered):
        r = rows[k]
        if r.status != "complete" or r.reviewed:
            continue  # unfinished items wait for their answers; a reviewer's label is final
        cls = int(consensus.labels_[j])
        plan.labels[int(r.id)] = (cls, round(float(consensus.confidence_[j]), 4))
        before = stored_json(r.meta).get("class-name") if r.meta is not None else None
        changed += int(before != names[cls])
    plan.report = {
        "method": METHOD,
        "tasks": len(plan.labels),
        "changed": changed,
        "model_weight": round(consensus.model_weight_, 4),
        "worker_weights": {
            str(w): round(float(x), 4)
            for w, x in zip(consensus.workers_, consensus.worker_weights_, strict=True)
        },
    }
    return plan


def apply_model_consensus(
    session: Session, job: Job, plan: ConsensusPlan, *, now: float
) -> dict[str, Any]:
    names = list(get_task_type(job.task_type).parse_label_config(job.label_config).labels)
    # A reviewer may have set a label since the plan was made: theirs stays.
    reviewed = labels_repository.reviewed_task_ids(session, job.id)
    for task_id, (cls, confidence) in plan.labels.items():
        if task_id in reviewed:
            continue
        write_label(
            session,
            job.id,
            task_id,
            class_label(cls, names[cls], confidence, METHOD),
            human=True,
            now=now,
        )
    return plan.report


CROWDLAB = ConsolidationMethod(
    name=METHOD,
    description="model-assisted consensus: the job's model is one more annotator",
    plan=lambda session, job, cache_dir: plan_model_consensus(session, job, cache_dir=cache_dir),
    apply=lambda session, job, plan, now: apply_model_consensus(session, job, plan, now=now),
)
