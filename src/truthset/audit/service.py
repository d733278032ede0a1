"""The audit log's rules: what an event holds, and reading it back.

`record` adds an event in the caller's session, so an action and its event commit or roll
back together; routes of other domains are recorded by `truthset.audit.middleware` after
they answer, in a transaction of their own.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from truthset.audit import repository
from truthset.errors import BadInput
from truthset.store.models import AuditEvent, User

OUTCOMES = ("ok", "refused", "failed")


def outcome_of(status: int) -> str:
    """An HTTP status as an outcome: 4xx the caller was refused, 5xx the server failed."""
    if status >= 500:
        return "failed"
    return "refused" if status >= 400 else "ok"


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    target: str | None = None,
    outcome: str = "ok",
    status: int | None = None,
    address: str | None = None,
    detail: dict[str, Any] | None = None,
    actor_name: str | None = None,
    now: float | None = None,
) -> AuditEvent:
    """Add one event (flushed with the caller's other writes). `actor_name` names who was
    acting when there is no account (a sign-in with an unknown name)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome {outcome!r} is not one of {OUTCOMES}")
    event = AuditEvent(
        at=time.time() if now is None else now,
        actor_id=actor.id if actor is not None else None,
        actor_name=(actor.name if actor is not None else actor_name or None),
        actor_role=actor.role if actor is not None else None,
        action=action[:100],
        target=None if target is None else target[:500],
        outcome=outcome,
        status=status,
        address=None if address is None else address[:64],
        detail=detail,
    )
    session.add(event)
    session.flush()
    return event


def list_events(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    outcome: str | None = None,
    since: float | None = None,
    until: float | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[AuditEvent]:
    """Events newest first, filtered by what is given; `action` is a prefix."""
    if outcome is not None and outcome not in OUTCOMES:
        raise BadInput(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    if since is not None and until is not None and until <= since:
        raise BadInput(f"until ({until}) must be after since ({since})")
    return repository.events(
        session,
        actor=actor,
        action=action,
        target=target,
        outcome=outcome,
        since=since,
        until=until,
        offset=offset,
        limit=limit,
    )


def prune(session: Session, *, before: float, now: float | None = None) -> int:
    """Delete the events older than `before` (the log keeps everything until an operator
    prunes it); returns how many went. The caller records the pruning."""
    now = time.time() if now is None else now
    if before > now:
        raise BadInput("before must not be in the future: that would delete today's events")
    return repository.delete_events_before(session, before)


def describe(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at,
        "actor": event.actor_name,
        "actor_role": event.actor_role,
        "action": event.action,
        "target": event.target,
        "outcome": event.outcome,
        "status": event.status,
        "address": event.address,
        "detail": event.detail,
    }
