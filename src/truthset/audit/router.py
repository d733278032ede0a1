"""The audit log, for admins."""

from __future__ import annotations

from fastapi import APIRouter, Query

from truthset.api.deps import AdminUser, ReadSession
from truthset.audit import service
from truthset.audit.schemas import AuditEventRead

router = APIRouter(tags=["audit"])


@router.get("/audit")
def list_audit_events(
    _user: AdminUser,
    session: ReadSession,
    actor: str | None = Query(None, max_length=100, description="the account that acted"),
    action: str | None = Query(
        None, max_length=100, description="an action or its beginning: 'user.', 'POST /api/jobs'"
    ),
    target: str | None = Query(None, max_length=500),
    outcome: str | None = Query(None, description="ok, refused or failed"),
    since: float | None = Query(None, ge=0, description="UNIX seconds, inclusive"),
    until: float | None = Query(None, ge=0, description="UNIX seconds, exclusive"),
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
) -> list[AuditEventRead]:
    """Events newest first; page with offset and limit."""
    events = service.list_events(
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
    return [AuditEventRead(**service.describe(e)) for e in events]
