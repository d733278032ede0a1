"""The request side of the audit log (ASGI, outermost).

Every HTTP request gets its client address in `scope["state"]["client_address"]` (the
allow-lists and the routes read it there). A request that changes something (POST, PUT,
PATCH, DELETE under /api/) made by an admin or a requester, or refused to anyone with 403,
is recorded once it has been answered: action "METHOD /api/route/{template}", target the
path, the outcome from the status. Routes that record their own event inside their
transaction (`record_request`) set `audited` and are not recorded twice; when such a route
fails its transaction rolls back with its event, and the failure is recorded here.

The actor is the one `truthset.api.deps.current_user` found (`scope["state"]["user"]`).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from truthset.audit import addresses, service
from truthset.store.models import User

log = logging.getLogger(__name__)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STAFF = frozenset({"admin", "requester"})
ADDRESS = "client_address"
USER = "user"
AUDITED = "audited"
AUDIT_COMMITTED = "audit_committed"


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
        state[ADDRESS] = await addresses.request_address(db, scope)
        if scope["method"] not in _WRITES or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            await self._record(db, scope, status)

    async def _record(self, db: Any, scope: Scope, status: int) -> None:
        state = scope["state"]
        user = state.get(USER)
        if not isinstance(user, User) or (user.role not in _STAFF and status != 403):
            return
        if state.get(AUDITED) and (status < 400 or state.get(AUDIT_COMMITTED)):
            return
        template = _template(scope)
        try:
            await run_in_threadpool(
                _write,
                db,
                user,
                f"{scope['method']} {template}",
                scope["path"],
                status,
                state.get(ADDRESS),
            )
        except Exception:  # the answer has gone: a lost event must not turn it into an error
            log.exception(
                "could not record the audit event of %s %s", scope["method"], scope["path"]
            )


def _template(scope: Scope) -> str:
    """The route's template ("/api/jobs/{name}/stop") from the path and the parameters
    the router matched in it, in order (independent of how routers were included)."""
    segments = str(scope["path"]).split("/")
    at = 0
    for name, value in (scope.get("path_params") or {}).items():
        for n in range(at, len(segments)):
            if segments[n] == str(value):
                segments[n], at = "{" + name + "}", n + 1
                break
    return "/".join(segments)


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
