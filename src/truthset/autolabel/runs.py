"""Auto-labeling iterations as background runs, scheduled when enough human labels came in."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from truthset.jobs.service import get_job
from truthset.runs.periodic import Throttle
from truthset.runs.registry import run_kind
from truthset.runs.service import enqueue

_turns = Throttle()


@run_kind("autolabel", resumable=True)  # writes in one transaction: safe to start again
def autolabel_run(ctx: Any, *, job: str) -> dict[str, Any]:
    from truthset.autolabel.service import apply_autolabel_plan, plan_autolabel_iteration

    cache_dir = ctx.settings.data_dir / "autolabel"
    # The plan (features, training, threshold) reads a snapshot without the write lock;
    # the writes then take one short transaction.
    with ctx.db.session_scope(write=False) as session:
        the_job = get_job(session, job)
        if the_job.task_type == "bounding-box":
            from truthset.autolabel.boxes import apply_box_plan, plan_box_iteration

            box_plan = plan_box_iteration(session, the_job, cache_dir=cache_dir)
        else:
            _fetch_warm_start_model(ctx, session, the_job, cache_dir)
            plan = plan_autolabel_iteration(
                session,
                the_job,
                cache_dir=cache_dir,
                progress=lambda message: ctx.progress(1, 3, message),
            )
            _publish_model(ctx, the_job, cache_dir)
    ctx.progress(2, 3, "writing machine labels and priorities", force=True)
    with ctx.db.session_scope() as session:
        if the_job.task_type == "bounding-box":
            return apply_box_plan(session, get_job(session, job), box_plan)
        return apply_autolabel_plan(session, get_job(session, job), plan)


def _fetch_warm_start_model(ctx: Any, session: Session, job: Any, cache_dir: Any) -> None:
    """The model of the job this one warm-starts from, on this host (runs/files.py): in a
    cluster another host's worker may have trained it."""
    from truthset.autolabel.features import model_path
    from truthset.runs.files import fetch_model

    source = ((job.settings or {}).get("auto_label") or {}).get("warm_start")
    if source:
        fetch_model(ctx.settings, model_path(cache_dir, get_job(session, str(source)).id))


def _publish_model(ctx: Any, job: Any, cache_dir: Any) -> None:
    """The model the iteration saved, copied where every host reads it (in a cluster)."""
    from truthset.autolabel.features import model_path
    from truthset.runs.files import publish_model

    path = model_path(cache_dir, job.id)
    if path.exists():
        publish_model(ctx.settings, path)


@run_kind("prelabel", resumable=True)  # skips items that have a prediction: safe to redo
def prelabel_run(ctx: Any, *, job: str, detector: str, label: str | None = None) -> dict[str, Any]:
    from truthset.autolabel.prelabel import (
        ONNX,
        ONNX_BATCH,
        apply_predictions,
        check_request,
        merge_onnx_reports,
        onnx_todo,
        plan_onnx_predictions,
        plan_predictions,
        prediction_counts,
    )

    if detector == ONNX:  # the job's own model (settings.prelabel.onnx), in batches
        with ctx.db.session_scope(write=False) as session:
            the_job = get_job(session, job)
            chosen = check_request(the_job, detector, label)
            todo = onnx_todo(session, the_job)
        report: dict[str, Any] | None = None
        written = 0
        for start in range(0, max(len(todo), 1), ONNX_BATCH):

            def batch_progress(n: int, _total: int, at: int = start) -> None:
                ctx.progress(at + n, len(todo))

            with ctx.db.session_scope(write=False) as session:
                predictions, part = plan_onnx_predictions(
                    session,
                    get_job(session, job),
                    chosen,
                    todo[start : start + ONNX_BATCH],
                    progress=batch_progress,
                )
            with ctx.db.session_scope() as session:
                written += apply_predictions(session, get_job(session, job), predictions)
            report = part if report is None else merge_onnx_reports(report, part)
        return {
            "job": job,
            "detector": detector,
            "label": chosen,
            "items": written,
            **(report or {}),
        }
    with ctx.db.session_scope(write=False) as session:
        the_job = get_job(session, job)
        chosen = check_request(the_job, detector, label)
        predictions = plan_predictions(
            session, the_job, detector, chosen, progress=lambda n, total: ctx.progress(n, total)
        )
    with ctx.db.session_scope() as session:
        written = apply_predictions(session, get_job(session, job), predictions)
    counts = prediction_counts(detector, predictions)
    return {"job": job, "detector": detector, "label": chosen, "items": written, **counts}


@run_kind("label_issues", resumable=True)  # rewrites every flag of the job: safe to redo
def label_issues_run(ctx: Any, *, job: str, folds: int = 5) -> dict[str, Any]:
    from truthset.autolabel.label_issues import apply_label_issues, plan_label_issues

    with ctx.db.session_scope(write=False) as session:
        plan = plan_label_issues(
            session,
            get_job(session, job),
            cache_dir=ctx.settings.data_dir / "autolabel",
            folds=folds,
        )
    with ctx.db.session_scope() as session:
        return apply_label_issues(session, get_job(session, job), plan)


def schedule_due(session: Session, *, every: float = 2.0) -> list[str]:
    """Enqueue the iterations that are due (called by the executors between runs)."""
    now = time.time()
    if not _turns.due(session, now, every):
        return []
    # Imported here: the models pull in scikit-learn, which most processes never need.
    from truthset.autolabel.queue import due_jobs

    names = due_jobs(session)
    for name in names:
        job = get_job(session, name)
        enqueue(session, "autolabel", {"job": name}, job_id=job.id, now=now)
    return names
