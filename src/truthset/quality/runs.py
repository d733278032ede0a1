"""Job-level consolidation as a background run."""

from __future__ import annotations

import time
from typing import Any

from truthset.jobs.service import get_job
from truthset.quality.methods import get_method
from truthset.runs.registry import run_kind


@run_kind("consolidate", resumable=True)  # one transaction: safe to start again
def consolidate_run(ctx: Any, *, job: str, method: str | None = None) -> dict[str, Any]:
    from truthset.quality.service import quality_settings

    cache_dir = ctx.settings.data_dir / "autolabel"
    with ctx.db.session_scope(write=False) as session:
        the_job = get_job(session, job)
        chosen = get_method(method or quality_settings(the_job).get("method", "auto"))
        # The plan reads a snapshot (training a model can take minutes); the labels are
        # written in one short transaction (on SQLite a long write transaction would stop
        # every submit).
        plan = chosen.plan(session, the_job, cache_dir)
    with ctx.db.session_scope() as session:
        return chosen.apply(session, get_job(session, job), plan, time.time())
