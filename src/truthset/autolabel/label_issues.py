"""Likely label errors in a job's human labels (confident learning), sent to review.

``plan_label_issues`` reads the job's human, unreviewed labels of a single-label
classification job, computes every item's features as the auto-labeling loop does (cached
per job), gets out-of-sample class probabilities by K-fold cross-validation (a model never
judges a label it was trained on), and flags the items whose label the model confidently
contradicts (``consensus.find_label_issues``: per-class thresholds, Northcutt et al. 2021).
``apply_label_issues`` writes the verdict on the labels (``labels.issue``), clearing earlier
flags, in one short transaction; the review queue serves flagged items first, with the
reason ``suspected_error`` and the suggested class.

A flag belongs to the label version it judged (``issue_label_at`` = the label's
``created_at``): a label rewritten since (more answers, reconsolidation) is not flagged
until it is checked again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from truthset.autolabel import repository
from truthset.autolabel.features import model_and_inputs
from truthset.autolabel.settings import DEFAULTS, autolabel_settings
from truthset.errors import BadInput
from truthset.labels.writer import flag_label_issues
from truthset.learning.consensus import find_label_issues, out_of_sample_proba
from truthset.store.models import Job
from truthset.store.raw import stored_json
from truthset.tasktypes import get_task_type

SUPPORTED = ("image-classification", "text-classification")
# Fewer labels than this per class cannot be cross-validated into anything useful.
MIN_LABELS_PER_CLASS = 5


@dataclass
class LabelIssuePlan:
    """The verdict for each checked label: task id -> issue (None = not suspected)."""

    checked: dict[int, tuple[float, dict[str, Any] | None]] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


def check_job(job: Job, purpose: str = "finding label issues") -> None:
    """Refuse a job whose task type the classification models cannot serve."""
    if job.task_type not in SUPPORTED:
        raise BadInput(f"{purpose} supports {', '.join(SUPPORTED)} jobs, not {job.task_type}")


def require_classes(counts: NDArray[np.intp], names: list[str], needs: str, none: str) -> None:
    """Cross-validation needs at least 2 classes with MIN_LABELS_PER_CLASS items each:
    ``counts`` per class; ``needs`` opens the message, ``none`` is said when all are 0."""
    used = counts[counts > 0]
    if used.size >= 2 and used.min() >= MIN_LABELS_PER_CLASS:
        return
    if used.size == 0:
        raise BadInput(none)
    listing = ", ".join(f"{names[c]}: {int(n)}" for c, n in enumerate(counts) if n)
    raise BadInput(
        f"{needs} of at least 2 classes, {MIN_LABELS_PER_CLASS} or more of each; it has {listing}"
    )


def plan_label_issues(
    session: Session,
    job: Job,
    *,
    cache_dir: Path | None = None,
    folds: int = 5,
    random_state: int = 0,
) -> LabelIssuePlan:
    """Cross-validate a model on the job's human labels and judge each of them (reads
    only; see the module docstring)."""
    check_job(job)
    if not 2 <= folds <= 20:
        raise BadInput(f"folds must be between 2 and 20, got {folds}")
    config = get_task_type(job.task_type).parse_label_config(job.label_config)
    names = list(config.labels)
    rows = repository.job_task_rows(session, job.id)
    judged = [
        k
        for k, r in enumerate(rows)
        if r.value is not None and r.human and not r.reviewed and _class_of(r.value) is not None
    ]
    labels = np.asarray([_class_of(rows[k].value) for k in judged], dtype=np.intp)
    require_classes(
        np.bincount(labels, minlength=len(names)),
        names,
        f"checking job {job.name!r} needs human labels",
        f"job {job.name!r} has no human labels to check",
    )
    opts = autolabel_settings(job) or dict(DEFAULTS)
    # Features for every item of the job, so that the auto-labeling cache is shared.
    features, _featurizer, model = model_and_inputs(job, rows, opts, cache_dir)
    X = features[np.asarray(judged)]
    proba = out_of_sample_proba(
        model, X, labels, n_classes=len(names), n_splits=folds, random_state=random_state
    )
    found = find_label_issues(proba, labels)
    plan = LabelIssuePlan()
    for j, k in enumerate(judged):
        issue = None
        if found.is_issue[j]:
            given, suggested = int(labels[j]), int(found.suggested[j])
            issue = {
                "label": names[given],
                "suggested": names[suggested],
                "label_probability": round(float(proba[j, given]), 4),
                "suggested_probability": round(float(proba[j, suggested]), 4),
            }
        plan.checked[int(rows[k].id)] = (float(rows[k].created_at), issue)
    worst = [rows[judged[j]] for j in found.ranking[:100]]
    plan.report = {
        "job": job.name,
        "checked": len(judged),
        "flagged": int(found.is_issue.sum()),
        "folds": folds,
        # The most suspicious first; GET /api/jobs/{name}/label-issues lists them all.
        "items": [{"item": r.external_id, **(plan.checked[int(r.id)][1] or {})} for r in worst],
    }
    return plan


def apply_label_issues(session: Session, job: Job, plan: LabelIssuePlan) -> dict[str, Any]:
    """Write the verdicts: flags on the judged label versions, earlier flags cleared."""
    flag_label_issues(
        session,
        job.id,
        {
            task_id: (at, issue)
            for task_id, (at, issue) in plan.checked.items()
            if issue is not None
        },
    )
    return plan.report


def label_issues(session: Session, job: Job) -> dict[str, Any]:
    """The job's current flags, most suspicious first (lowest probability of the label)."""
    rows = repository.flagged_labels(session, job.id)
    items = [{"item": ext, **stored_json(issue)} for ext, issue in rows]
    items.sort(key=lambda d: (d.get("label_probability", 1.0), d["item"]))
    return {"job": job.name, "flagged": len(items), "items": items}


def _class_of(value: Any) -> int | None:
    """The class id of a single-label classification label value."""
    value = stored_json(value)
    if isinstance(value, bool):
        return None
    return value if isinstance(value, int) else None
