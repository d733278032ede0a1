"""The hooks' queries: tasks waiting for a pre- or post-annotation hook, their failures,
the webhook outbox and its delivery log, the scan cursor."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from truthset.store.models import HookCursor, Job, Run, WebhookDelivery, WebhookEvent

_ACTIVE = ("queued", "running")


def jobs_with_setting(session: Session, key: str, *, live_only: bool = True) -> list[Job]:
    """Jobs whose settings hold `key` (jobs are few; their settings are JSON on both stores,
    so the key is looked for in Python)."""
    query = select(Job)
    if live_only:
        query = query.where(Job.state.in_(("initializing", "in_progress", "stopping")))
    return [job for job in session.scalars(query) if (job.settings or {}).get(key)]


def has_active_run(session: Session, job_id: int, kind: str) -> bool:
    return (
        session.scalar(
            select(Run.id)
            .where(Run.job_id == job_id, Run.kind == kind, Run.state.in_(_ACTIVE))
            .limit(1)
        )
        is not None
    )


# -- pre-annotation -----------------------------------------------------------------------


def hold_new_tasks(session: Session, job_id: int, now: float) -> int:
    """The job's new, untouched tasks without a task input wait (pending) for the hook."""
    result = session.execute(
        text(
            "UPDATE tasks SET status = 'pending', updated_at = :now WHERE job_id = :j "
            "AND status = 'open' AND started = 0 AND answers = 0 AND live_leases = 0 "
            "AND NOT EXISTS (SELECT 1 FROM task_inputs ti WHERE ti.task_id = tasks.id)"
        ),
        {"j": job_id, "now": now},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def has_pending_task(session: Session, job_id: int) -> bool:
    return (
        session.execute(
            text("SELECT 1 FROM tasks WHERE job_id = :j AND status = 'pending' LIMIT 1"),
            {"j": job_id},
        ).first()
        is not None
    )


def pending_tasks(session: Session, job_id: int, limit: int) -> list[Any]:
    """(task id, the item's manifest line as JSON text) of waiting tasks, in job order."""
    return list(
        session.execute(
            text(
                "SELECT t.id, i.data FROM tasks t JOIN items i ON i.id = t.item_id "
                "WHERE t.job_id = :j AND t.status = 'pending' ORDER BY t.position, t.id "
                "LIMIT :n"
            ),
            {"j": job_id, "n": limit},
        ).all()
    )


def release_task(session: Session, task_id: int, now: float) -> bool:
    """A pending task becomes open to workers. False when it was no longer pending."""
    result = session.execute(
        text(
            "UPDATE tasks SET status = 'open', updated_at = :now "
            "WHERE id = :t AND status = 'pending'"
        ),
        {"t": task_id, "now": now},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def is_pending(session: Session, task_id: int) -> bool:
    status = session.execute(
        text("SELECT status FROM tasks WHERE id = :t"), {"t": task_id}
    ).scalar()
    return status == "pending"


# -- failures (both hooks) ----------------------------------------------------------------


def fail_task(session: Session, task_id: int, hook: str, reason: str, now: float) -> None:
    """The task is failed with the reason; the job goes on."""
    session.execute(
        text("UPDATE tasks SET status = 'failed', updated_at = :now WHERE id = :t"),
        {"t": task_id, "now": now},
    )
    session.execute(text("DELETE FROM task_failures WHERE task_id = :t"), {"t": task_id})
    session.execute(
        text("INSERT INTO task_failures (task_id, hook, reason, at) VALUES (:t, :h, :r, :now)"),
        {"t": task_id, "h": hook, "r": reason, "now": now},
    )


def failures_of_job(session: Session, job_id: int) -> list[Any]:
    """(external id, hook, reason, at) of the job's tasks a hook failed."""
    return list(
        session.execute(
            text(
                "SELECT i.external_id, f.hook, f.reason, f.at FROM task_failures f "
                "JOIN tasks t ON t.id = f.task_id JOIN items i ON i.id = t.item_id "
                "WHERE t.job_id = :j ORDER BY t.position"
            ),
            {"j": job_id},
        ).all()
    )


# -- post-annotation ----------------------------------------------------------------------


def tasks_awaiting_consolidation(session: Session, job_id: int, limit: int) -> list[Any]:
    """(task id, item position, external id, item data) of tasks with all their answers
    in, no live lease and no label: they wait for the post-annotation hook."""
    return list(
        session.execute(
            text(
                "SELECT t.id, i.position, i.external_id, i.data FROM tasks t "
                "JOIN items i ON i.id = t.item_id "
                "WHERE t.job_id = :j AND t.status = 'full' AND t.is_gold = 0 "
                "AND t.live_leases = 0 AND t.answers >= t.target_answers "
                "AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.task_id = t.id) "
                "ORDER BY t.position, t.id LIMIT :n"
            ),
            {"j": job_id, "n": limit},
        ).all()
    )


def answers_of_tasks(session: Session, task_ids: list[int]) -> list[Any]:
    """(task id, user id, user name, user created_at, imported_as, the answer content as
    stored) of the tasks' answers that count, in answer order."""
    if not task_ids:
        return []
    marks = ", ".join(str(int(t)) for t in task_ids)
    return list(
        session.execute(
            text(
                "SELECT a.task_id, u.id, u.name, u.created_at, u.imported_as, a.content "
                "FROM answers a JOIN users u ON u.id = a.worker_id "
                f"WHERE a.task_id IN ({marks}) AND a.excluded = :x ORDER BY a.task_id, a.id"
            ),
            {"x": False},
        ).all()
    )


# -- webhooks -----------------------------------------------------------------------------


def cursor_of(session: Session, job_id: int) -> HookCursor | None:
    return session.get(HookCursor, job_id)


def labels_after(session: Session, job_id: int, at: float, task_id: int, limit: int) -> list[Any]:
    """(task id, created_at, value, meta, human, item data, external id) of the job's labels
    written after the cursor, oldest first."""
    return list(
        session.execute(
            text(
                "SELECT l.task_id, l.created_at, l.value, l.meta, l.human, i.data, i.external_id "
                "FROM labels l JOIN tasks t ON t.id = l.task_id "
                "JOIN items i ON i.id = t.item_id WHERE l.job_id = :j "
                "AND (l.created_at > :at OR (l.created_at = :at AND l.task_id > :t)) "
                "ORDER BY l.created_at, l.task_id LIMIT :n"
            ),
            {"j": job_id, "at": at, "t": task_id, "n": limit},
        ).all()
    )


def due_events(session: Session, now: float, limit: int) -> list[WebhookEvent]:
    return list(
        session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.state == "pending", WebhookEvent.next_attempt_at <= now)
            .order_by(WebhookEvent.next_attempt_at, WebhookEvent.id)
            .limit(limit)
        )
    )


def has_due_event(session: Session, now: float) -> bool:
    return bool(due_events(session, now, 1))


def deliveries_of_job(
    session: Session, job_id: int, *, limit: int, before: int | None = None
) -> list[tuple[WebhookDelivery, WebhookEvent]]:
    query = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.job_id == job_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    return [(d, e) for d, e in session.execute(query).all()]
