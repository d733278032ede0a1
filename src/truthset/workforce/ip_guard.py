"""Enforces the source-IP allow-lists (`truthset.workforce.ip_allow`) on workers' requests:
the portal and work pages, the work API (the hot next / submit routes included, which is
why this is ASGI and sits outside them), media and the rest of the API.

With no list anywhere (the default) a request costs one cached lookup. Otherwise the
caller is found from its token or session cookie (the token cache of `api.deps`); one that
is not signed in goes on, to be refused by the route. Signing in and out, the sign-in page
and static files stay reachable, so a refused worker can see why and sign out.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from truthset.api.deps import SESSION_COOKIE, authenticate
from truthset.audit.middleware import ADDRESS, USER
from truthset.errors import AppError
from truthset.workforce import ip_allow

_OPEN_PREFIXES = ("/api/auth/", "/static/", "/login", "/api/health", "/favicon")


def _cookie(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header: treated as none
                return None
            morsel = jar.get(SESSION_COOKIE)
            return morsel.value if morsel is not None else None
    return None


def _job_of(path: str) -> str | None:
    """The job a request is about, from its path (`/api/jobs/{name}/...`, `/work/{name}`)."""
    for prefix in ("/api/jobs/", "/work/"):
        if path.startswith(prefix):
            name = path[len(prefix) :].split("/", 1)[0]  # ASGI's path is decoded already
            return name or None
    return None


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


class SourceIpGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        ws = scope["app"].state.workspace
        lists = ip_allow.cached_lists(ws.db)
        if lists is None:
            lists = await run_in_threadpool(ip_allow.read_lists, ws.db)
        if not lists.workforce and not lists.any_team:
            await self.app(scope, receive, send)
            return
        try:
            # Identity only: the route checks CSRF and everything else itself.
            user = await authenticate(
                ws,
                method="GET",
                authorization=_header(scope, b"authorization"),
                cookie=_cookie(scope),
                csrf=None,
            )
        except AppError:
            await self.app(scope, receive, send)
            return
        if user.role not in ip_allow.RESTRICTED_ROLES:
            await self.app(scope, receive, send)
            return
        teams = ip_allow.cached_teams_of(ws.db, user.id) if lists.any_team else []
        if teams is None:
            teams = await run_in_threadpool(ip_allow.teams_of, ws.db, user.id)
        state = scope.setdefault("state", {})
        job = _job_of(scope["path"]) if teams else None
        if job is None:
            why = ip_allow.refusal(state.get(ADDRESS), lists, teams)
        else:
            through = ip_allow.cached_job_teams_of(ws.db, user.id, job)
            if through is None:
                through = await run_in_threadpool(ip_allow.job_teams_of, ws.db, user.id, job)
            why = ip_allow.job_refusal(state.get(ADDRESS), lists, through, teams, job)
        if why is None:
            await self.app(scope, receive, send)
            return
        state[USER] = user  # the audit trail records the refusal of a write
        body = orjson.dumps({"error": "forbidden", "detail": why})
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
