"""Webhooks: Ground Truth's events sent to the URLs a job names, never inside a request.

A periodic hook (`schedule_due`) looks at the jobs with `settings["webhooks"]` and writes
events into the outbox (`webhook_events`): EventBridge's "SageMaker Ground Truth Labeling
Job State Change" when a job has become Completed, Failed or Stopped, and one event per
labeled item, its output manifest line (as the streaming output topic publishes it),
found by a cursor over the job's labels. A relabeled item is sent again. The `webhooks`
run delivers what is due: a signed POST per event, its outcome logged
(`webhook_deliveries`); a failure is tried again later with doubling waits, up to the
webhook's `tries`. Labels are read SETTLE seconds after they were made, so a transaction
that committed late is not passed over by the cursor.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from truthset.errors import BadInput
from truthset.exports.groundtruth import label_metadata
from truthset.hooks import repository
from truthset.hooks.calling import post_json
from truthset.hooks.events import GT_STATUS, job_state_event
from truthset.hooks.settings import (
    DEFAULT_WEBHOOK_TRIES,
    WEBHOOK_EVENTS,
    webhooks_of,
    workspace_settings,
)
from truthset.hooks.targets import DEFAULT_TIMEOUT, check_url
from truthset.jobs.service import counters
from truthset.runs.periodic import Throttle
from truthset.runs.registry import run_kind
from truthset.runs.service import enqueue
from truthset.store.models import HookCursor, Job, Run, WebhookDelivery, WebhookEvent
from truthset.store.raw import stored_json
from truthset.tasktypes import get_task_type

RUN = "webhooks"
SETTLE = 2.0
BACKOFF = 2.0  # seconds before the second try, doubled before each next one
SCAN_LIMIT = 1000
PARALLEL = 8
_turns = Throttle()


def _events_for(job: Job, kind: str) -> list[tuple[int, dict[str, Any]]]:
    assert kind in WEBHOOK_EVENTS
    return [
        (n, hook)
        for n, hook in enumerate(webhooks_of(job.settings or {}))
        if kind in hook.get("events", WEBHOOK_EVENTS)
    ]


def _add(session: Session, job: Job, kind: str, body: dict[str, Any], now: float) -> int:
    text = orjson.dumps(body).decode()
    hooks = _events_for(job, kind)
    for n, hook in hooks:
        session.add(
            WebhookEvent(
                job_id=job.id,
                hook_index=n,
                url=str(hook.get("url")),
                event_type=kind,
                body=text,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return len(hooks)


def item_line(job: Job, row: Any) -> dict[str, Any]:
    """The output manifest line of a labeled item: the input line, the label attribute and
    its metadata."""
    _task_id, created, value, meta, human, data, _external = row
    line: dict[str, Any] = orjson.loads(data)
    output_type = get_task_type(job.task_type).output_type
    line[job.label_attribute] = stored_json(value)
    line[f"{job.label_attribute}-metadata"] = label_metadata(
        job, output_type, stored_json(meta) or {}, bool(human), float(created)
    )
    return line


def scan_job(session: Session, job: Job, now: float) -> int:
    """Write the job's new events into the outbox; returns how many."""
    cursor = repository.cursor_of(session, job.id)
    if cursor is None:
        cursor = HookCursor(job_id=job.id, labels_at=0.0, labels_task=0, job_state=None)
        session.add(cursor)
    added = 0
    if _events_for(job, "item_labeled"):
        rows = repository.labels_after(
            session, job.id, cursor.labels_at, cursor.labels_task, SCAN_LIMIT
        )
        for row in rows:
            if row[1] > now - SETTLE:
                break
            added += _add(session, job, "item_labeled", item_line(job, row), now)
            cursor.labels_at, cursor.labels_task = float(row[1]), int(row[0])
    if job.state != cursor.job_state:
        if job.state in GT_STATUS:
            event = job_state_event(job, counters(session, job.id), now)
            added += _add(session, job, "job_state", event, now)
        cursor.job_state = job.state
    session.flush()
    return added


def _webhooks_run_active(session: Session) -> bool:
    found = session.scalar(
        select(Run.id).where(Run.kind == RUN, Run.state.in_(("queued", "running"))).limit(1)
    )
    return found is not None


def schedule_due(session: Session, *, now: float | None = None, every: float = 2.0) -> int:
    """Scan the jobs with webhooks and queue the delivery run when events are due."""
    now = time.time() if now is None else now
    if not _turns.due(session, now, every):
        return 0
    added = 0
    for job in repository.jobs_with_setting(session, "webhooks", live_only=False):
        added += scan_job(session, job, now)
    if repository.has_due_event(session, now) and not _webhooks_run_active(session):
        enqueue(session, RUN, {}, now=now)
    return added


def _hook_of(job: Job | None, event: WebhookEvent) -> dict[str, Any]:
    hooks = webhooks_of(job.settings or {}) if job is not None else []
    if event.hook_index < len(hooks) and hooks[event.hook_index].get("url") == event.url:
        return hooks[event.hook_index]
    return {"url": event.url}  # the job's webhooks changed since: sent unsigned-by-secret


def _send(
    event: WebhookEvent, secret: str, allowed: str | None
) -> tuple[int | None, str | None, float]:
    """(HTTP status, error, seconds) of one attempt."""
    if allowed is not None:
        return None, allowed, 0.0
    started = time.perf_counter()
    headers = {"X-Truthset-Event": event.event_type, "X-Truthset-Delivery": str(event.id)}
    try:
        post_json(event.url, event.body.encode(), secret, DEFAULT_TIMEOUT, headers)
        return 200, None, time.perf_counter() - started
    except Exception as exc:  # OSError or a 4xx: the log says which
        text = str(exc)
        code = int(text.split()[1]) if text.startswith("HTTP ") else None
        return code, text, time.perf_counter() - started


@run_kind(RUN, resumable=True)  # an event is marked only after its attempt: redo-safe
def webhooks_run(ctx: Any) -> dict[str, Any]:
    delivered = failed = retried = 0
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        while True:
            now = time.time()
            with ctx.db.session_scope(write=False) as session:
                events = repository.due_events(session, now, 100)
                plans = []
                for event in events:
                    job = session.get(Job, event.job_id)
                    hook = _hook_of(job, event)
                    try:
                        check_url(event.url, workspace_settings(session, "webhook"), "webhook url")
                        refusal = None
                    except BadInput as exc:
                        refusal = str(exc.detail)
                    tries = hook.get("tries", DEFAULT_WEBHOOK_TRIES)
                    plans.append((event, str(hook.get("secret", "")), refusal, int(tries)))
                session.expunge_all()
            if not plans:
                break
            outcomes = list(pool.map(lambda p: _send(p[0], p[1], p[2]), plans))
            done_at = time.time()
            with ctx.db.session_scope() as session:
                for (event, _secret, refusal, tries), (code, error, seconds) in zip(
                    plans, outcomes, strict=True
                ):
                    row = session.get(WebhookEvent, event.id)
                    if row is None or row.state != "pending":
                        continue
                    row.attempts += 1
                    session.add(
                        WebhookDelivery(
                            event_id=row.id,
                            job_id=row.job_id,
                            attempt=row.attempts,
                            at=done_at,
                            status_code=code,
                            error=error,
                            duration=seconds,
                        )
                    )
                    row.last_error = error
                    if error is None:
                        row.state, row.delivered_at = "delivered", done_at
                        delivered += 1
                    elif refusal is not None or row.attempts >= tries:
                        row.state = "failed"
                        failed += 1
                    else:
                        row.next_attempt_at = done_at + BACKOFF * 2 ** (row.attempts - 1)
                        retried += 1
            ctx.progress(delivered + failed, message=f"{len(plans)} events sent")
    return {"delivered": delivered, "failed": failed, "to_retry": retried}


def delivery_as_dict(delivery: WebhookDelivery, event: WebhookEvent) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_id": event.id,
        "event_type": event.event_type,
        "url": event.url,
        "attempt": delivery.attempt,
        "at": delivery.at,
        "status_code": delivery.status_code,
        "error": delivery.error,
        "duration": round(delivery.duration, 4),
        "event_state": event.state,
        "next_attempt_at": event.next_attempt_at if event.state == "pending" else None,
        "body": orjson.loads(event.body),
    }
