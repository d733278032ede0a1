"""The pre-annotation hook as a background run: each waiting (pending) task's manifest
line goes to the hook, ahead of demand, and its answer decides the task:

- `{"taskInput": ..., "isHumanAnnotationRequired": true}` (or no flag): the task input is
  saved and the task opens to workers;
- `isHumanAnnotationRequired: false`: the item needs no people and is finished (a label
  `{}` made by `pre_annotation`, as Ground Truth skips the object);
- a hook that fails every try, or answers in another shape: the task fails with the
  reason (Ground Truth's FailedNonRetryableError for that item), the job goes on.

Calls run a few at a time outside any transaction; each batch's results are written in
one short transaction. The run is queued when tasks are added (`settings.hold_new_tasks`)
and by the periodic hook below for tasks still waiting (an executor restarted mid-run).
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.hooks import repository
from truthset.hooks.calling import BACKOFF, HookError, call_target
from truthset.hooks.events import pre_annotation_request
from truthset.hooks.settings import PRE_RUN, hook_target
from truthset.jobs.service import get_job, refresh_state
from truthset.labels.writer import write_label
from truthset.runs.periodic import Throttle
from truthset.runs.registry import run_kind
from truthset.runs.service import enqueue
from truthset.tasktypes import Consolidation
from truthset.templates.repository import save_task_input

# Tasks claimed and sent per round: small enough that a claim left by a run that died
# lapses in minutes, large enough that the calls keep PARALLEL threads busy.
BATCH = 64
PARALLEL = 8
CLAIM_MARGIN = 60.0
_turns = Throttle()


class BadResponse(Exception):
    pass


def parse_response(response: Any) -> tuple[Any, bool]:
    """(taskInput, isHumanAnnotationRequired) of a hook's answer, or BadResponse."""
    if not isinstance(response, dict):
        raise BadResponse(
            'the hook must answer {"taskInput": ..., "isHumanAnnotationRequired": ...},'
            f" not {orjson.dumps(response).decode()[:200]}"
        )
    if "taskInput" not in response:
        raise BadResponse("the hook's answer has no taskInput")
    required = response.get("isHumanAnnotationRequired", True)
    # Lambdas written for Ground Truth often answer the flag as the text "true"/"false".
    if isinstance(required, str) and required.lower() in ("true", "false"):
        required = required.lower() == "true"
    if not isinstance(required, bool):
        raise BadResponse(f"isHumanAnnotationRequired must be true or false, got {required!r}")
    return response["taskInput"], required


def _call(target: Any, event: dict[str, Any]) -> tuple[Any, bool] | str:
    try:
        return parse_response(call_target(target, event))
    except (HookError, BadResponse) as exc:
        return f"pre-annotation hook failed: {exc}"


def claim_lifetime(target: Any, n: int) -> float:
    """How long a run may take over `n` calls, PARALLEL at a time, each tried `tries`
    times with the backoff between; a claim that outlives it belongs to a run that died."""
    per_call = target.tries * target.timeout + BACKOFF * (2 ** max(target.tries - 1, 0) - 1)
    return -(-n // PARALLEL) * per_call + CLAIM_MARGIN


@run_kind(PRE_RUN, resumable=True)  # only unclaimed pending tasks are looked at: redo-safe
def pre_annotation_run(ctx: Any, *, job: str) -> dict[str, Any]:
    opened = finished = failed = 0
    # Claims are this run's alone: another run of the job (another process) skips them.
    owner = f"run {ctx.run_id} {uuid.uuid4().hex[:12]}"
    try:
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            while True:
                now = time.time()
                with ctx.db.session_scope() as session:
                    the_job = get_job(session, job)
                    if the_job.state not in ("initializing", "in_progress"):
                        break  # stopped or finished: its waiting items stay as they are
                    target = hook_target(session, the_job, "pre_annotation")
                    if target is None:
                        break
                    until = now + claim_lifetime(target, BATCH)
                    rows = repository.claim_pending_tasks(
                        session, the_job.id, owner, BATCH, now, until
                    )
                    events = [
                        pre_annotation_request(the_job, orjson.loads(data)) for _, data in rows
                    ]
                if not rows:
                    break
                results = list(pool.map(_call, [target] * len(events), events))
                now = time.time()
                with ctx.db.session_scope() as session:
                    for (task_id, _data), result in zip(rows, results, strict=True):
                        if not repository.holds_claim(session, task_id, owner):
                            continue  # decided meanwhile, or our claim lapsed and was taken
                        if isinstance(result, str):
                            save_task_input(session, task_id, {}, False, error=result)
                            repository.fail_task(session, task_id, "pre_annotation", result, now)
                            failed += 1
                            continue
                        task_input, required = result
                        save_task_input(session, task_id, task_input, required)
                        if required:
                            repository.release_task(session, task_id, now)
                            opened += 1
                        else:
                            label = Consolidation(
                                value={}, meta={}, confidence=None, method="pre_annotation"
                            )
                            write_label(
                                session,
                                the_job.id,
                                task_id,
                                label,
                                human=False,
                                now=now,
                                complete=True,
                            )
                            finished += 1
                    repository.drop_claims(session, owner)
                    refresh_state(session, the_job.id, now=now)
                ctx.progress(
                    opened + finished + failed, message=f"{len(rows)} items sent to the hook"
                )
    finally:
        with ctx.db.session_scope() as session:
            repository.drop_claims(session, owner)
    return {"job": job, "opened": opened, "finished_without_people": finished, "failed": failed}


def schedule_due(session: Session, *, now: float | None = None, every: float = 5.0) -> list[str]:
    """Queue the run for jobs with tasks still waiting for their hook (unclaimed) and no
    run of it; after a failed run, only once its cooldown is over."""
    now = time.time() if now is None else now
    if not _turns.due(session, now, every):
        return []
    names = []
    for job in repository.jobs_with_setting(session, "pre_annotation"):
        if job.state == "stopping" or repository.has_active_run(session, job.id, PRE_RUN):
            continue
        if repository.cooldown_left(session, job.id, PRE_RUN, now) > 0:
            continue
        if repository.has_pending_task(session, job.id, now):
            enqueue(session, PRE_RUN, {"job": job.name}, job_id=job.id, now=now)
            names.append(job.name)
    return names
