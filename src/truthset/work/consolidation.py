"""Turning a task's answers into its label through the task type."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from truthset.jobs import service as jobs_service
from truthset.jobs import snapshot as jobs_snapshot
from truthset.labels.writer import write_label
from truthset.store.raw import raw, stored_json
from truthset.tasktypes import Consolidation, WorkerAnswer, get_task_type
from truthset.work import statements as sql
from truthset.work.window import window_ledger


def task_answers(session: Session, task_id: int) -> list[WorkerAnswer]:
    rows = raw(session).all(sql.TASK_ANSWERS, {"t": task_id, "x": False})
    return [worker_answer(worker_id, content, skill) for worker_id, content, skill in rows]


def worker_answer(worker_id: int, content: Any, skill: float | None) -> WorkerAnswer:
    """An answer as consolidation weighs it."""
    return WorkerAnswer(
        worker_id=worker_id,
        content=stored_json(content),
        # The worker's estimated skill weighs their answer; unknown workers count 1.
        weight=min(max(float(skill), 0.05), 1.0) if skill is not None else 1.0,
    )


def consolidate_task(
    session: Session,
    job: Any,
    task_id: int,
    *,
    now: float | None = None,
    answers: list[WorkerAnswer] | None = None,
) -> bool:
    """Consolidate a task that has all its answers (read here unless given); marks it
    complete. Returns True when a label was written."""
    now = time.time() if now is None else now
    if answers is None:
        answers = task_answers(session, task_id)
    if not answers:
        return False
    if job.settings.get("post_annotation"):
        # The job's post-annotation hook makes the label, in a run (truthset.hooks.post):
        # the task waits, full and unlabeled, and leaves the in-flight window now.
        _left_window(session, job, now)
        return False
    task_type = get_task_type(job.task_type)
    if isinstance(job, jobs_snapshot.JobView):
        config = job.parsed_label_config
    else:
        config = task_type.parse_label_config(job.label_config)
    result = task_type.consolidate(answers, config, job.settings)
    if _wants_more_workers(session, job, task_id, result, len(answers)):
        return False
    write_label(session, job.id, task_id, result, human=True, now=now, complete=True)
    _left_window(session, job, now)
    return True


def _left_window(session: Session, job: Any, now: float) -> None:
    """A task of the job is done with people: its in-flight slot is given back."""
    budget = job.max_human_labeled is not None or job.max_percentage_labeled is not None
    ledger = None if budget else window_ledger(session)
    if ledger is not None:  # in a PostgreSQL batch: the count is written before its commit
        in_flight = ledger.finish(session, job.id)
        if in_flight <= 0:
            ledger.write(session, job.id)  # the job's state is decided on the row below
    else:
        in_flight = raw(session).scalar(sql.COUNT_FINISHED_TASK, {"j": job.id})
    # While tasks are in flight the job cannot be done, unless a stopping condition is set.
    if in_flight <= 0 or budget:
        jobs_service.refresh_state(session, job.id, now=now)


def _wants_more_workers(
    session: Session, job: Any, task_id: int, result: Consolidation, n_answers: int
) -> bool:
    """Dynamic redundancy: a label below the job's confidence bar is not accepted yet; the
    task asks for one more worker, up to the job's maximum."""
    rule = (job.settings.get("quality") or {}).get("dynamic_redundancy")
    if not rule or result.confidence is None:
        return False
    if result.confidence >= float(rule.get("min_confidence", 0.0)):
        return False
    if n_answers >= int(rule.get("max_workers", job.workers_per_item)):
        return False
    raw(session).execute(sql.ASK_ANOTHER_WORKER, {"n": n_answers + 1, "t": task_id})
    return True
