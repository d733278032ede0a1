"""Job-level consolidation as a background run."""

from __future__ import annotations

from typing import Any

from truthset.jobs.service import get_job
from truthset.runs.registry import run_kind


@run_kind("consolidate", resumable=True)  # one transaction: safe to start again
def consolidate_run(ctx: Any, *, job: str, method: str | None = None) -> dict[str, Any]:
    from truthset.quality.service import reconsolidate_job  # numpy and scipy, when needed

    with ctx.db.session_scope() as session:
        return reconsolidate_job(session, get_job(session, job), method=method)
