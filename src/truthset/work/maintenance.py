"""Periodic upkeep of running jobs: expired leases, task availability, job state."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from truthset.jobs import repository as jobs_repository
from truthset.jobs import service as jobs_service
from truthset.store.models import Job
from truthset.work import repository
from truthset.work.consolidation import consolidate_task
from truthset.work.leases import expire_leases


def sweep_job(session: Session, job: Job, *, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    expired = expire_leases(session, job.id, now)
    closed = 0
    if now > job.created_at + job.task_availability:
        # As Ground Truth: when a task's availability ends, items with some answers are
        # consolidated with what they have; items nobody answered are marked failed.
        hooked = bool(job.settings.get("post_annotation"))
        for task_id, answers, started, done in repository.unfinished_tasks(session, job.id):
            if hooked and done:
                continue  # it waits for the post-annotation hook, its slot given back
            repository.end_task_leases(session, task_id, now)
            if answers:
                if hooked:
                    repository.close_with_its_answers(session, task_id)
                consolidate_task(session, job, task_id, now=now)
            else:
                repository.fail_unanswered_task(session, task_id, now)
                if started:
                    jobs_repository.leave_window(session, job.id)
            closed += 1
    state = jobs_service.refresh_state(session, job.id, now=now)
    return {"expired_leases": expired, "closed_tasks": closed, "state": state}
