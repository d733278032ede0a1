"""Every query of the audit log, and the one workforce setting the log's addresses need."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from truthset.store.models import AuditEvent, WorkforceSetting


def events(
    session: Session,
    *,
    actor: str | None,
    action: str | None,
    target: str | None,
    outcome: str | None,
    since: float | None,
    until: float | None,
    offset: int,
    limit: int,
) -> list[AuditEvent]:
    """Newest first. `action` matches as a prefix ("oidc." finds every OIDC action)."""
    query = select(AuditEvent)
    if actor is not None:
        query = query.where(AuditEvent.actor_name == actor)
    if action is not None:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    if target is not None:
        query = query.where(AuditEvent.target == target)
    if outcome is not None:
        query = query.where(AuditEvent.outcome == outcome)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    return list(session.scalars(query.offset(offset).limit(limit)))


def delete_events_before(session: Session, before: float) -> int:
    result = session.execute(delete(AuditEvent).where(AuditEvent.at < before))
    return int(getattr(result, "rowcount", 0) or 0)


def setting(session: Session, name: str) -> Any:
    row = session.get(WorkforceSetting, name)
    return None if row is None else row.value
