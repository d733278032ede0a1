"""Request dependencies: the workspace, sessions that own the request's transaction, and
the signed-in user (API token or browser session cookie)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from truthset.api import tokens
from truthset.errors import Forbidden, Unauthorized
from truthset.store.models import User
from truthset.workspace import Workspace

SESSION_COOKIE = "truthset_session"
CSRF_HEADER = "x-truthset-csrf"
# A cached identity is re-read from the database after this long: a token revoked, or an
# account deactivated or changed, in another app process stops working within it (one
# indexed lookup per token per second is the cost).
_TOKEN_CACHE_TTL = 1.0
# token -> (expiry, user). The cached User is transient and only read: callers must not
# attach it to a session.
_token_cache: dict[str, tuple[float, User]] = {}


def get_workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


def _session(request: Request, *, write: bool, durable: bool = False) -> Iterator[Session]:
    # The transaction commits when the route returns and before the response is sent
    # (scope="function" below), so a 2xx always means the change is committed.
    with get_workspace(request).db.session_scope(write=write, durable=durable) as session:
        yield session


def read_session(request: Request) -> Iterator[Session]:
    yield from _session(request, write=False)


def write_session(request: Request) -> Iterator[Session]:
    yield from _session(request, write=True)


def durable_session(request: Request) -> Iterator[Session]:
    yield from _session(request, write=True, durable=True)


async def get_db(request: Request) -> Any:
    """For routes that open their own transaction (the hot work routes): beginning and
    committing in the route's own thread keeps SQLite's write lock from waiting on a
    thread-pool hop between the route and a dependency's exit."""
    return get_workspace(request).db


ReadSession = Annotated[Session, Depends(read_session, scope="function")]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]
DurableSession = Annotated[Session, Depends(durable_session, scope="function")]


def _credentials(authorization: str, cookie: str | None) -> tuple[str | None, bool]:
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip(), False
    return cookie, cookie is not None


async def authenticate(
    ws: Workspace, *, method: str, authorization: str, cookie: str | None, csrf: str | None
) -> User:
    """The caller, from a cached token when possible (no thread hop, no query). Shared by
    the FastAPI dependency and the hot work routes (truthset.work.hot_routes)."""
    token, from_cookie = _credentials(authorization, cookie)
    if not token:
        raise Unauthorized("sign in, or send an API token as 'Authorization: Bearer <token>'")
    if from_cookie and method not in ("GET", "HEAD", "OPTIONS") and csrf != "1":
        # Browsers cannot add custom headers to cross-site form posts: this blocks CSRF.
        raise Forbidden(f"requests signed in by cookie must send the header {CSRF_HEADER}: 1")
    now = time.time()
    cached = _token_cache.get(token)
    if cached is None or cached[0] <= now:
        user_id, role, active, name = await run_in_threadpool(_lookup_token, ws, token, now)
        cached = (now + _TOKEN_CACHE_TTL, User(id=user_id, role=role, name=name, active=active))
        _token_cache[token] = cached
    user = cached[1]
    if not user.active:
        raise Unauthorized("this account is disabled")
    return user


async def current_user(request: Request) -> User:
    user = await authenticate(
        get_workspace(request),
        method=request.method,
        authorization=request.headers.get("authorization", ""),
        cookie=request.cookies.get(SESSION_COOKIE),
        csrf=request.headers.get(CSRF_HEADER),
    )
    request.state.user = user  # who acted, for the audit trail (truthset.audit.middleware)
    return user


def _lookup_token(ws: Workspace, token: str, now: float) -> tuple[int, str, bool, str]:
    with ws.db.session_scope(write=False) as session:
        user = tokens.authenticate_token(session, token, now=now)
        return user.id, user.role, user.active, user.name


def forget_token(token: str) -> None:
    _token_cache.pop(token, None)


def forget_all_tokens() -> None:
    _token_cache.clear()


CurrentUser = Annotated[User, Depends(current_user)]


async def require_staff(user: CurrentUser) -> User:
    if user.role not in ("admin", "requester"):
        raise Forbidden("this needs the admin or requester role")
    return user


async def require_admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise Forbidden("this needs the admin role")
    return user


StaffUser = Annotated[User, Depends(require_staff)]
AdminUser = Annotated[User, Depends(require_admin)]
