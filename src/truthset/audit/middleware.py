"""The request side of the audit log (ASGI, outermost).

Every HTTP request gets its client address in `scope["state"]["client_address"]` (the
allow-lists and the routes read it there). A request that changes something (POST, PUT,
PATCH, DELETE under /api/, and the SageMaker API's calls) made by an admin or a requester
is recorded in the transaction
that makes the change (`truthset.audit.transactions`: action "METHOD /api/route/{template}",
target the path); routes that record a more precise event of their own
(`record_request`, the workforce's) set `audited` and are not recorded twice. What did
not commit — a refused or failed request, and any 403 to anyone — is recorded here once
it has been answered, in a transaction of its own, with the status.

The actor is the one `truthset.api.deps.current_user` found (`scope["state"]["user"]`).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from truthset.api.errors import database_unavailable
from truthset.audit import addresses, service, transactions
from truthset.audit.transactions import (
    ADDRESS,
    AUDIT_COMMITTED,
    AUDITED,
    READ_ONLY,
    STAFF,
    USER,
)
from truthset.store.models import User

log = logging.getLogger(__name__)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
__all__ = ["ADDRESS", "USER", "AuditTrail", "record_request"]


def record_request(
    session: Any,
    request: Request,
    *,
    actor: User | None,
    action: str,
    target: str | None = None,
    outcome: str = "ok",
    status: int | None = None,
    detail: dict[str, Any] | None = None,
    actor_name: str | None = None,
    committed_anyway: bool = False,
) -> None:
    """Record a route's action in its own session, with the request's address.
    `committed_anyway`: the session commits even when the route then fails (sign-ins)."""
    state = request.scope.setdefault("state", {})
    service.record(
        session,
        actor=actor,
        action=action,
        target=target,
        outcome=outcome,
        status=status,
        address=state.get(ADDRESS),
        detail=detail,
        actor_name=actor_name,
    )
    state[AUDITED] = True
    if committed_anyway:
        state[AUDIT_COMMITTED] = True


class AuditTrail:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        db = scope["app"].state.workspace.db
        state = scope.setdefault("state", {})
        try:
            state[ADDRESS] = await addresses.request_address(db, scope)
        except Exception as exc:
            # Outermost: an outage here would pass every error handler and be a 500.
            unavailable = database_unavailable(exc)
            if unavailable is None:
                raise
            body = {"error": unavailable.kind, "detail": unavailable.detail}
            await JSONResponse(body, status_code=unavailable.status_code)(scope, receive, send)
            return
        path = scope["path"]
        if scope["method"] not in _WRITES or not (path.startswith("/api/") or path == "/"):
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            with transactions.request_context(scope):
                await self.app(scope, receive, send_status)
        finally:
            await self._record(db, scope, status)

    async def _record(self, db: Any, scope: Scope, status: int) -> None:
        state = scope["state"]
        user = state.get(USER)
        if not isinstance(user, User) or (user.role not in STAFF and status != 403):
            return
        if state.get(AUDITED) and (status < 400 or state.get(AUDIT_COMMITTED)):
            return
        if state.get(READ_ONLY) and status != 403:
            return
        action, target = transactions.action_of(scope)
        try:
            await run_in_threadpool(_write, db, user, action, target, status, state.get(ADDRESS))
        except Exception:  # the answer has gone: a lost event must not turn it into an error
            log.exception(
                "could not record the audit event of %s %s", scope["method"], scope["path"]
            )


def _write(db: Any, user: User, action: str, target: str, status: int, address: str | None) -> None:
    with db.session_scope() as session:
        service.record(
            session,
            actor=user,
            action=action,
            target=target,
            outcome=service.outcome_of(status),
            status=status,
            address=address,
        )
