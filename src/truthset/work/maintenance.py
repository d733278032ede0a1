"""Periodic upkeep of running jobs: expired leases, task availability, job state."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from truthset.jobs import service as jobs_service
from truthset.store.models import Job
from truthset.work.consolidation import consolidate_task
from truthset.work.service import expire_leases


def sweep_job(session: Session, job: Job, *, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    expired = expire_leases(session, job.id, now)
    closed = 0
    if now > job.created_at + job.task_availability:
        # As Ground Truth: when a task's availability ends, items with some answers are
        # consolidated with what they have; items nobody answered are marked failed.
        rows = session.execute(
            text(
                "SELECT id, answers, started FROM tasks WHERE job_id = :j AND is_gold = 0 "
                "AND status IN ('open', 'full')"
            ),
            {"j": job.id},
        ).all()
        for task_id, answers, started in rows:
            session.execute(
                text(
                    "UPDATE assignments SET status = 'expired', ended_at = :now "
                    "WHERE task_id = :t AND status = 'leased'"
                ),
                {"now": now, "t": task_id},
            )
            session.execute(text("UPDATE tasks SET live_leases = 0 WHERE id = :t"), {"t": task_id})
            if answers:
                consolidate_task(session, job, task_id, now=now)
            else:
                session.execute(
                    text(
                        "UPDATE tasks SET status = 'failed', live_leases = 0, updated_at = :now "
                        "WHERE id = :t"
                    ),
                    {"now": now, "t": task_id},
                )
                if started:
                    session.execute(
                        text("UPDATE jobs SET in_flight = in_flight - 1 WHERE id = :j"),
                        {"j": job.id},
                    )
            closed += 1
    state = jobs_service.refresh_state(session, job.id, now=now)
    return {"expired_leases": expired, "closed_tasks": closed, "state": state}
