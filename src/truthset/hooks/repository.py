"""The hooks' queries: tasks waiting for a pre- or post-annotation hook, their failures,
the webhook outbox and its delivery log, the scan cursor."""

from __future__ import annotations

from collections.abc import Sequence
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


# A job's hook run that failed (its hook no longer allowed, say) is queued again only after
# a cooldown that doubles with each failed run in a row, so a narrowed allow list does not
# make a failing run every few seconds.
COOLDOWN_START = 10.0
COOLDOWN_MAX = 600.0


def cooldown_left(session: Session, job_id: int, kind: str, now: float) -> float:
    """Seconds before the job's `kind` run may be queued again (0: now)."""
    rows = session.execute(
        select(Run.state, Run.finished_at)
        .where(Run.job_id == job_id, Run.kind == kind)
        .order_by(Run.id.desc())
        .limit(8)
    ).all()
    failed = 0
    for state, _finished in rows:
        if state != "failed":
            break
        failed += 1
    if not failed:
        return 0.0
    last_finished = rows[0][1] or now
    wait = min(COOLDOWN_START * 2 ** (failed - 1), COOLDOWN_MAX)
    return max(0.0, last_finished + wait - now)


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


_UNCLAIMED = "NOT EXISTS (SELECT 1 FROM hook_claims c WHERE c.task_id = t.id AND c.until > :now)"


def has_pending_task(session: Session, job_id: int, now: float) -> bool:
    """Whether a task of the job waits for its hook with no run calling it (no live
    claim)."""
    return (
        session.execute(
            text(
                "SELECT 1 FROM tasks t WHERE t.job_id = :j AND t.status = 'pending' "
                f"AND {_UNCLAIMED} LIMIT 1"
            ),
            {"j": job_id, "now": now},
        ).first()
        is not None
    )


def claim_pending_tasks(
    session: Session, job_id: int, owner: str, limit: int, now: float, until: float
) -> list[Any]:
    """(task id, the item's manifest line as JSON text) of waiting tasks, in job order,
    that no other run has claimed, now claimed by `owner` until `until`.

    The claim itself is the upsert: it sees the latest committed claims (not the
    statement's snapshot), so of two runs racing for a task only one gets it back. On
    PostgreSQL the rows another run is claiming are skipped (FOR UPDATE SKIP LOCKED)
    rather than waited for; SQLite's write transactions take turns anyway."""
    lock = " FOR UPDATE OF t SKIP LOCKED" if session.get_bind().dialect.name != "sqlite" else ""
    rows = session.execute(
        text(
            "SELECT t.id, i.data FROM tasks t JOIN items i ON i.id = t.item_id "
            f"WHERE t.job_id = :j AND t.status = 'pending' AND {_UNCLAIMED} "
            f"ORDER BY t.position, t.id LIMIT :n{lock}"
        ),
        {"j": job_id, "n": limit, "now": now},
    ).all()
    if not rows:
        return []
    return _claim(session, rows, owner, now, until)


def _claim(
    session: Session, rows: Sequence[Any], owner: str, now: float, until: float
) -> list[Any]:
    """The rows (task id first) whose tasks `owner` now claims until `until`. The claim is
    the upsert: it sees the latest committed claims (not the statement's snapshot), so of
    two runs racing for a task only one gets it back."""
    ids = ", ".join(str(int(r[0])) for r in rows)
    claimed = set(
        session.execute(
            text(
                "INSERT INTO hook_claims (task_id, owner, until) "
                f"SELECT t.id, :owner, :until FROM tasks t WHERE t.id IN ({ids}) "
                "ON CONFLICT (task_id) DO UPDATE SET owner = excluded.owner, "
                "until = excluded.until WHERE hook_claims.until <= :now RETURNING task_id"
            ),
            {"owner": owner, "until": until, "now": now},
        ).scalars()
    )
    return [r for r in rows if int(r[0]) in claimed]


def holds_claim(session: Session, task_id: int, owner: str) -> bool:
    """The task is still pending and its claim is still `owner`'s."""
    found = session.execute(
        text(
            "SELECT 1 FROM tasks t JOIN hook_claims c ON c.task_id = t.id "
            "WHERE t.id = :t AND t.status = 'pending' AND c.owner = :o"
        ),
        {"t": task_id, "o": owner},
    ).first()
    return found is not None


def drop_claims(session: Session, owner: str) -> None:
    session.execute(text("DELETE FROM hook_claims WHERE owner = :o"), {"o": owner})


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


def failures_of_job(session: Session, job_id: int, limit: int | None = None) -> list[Any]:
    """(external id, hook, reason, at) of the job's tasks a hook failed, the first `limit`."""
    return list(
        session.execute(
            text(
                "SELECT i.external_id, f.hook, f.reason, f.at FROM task_failures f "
                "JOIN tasks t ON t.id = f.task_id JOIN items i ON i.id = t.item_id "
                "WHERE t.job_id = :j ORDER BY t.position"
                + ("" if limit is None else " LIMIT :limit")
            ),
            {"j": job_id, "limit": limit},
        ).all()
    )


# -- post-annotation ----------------------------------------------------------------------


_AWAITING = (
    "t.job_id = :j AND t.status = 'full' AND t.is_gold = 0 "
    "AND t.live_leases = 0 AND t.answers >= t.target_answers "
    "AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.task_id = t.id)"
)


def tasks_awaiting_consolidation(
    session: Session, job_id: int, limit: int, *, now: float | None = None
) -> list[Any]:
    """(task id, item position, external id, item data) of tasks with all their answers
    in, no live lease and no label: they wait for the post-annotation hook (with `now`,
    only those no run has a live claim on)."""
    unclaimed = f" AND {_UNCLAIMED}" if now is not None else ""
    return list(
        session.execute(
            text(
                "SELECT t.id, i.position, i.external_id, i.data FROM tasks t "
                f"JOIN items i ON i.id = t.item_id WHERE {_AWAITING}{unclaimed} "
                "ORDER BY t.position, t.id LIMIT :n"
            ),
            {"j": job_id, "n": limit, "now": now},
        ).all()
    )


def claim_tasks_awaiting_consolidation(
    session: Session, job_id: int, owner: str, limit: int, now: float, until: float
) -> list[Any]:
    """`tasks_awaiting_consolidation`'s rows that no other run has claimed, now claimed by
    `owner` until `until` (the same upsert as `claim_pending_tasks`), so that two runs of
    one job (two processes) never send an item to the hook twice."""
    rows = tasks_awaiting_consolidation(session, job_id, limit, now=now)
    if not rows:
        return []
    return _claim(session, rows, owner, now, until)


def holds_post_claim(session: Session, task_id: int, owner: str) -> bool:
    """The task still waits for its consolidation and its claim is still `owner`'s."""
    found = session.execute(
        text(
            "SELECT 1 FROM tasks t JOIN hook_claims c ON c.task_id = t.id "
            f"WHERE t.id = :t AND c.owner = :o AND {_AWAITING.replace(':j', 't.job_id')}"
        ),
        {"t": task_id, "o": owner},
    ).first()
    return found is not None


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
