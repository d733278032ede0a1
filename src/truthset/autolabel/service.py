"""Automated labeling inside a job: the platform side of the loop in `loop.py`.

Each iteration (a background run of kind `autolabel`) reads the job's items and its human
labels, trains the job's model, chooses the confidence threshold on the held-out human
labels with the Clopper-Pearson guarantee, writes machine labels (`human-annotated: no`)
for unstarted items above it, and sets the work queue's priority so that people get the
validation items first, then the items active learning ranks highest.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy.orm import Session

from truthset.autolabel import repository
from truthset.autolabel.features import (
    Progress,
    load_images,
    model_and_inputs,
    model_path,
    raw_inputs,
)
from truthset.autolabel.queue import (
    finish_plan,
    last_iteration_state,
    next_priorities,
    seed_priorities,
    validation_targets,
)
from truthset.autolabel.settings import autolabel_settings, batch_size, validation_settings
from truthset.errors import BadInput
from truthset.labels.writer import class_label, write_label
from truthset.learning.loop import (
    AutolabelSettings,
    ValidationState,
    choose_validation_items,
    feasible_rule,
    look_confidence_level,
    run_iteration,
)
from truthset.learning.models import (
    FeaturizedClassifier,
    load_model,
    save_model,
)
from truthset.learning.strategies import priority_scores
from truthset.store.models import Job
from truthset.store.raw import stored_json
from truthset.tasktypes import get_task_type


@dataclass
class IterationPlan:
    """What an iteration decided, computed from a snapshot without holding a write lock:
    the machine labels to write and the work queue's new priorities."""

    report: dict[str, Any]
    # (task id, class index, confidence) for items the model labels.
    labels: list[tuple[int, int, float]] = field(default_factory=list)
    # task id -> priority, for open, unstarted tasks.
    priorities: dict[int, float] = field(default_factory=dict)
    # task id -> answers, for validation items that need more than the job's default.
    targets: dict[int, int] = field(default_factory=dict)


def run_autolabel_iteration(
    session: Session, job: Job, *, now: float | None = None, cache_dir: Path | None = None
) -> dict[str, Any]:
    """One iteration in one session (plan, then apply). The background run uses a read
    session for the plan and a short write transaction to apply it."""
    plan = plan_autolabel_iteration(session, job, now=now, cache_dir=cache_dir)
    return apply_autolabel_plan(session, job, plan, now=now)


def plan_autolabel_iteration(
    session: Session,
    job: Job,
    *,
    now: float | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> IterationPlan:
    """Train, choose the threshold, pick the next batch: reads only. Training can take
    minutes on a big image job; on SQLite a write transaction would stop every worker's
    submit for that long."""
    now = time.time() if now is None else now
    opts = autolabel_settings(job)
    if opts is None:
        raise BadInput(f"job {job.name!r} does not have automated labeling on")
    config = get_task_type(job.task_type).parse_label_config(job.label_config)
    rows = repository.job_task_rows(session, job.id)
    n = len(rows)
    if n == 0:
        return IterationPlan(report={"items": 0})
    batch = batch_size(opts, n)
    settings = AutolabelSettings(
        target_accuracy=float(opts["target_accuracy"]),
        confidence_level=float(opts["confidence_level"]),
        strategy=str(opts["strategy"]),
        batch_size=batch,
        workers_per_item=job.workers_per_item,
        **validation_settings(opts),
    )
    validation = choose_validation_items(n, settings, random_state=job.id)
    targets = validation_targets(rows, validation, settings.validation_answers)
    human = {}
    done = np.zeros(n, dtype=bool)
    for idx, r in enumerate(rows):
        if r.status == "complete" and r.value is not None and r.human:
            human[idx] = int(stored_json(r.value))
        # Items people have started, or that are finished, are not the model's to label.
        if r.status in ("complete", "auto", "failed") or r.started:
            done[idx] = True
    if len(human) < min(batch, n):
        return IterationPlan(
            report={
                "items": n,
                "human_labels": len(human),
                "waiting_for": min(batch, n),
                "auto_labeled": 0,
            },
            priorities=seed_priorities(
                rows,
                validation,
                job.id,
                batch,
                _warm_start_scores(session, job, rows, opts, cache_dir),
            ),
            targets=targets,
        )
    features, featurizer, model = model_and_inputs(job, rows, opts, cache_dir, progress)
    if progress is not None:
        progress(f"training on {len(human):,} human labels, choosing the threshold")
    # The validation set mirrors the pool across iterations, and each iteration (look)
    # chooses its threshold at its share of the job's error budget and commits when that
    # is feasible: committing every iteration at the full level was measured to miss the
    # target (94.0% where 95% was guaranteed), holding labels back until the coverage
    # stopped growing missed feasible looks (docs/autolabel.md "When to commit").
    previous = last_iteration_state(session, job.id)
    state = ValidationState.from_dict(previous.get("validation"))
    seed = int(now) % 2**31
    args = (features, human, validation)
    kwargs = dict(
        n_classes=len(config.labels),
        settings=settings,
        model=model,
        done=done,
        random_state=seed,
        **state.run_kwargs(),
    )
    level = look_confidence_level(state.looks + 1, n, len(validation), settings)
    result = run_iteration(*args, commit=feasible_rule, confidence_level=level, **kwargs)
    state.update(result)
    if cache_dir is not None and result.model is not None:
        save_model(
            # A model on the job's features travels with its featurizer; one that takes
            # raw items (http: its endpoints and classes) is saved as it is.
            result.model
            if featurizer is None
            else FeaturizedClassifier.from_fitted(featurizer, result.model),
            model_path(cache_dir, job.id),
            {
                "job": job.name,
                "task_type": job.task_type,
                "labels": list(config.labels),
                "input": "raw"
                if featurizer is None
                else "text"
                if job.task_type == "text-classification"
                else "image",
                "human_labels": result.n_human_labels,
                "threshold": None
                if result.threshold is None
                else _num(getattr(result.threshold, "threshold", None)),
            },
        )
    labels = [
        (rows[int(idx)].id, int(lab), round(float(conf), 2))
        for idx, lab, conf in zip(
            result.auto_items, result.auto_labels, result.auto_confidence, strict=True
        )
        if rows[int(idx)].status == "open" and not rows[int(idx)].started
    ]
    thr = result.threshold
    report = {
        "items": n,
        "human_labels": result.n_human_labels,
        "validation_labeled": result.n_validation_labeled,
        "auto_labeled": len(labels),
        "threshold": None if thr is None else _num(getattr(thr, "threshold", None)),
        "estimated_accuracy": _num(result.estimated_accuracy),
        "accuracy_interval": [_num(x) for x in result.accuracy_interval],
        "cost_saved": _num(result.cost.saved),
        "strategy": settings.strategy,
        "committed": result.committed,
        "state": {
            "validation": state.to_dict(),
            "coverage": None if thr is None else _num(getattr(thr, "coverage", None)),
        },
    }
    return IterationPlan(
        report=report,
        labels=labels,
        priorities=next_priorities(rows, result, batch),
        targets=targets,
    )


def apply_autolabel_plan(
    session: Session, job: Job, plan: IterationPlan, *, now: float | None = None
) -> dict[str, Any]:
    """Write the plan in one short transaction. A task a worker started (or finished)
    since the snapshot keeps its human path: neither its label nor its priority is
    touched."""
    now = time.time() if now is None else now
    config = get_task_type(job.task_type).parse_label_config(job.label_config)
    auto = 0
    for task_id, lab, confidence in plan.labels:
        if not repository.claim_task_for_machine(session, task_id, now):
            continue
        write_label(
            session,
            job.id,
            task_id,
            class_label(lab, config.labels[lab], confidence, "auto-label"),
            human=False,
            now=now,
        )
        auto += 1
    return finish_plan(
        session, job.id, plan.report, plan.priorities, auto, now=now, targets=plan.targets
    )


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if np.isnan(x) else round(x, 4)


def _warm_start_scores(
    session: Session,
    job: Job,
    rows: Sequence[Any],
    opts: dict[str, Any],
    cache_dir: Path | None,
) -> Any:
    """Priorities for this job's items from the model of the job named in `warm_start`,
    by this job's active-learning strategy; None when there is no warm start."""
    source = opts.get("warm_start")
    if not source or cache_dir is None:
        return None
    from truthset.jobs.service import get_job

    other = get_job(session, str(source))
    path = model_path(cache_dir, other.id)
    if not path.exists():
        return None  # the other job has not trained a model yet: start at random
    model, meta = load_model(path)
    config = get_task_type(job.task_type).parse_label_config(job.label_config)
    if meta.get("labels") != list(config.labels) or meta.get("task_type") != job.task_type:
        raise BadInput(
            f"settings.auto_label.warm_start: job {other.name!r} has other labels or another "
            "task type"
        )
    datas = [orjson.loads(r.data) for r in rows]
    if meta.get("input") == "raw":  # a model that takes the items themselves (http)
        inputs: Any = raw_inputs(job, datas)
    elif job.task_type == "text-classification":
        inputs = [d.get("source", "") for d in datas]
    else:
        side = int(model.featurizer.image_shape_[0])  # the size the model was trained at
        inputs, _ = load_images([d["source-ref"] for d in datas], side)
    proba = model.predict_proba(inputs)
    return priority_scores(str(opts["strategy"]), proba, batch_size=len(rows), random_state=0)


def autolabel_report(session: Session, job: Job) -> dict[str, Any]:
    """The job's automated labeling at a glance: its settings and, per iteration (one
    finished `autolabel` run each), the human labels used, the items the model labeled,
    the threshold, the estimated accuracy of auto-labels with its interval, and the cost
    saved. Oldest iteration first."""
    opts = autolabel_settings(job)
    if opts is None:
        return {"enabled": False, "settings": None, "iterations": [], "pending": None}
    rows = repository.iteration_runs(session, job.id)
    iterations = []
    pending = None
    for run_id, state, finished_at, result, error in rows:
        if state in ("queued", "running"):
            pending = {"run_id": run_id, "state": state}
            continue
        result = stored_json(result) or {}
        iterations.append(
            {
                "run_id": run_id,
                "state": state,
                "finished_at": finished_at,
                "error": error,
                **{k: result.get(k) for k in _REPORTED},
            }
        )
    return {"enabled": True, "settings": opts, "iterations": iterations, "pending": pending}


_REPORTED = (
    "items",
    "human_labels",
    "validation_labeled",
    "waiting_for",
    "auto_labeled",
    "threshold",
    "estimated_accuracy",
    "accuracy_interval",
    "cost_saved",
    "committed",
    "strategy",
)
