"""Job-level consolidation as a background run."""

from __future__ import annotations

from typing import Any

from truthset.jobs.service import get_job
from truthset.runs.registry import run_kind


@run_kind("consolidate", resumable=True)  # one transaction: safe to start again
def consolidate_run(ctx: Any, *, job: str, method: str | None = None) -> dict[str, Any]:
    import time

    from truthset.quality.service import quality_settings, reconsolidate_job

    cache_dir = ctx.settings.data_dir / "autolabel"
    with ctx.db.session_scope(write=False) as session:
        the_job = get_job(session, job)
        chosen = method or quality_settings(the_job).get("method", "auto")
        if chosen == "crowdlab":
            from truthset.autolabel.model_consensus import (
                apply_model_consensus,
                plan_model_consensus,
            )

            # Training the model reads a snapshot; the labels are written in one short
            # transaction (on SQLite a long write transaction would stop every submit).
            plan = plan_model_consensus(session, the_job, cache_dir=cache_dir)
    if chosen == "crowdlab":
        with ctx.db.session_scope() as session:
            return apply_model_consensus(session, get_job(session, job), plan, now=time.time())
    with ctx.db.session_scope() as session:
        return reconsolidate_job(session, get_job(session, job), method=method)
