"""Audit events written inside the action's own transaction, for every domain's routes.

While `AuditTrail` serves a write request (POST, PUT, PATCH, DELETE under /api/, and the
SageMaker API's POST /) it opens
a request context (a context variable, which the route's worker thread inherits). A
session that wrote something in that context — through the ORM, `session.execute` of a
DML statement, or `store.raw`'s cursor — gets the request's event added just before it
commits: the action and its event commit together or not at all. Only admins' and
requesters' actions are recorded this way, once per request; a route that recorded its
own event (`middleware.record_request`) is left alone. Requests that fail write nothing to
keep, and are recorded by `AuditTrail` once answered.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from truthset.audit import service
from truthset.store.models import User
from truthset.store.raw import is_write

STAFF = frozenset({"admin", "requester"})
ADDRESS = "client_address"
USER = "user"
AUDITED = "audited"
AUDIT_COMMITTED = "audit_committed"
ACTION = "audit_action"
TARGET = "audit_target"
READ_ONLY = "audit_read_only"
_WROTE = "audit_wrote"

_request: ContextVar[MutableMapping[str, Any] | None] = ContextVar(
    "truthset_audit_request", default=None
)


@contextmanager
def request_context(scope: MutableMapping[str, Any]) -> Iterator[None]:
    token = _request.set(scope)
    try:
        yield
    finally:
        _request.reset(token)


def set_actor(user: User, *, action: str, target: str | None, writes: bool) -> None:
    """Who is acting, for a handler outside FastAPI's dependencies (the SageMaker API
    authenticates each call itself): its action's name and target, and whether it may
    change anything (a read is recorded only when refused with 403)."""
    scope = _request.get()
    if scope is None:
        return
    state = scope.setdefault("state", {})
    state[USER], state[ACTION], state[TARGET], state[READ_ONLY] = user, action, target, not writes


def action_of(scope: MutableMapping[str, Any]) -> tuple[str, str]:
    """The request's action and target: a handler's own, else the route's."""
    state = scope.get("state", {})
    action = state.get(ACTION) or f"{scope['method']} {template(scope)}"
    return action, state.get(TARGET) or str(scope["path"])


def template(scope: MutableMapping[str, Any]) -> str:
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


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush: UOWTransaction) -> None:
    if _request.get() is not None:
        session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if _request.get() is None:
        return
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True
    elif not state.is_select and is_write(str(state.statement)):
        state.session.info[_WROTE] = True  # text("UPDATE ...")


def _wrote(session: Session) -> bool:
    raw = session.info.get("raw_sql")  # store.raw counts its own cursor's writes
    return bool(session.info.get(_WROTE)) or (raw is not None and raw.writes > 0)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    scope = _request.get()
    # A savepoint's release fires this too: the event waits for the real commit.
    if scope is None or session.in_nested_transaction() or not _wrote(session):
        return
    state = scope.setdefault("state", {})
    user = state.get(USER)
    if state.get(AUDITED) or not isinstance(user, User) or user.role not in STAFF:
        return
    state[AUDITED] = True
    action, target = action_of(scope)
    service.record(session, actor=user, action=action, target=target, address=state.get(ADDRESS))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    scope = _request.get()
    if scope is None or session.in_nested_transaction() or not _wrote(session):
        return
    state = scope.setdefault("state", {})
    if state.get(AUDITED):
        state[AUDIT_COMMITTED] = True  # a failure after this commit is not recorded again


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the real end, not a savepoint's
        session.info.pop(_WROTE, None)
