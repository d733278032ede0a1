"""Housekeeping runs of the work engine."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from truthset.runs.registry import run_kind
from truthset.store.models import Job
from truthset.work.maintenance import sweep_job


@run_kind("sweep", resumable=True)
def sweep_run(ctx: Any, *, job: str | None = None) -> dict[str, Any]:
    """Expire old leases and close out tasks past the job's availability."""
    now = time.time()
    out: dict[str, Any] = {}
    with ctx.db.session_scope() as session:
        q = select(Job).where(Job.state.in_(("in_progress", "stopping")))
        if job:
            q = q.where(Job.name == job)
        for j in session.scalars(q):
            out[j.name] = sweep_job(session, j, now=now)
    return out
