"""Ground Truth's output folder as background runs: the `groundtruth_output` run kind
(one job's writing, `exports/output_writer.py`) and the periodic hook that enqueues it.

A job with an output path is due:
- while it runs, once `output.interval` seconds have passed since its last write (or its
  creation) and its answers or labels changed since (an intermediate manifest and the
  tasks finished meanwhile as the next iteration);
- once it has completed, stopped or failed and its final manifest was not written since
  (after its job-level consolidation, when one is queued: the final labels come from it),
  and again if a later consolidation rewrote its labels;
- after a failed write (a missing bucket, no permission: the run's error says which),
  again RETRY_AFTER seconds later, until it succeeds.
The runs never block the work engine: they read, then write files; only their outcome is
recorded in the database.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from truthset.exports import repository
from truthset.exports.output_settings import output_settings
from truthset.exports.output_writer import RUN_KIND, OutputState, last_state, write_output
from truthset.jobs.service import LIVE_STATES, get_job
from truthset.runs.periodic import Throttle
from truthset.runs.registry import run_kind
from truthset.runs.service import enqueue

RETRY_AFTER = 60.0
# An unchanged running job is looked at again after at most this long.
RECHECK_AFTER = 30.0
_ACTIVE = ("queued", "running")
_turns = Throttle()
# (database, job, job's updated_at) -> when to look at an unchanged job again.
_next_look: dict[tuple[str, int, float], float] = {}


@run_kind(RUN_KIND, resumable=True)  # files under fixed names from the last state: redo-safe
def groundtruth_output_run(ctx: Any, *, job: str) -> dict[str, Any]:
    with ctx.db.session_scope(write=False) as session:
        the_job = get_job(session, job)
        others = [
            r.id
            for r in repository.job_runs_of_kind(session, the_job.id, RUN_KIND)
            if r.state == "running" and r.id < ctx.run_id
        ]
        if others:
            # Two executors enqueued the job at once: the first one writes.
            state = last_state(session, the_job.id).as_dict()
            return {"job": job, "skipped": f"run {others[0]} is writing it", "state": state}
    return write_output(ctx.db, ctx.settings, job, progress=ctx.progress)


def due_reason(session: Session, row: Any, now: float) -> str | None:
    """Why the job's output should be written now, or None."""
    job_id, _name, job_state, settings, updated_at, created_at = row
    opts = output_settings(settings or {})
    if opts is None:
        return None
    key = (str(session.get_bind().engine.url), int(job_id), updated_at)
    if _next_look.get(key, 0.0) > now:
        return None
    if len(_next_look) > 10_000:
        _next_look.clear()  # keys of jobs changed since; cheap to learn again
    newest = repository.job_runs_of_kind(session, job_id, RUN_KIND, limit=1)
    latest = newest[0] if newest else None
    if latest is not None and latest.state in _ACTIVE:
        return None
    if (
        latest is not None
        and latest.state == "failed"
        and now - (latest.finished_at or latest.created_at) < RETRY_AFTER
    ):
        return None
    done = repository.last_succeeded_run(session, job_id, RUN_KIND)
    state = OutputState.of_run(done)
    if job_state not in LIVE_STATES:
        consolidations = repository.job_runs_of_kind(session, job_id, "consolidate", limit=1)
        if consolidations and consolidations[0].state in _ACTIVE:
            return None  # the final labels are still being made
        if state.final_for is None or state.final_for < updated_at:
            return "final"
        last_consolidation = consolidations[0] if consolidations else None
        if (
            done is not None
            and last_consolidation is not None
            and last_consolidation.state == "succeeded"
            and (last_consolidation.finished_at or 0.0) > (done.started_at or 0.0)
        ):
            return "relabeled"
        # Written and settled: looked at again only now and then (a later consolidation).
        _next_look[key] = now + RECHECK_AFTER
        return None
    since = done.started_at if done is not None and done.started_at else created_at
    if now - since < float(opts["interval"]):
        return None
    fingerprint = repository.output_fingerprint(session, job_id)
    nothing_yet = fingerprint[0] == 0 and fingerprint[1] == 0 and fingerprint[3] == 0
    if nothing_yet or fingerprint == state.fingerprint:
        _next_look[key] = now + min(float(opts["interval"]), RECHECK_AFTER)
        return None
    return "interval"


def schedule_due(session: Session, *, now: float | None = None, every: float = 2.0) -> list[str]:
    """Enqueue the output writes that are due (called by the executors between runs)."""
    now = time.time() if now is None else now
    if not _turns.due(session, now, every):
        return []
    names = []
    for row in repository.jobs_for_output(session):
        if due_reason(session, row, now) is not None:
            enqueue(session, RUN_KIND, {"job": row[1]}, job_id=row[0], now=now)
            names.append(row[1])
    return names
