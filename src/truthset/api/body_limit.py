"""A cap on request bodies, enforced before a body is read whole.

Without it a client can send a 200 MB JSON body and the server buffers all of it before
validation answers 400. The cap is checked twice: against `Content-Length` before the
application runs, and byte by byte as a chunked body streams in (a body without a length
cannot be judged up front). Manifest uploads keep their own, larger limit in their route.
"""

from __future__ import annotations

import os
import re
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 10 * 1000 * 1000
MAX_BODY_ENV = "TRUTHSET_MAX_BODY_BYTES"
# Multipart manifest uploads stream to disk and stop at 2 GiB themselves.
_EXEMPT = re.compile(r"/api/datasets/[^/]+/upload")


def max_body_bytes_from_env() -> int:
    raw = os.environ.get(MAX_BODY_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BODY_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{MAX_BODY_ENV}={raw!r}: expected a number of bytes") from None
    if value <= 0:
        raise ValueError(f"{MAX_BODY_ENV}={raw!r}: expected a positive number of bytes")
    return value


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes the cap; an HTTPException, so a
    FastAPI route that is reading its body renders it as the 413 itself."""

    def __init__(self, limit: int):
        super().__init__(413, _detail(limit))


def _detail(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


class BodyLimit:
    """ASGI middleware: 413 {"error": "too_large"} for bodies over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int | None = None):
        self.app = app
        self.max_bytes = max_body_bytes_from_env() if max_bytes is None else max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (_EXEMPT.fullmatch(scope["path"]) and _is_multipart(scope)):
            return await self.app(scope, receive, send)
        limit = self.max_bytes
        length = _content_length(scope)
        if length is not None and length > limit:
            return await _too_large(send, limit)
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            # Raised where no FastAPI handler renders it (the hot work routes read bodies
            # as plain ASGI): answer here unless a response is already on its way.
            if started:
                raise
            await _too_large(send, limit)


def _is_multipart(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.lower().startswith(b"multipart/form-data")
    return False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, limit: int) -> None:
    body: dict[str, Any] = {"error": "too_large", "detail": _detail(limit)}
    data = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": data})
