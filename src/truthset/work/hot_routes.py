"""The two requests a labeling workforce sends all day, next task and submit, served as
plain ASGI ahead of FastAPI's routing and dependency machinery.

Measured on the work-loop benchmark, FastAPI's routing, middleware and dependency
resolution cost more CPU per request than the database work itself. These requests take
the same authentication, validation, service calls and error bodies as the FastAPI routes
in truthset.work.router (which stay, for the OpenAPI document and for any request this
path leaves alone); only the framework in between is skipped.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Receive, Scope, Send

from truthset.api.deps import CSRF_HEADER, SESSION_COOKIE, authenticate
from truthset.api.errors import database_unavailable, validation_problems
from truthset.errors import AppError
from truthset.work.router import next_task_body, submit_durably
from truthset.work.schemas import SubmitRequest

_NEXT = re.compile(r"/api/jobs/([^/]+)/next")
# At most 18 digits, always a 64-bit id; a longer one goes to the FastAPI route, whose
# handlers answer an out-of-range id with a 400.
_SUBMIT = re.compile(r"/api/assignments/(\d{1,18})/submit")
_JSON = [(b"content-type", b"application/json")]


class HotWorkRoutes:
    """ASGI middleware: answers POST next and POST submit itself, passes the rest on."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            found = _NEXT.fullmatch(path)
            ahead = _flag(scope, b"ahead") if found is not None else None
            if found is not None and ahead is not None:
                return await self._respond(send, self._next(scope, found[1], ahead))
            found = _SUBMIT.fullmatch(path)
            if found is not None:
                return await self._respond(send, self._submit(scope, receive, int(found[1])))
        await self.app(scope, receive, send)

    async def _respond(self, send: Send, work: Any) -> None:
        try:
            status, body = await work
        except AppError as exc:
            status, body = exc.status_code, {"error": exc.kind, "detail": exc.detail}
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            status, body = 422, {"error": "validation_error", "detail": validation_problems(errors)}
        except DBAPIError as exc:
            outage = database_unavailable(exc)
            if outage is None:
                raise
            status, body = outage.status_code, {"error": outage.kind, "detail": outage.detail}
        if body is None:
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        data = orjson.dumps(body)
        headers = [*_JSON, (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def _user(self, scope: Scope) -> Any:
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        cookie = None
        if not authorization and b"cookie" in headers:
            morsel = SimpleCookie(headers[b"cookie"].decode("latin-1")).get(SESSION_COOKIE)
            cookie = morsel.value if morsel is not None else None
        csrf = headers.get(CSRF_HEADER.encode())
        return await authenticate(
            scope["app"].state.workspace,
            method="POST",
            authorization=authorization,
            cookie=cookie,
            csrf=csrf.decode("latin-1") if csrf is not None else None,
        )

    async def _next(self, scope: Scope, name: str, ahead: bool) -> tuple[int, Any]:
        user = await self._user(scope)
        db = scope["app"].state.workspace.db
        body = await db.run_write(lambda session: next_task_body(session, name, user, ahead=ahead))
        return (204, None) if body is None else (200, body)

    async def _submit(self, scope: Scope, receive: Receive, assignment_id: int) -> tuple[int, Any]:
        user = await self._user(scope)
        raw = await _read_body(receive)
        request = SubmitRequest.model_validate_json(raw)
        db = scope["app"].state.workspace.db
        return 200, await submit_durably(db, assignment_id, user, request)


def _flag(scope: Scope, name: bytes) -> bool | None:
    """A boolean query parameter as FastAPI reads one; None for a value that is not one,
    which the FastAPI route then refuses with its own 422."""
    for pair in scope.get("query_string", b"").split(b"&"):
        key, _, value = pair.partition(b"=")
        if key == name:
            value = value.lower()
            if value in (b"1", b"true", b"yes", b"on"):
                return True
            return False if value in (b"0", b"false", b"no", b"off") else None
    return False


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
