"""NUL characters refused at the door, with a 400 naming where they were.

PostgreSQL cannot store a NUL in text or JSONB ("text fields cannot contain NUL"), SQLite
can: without this check the same request is a 500 on one store and accepted on the other.
One check ahead of every route (names, instructions, token names, answers, settings)
instead of one per field; manifests get the same check line by line in the importer."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ESCAPED_NUL = b"\\u0000"


def nul_field(obj: Any, path: str = "") -> str | None:
    """Where the first string (key or value) holding a NUL is, as "attribute 'a.b'"."""
    if isinstance(obj, str):
        return f"attribute {path!r}" if "\x00" in obj else None
    if isinstance(obj, dict):
        items: Any = obj.items()
    elif isinstance(obj, list):
        items = enumerate(obj)
    else:
        return None
    for key, value in items:
        inner = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and "\x00" in key:
            return f"key {inner!r}"
        found = nul_field(value, inner)
        if found is not None:
            return found
    return None


class NulGuard:
    """ASGI middleware: 400 for a NUL in the path, a query parameter or a JSON body."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if "\x00" in scope["path"]:
            return await _refuse(send, "the path")
        query = scope.get("query_string", b"")
        if b"%00" in query:
            for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                if "\x00" in key or "\x00" in value:
                    return await _refuse(send, f"query parameter {key!r}")
        if not _is_json(scope):
            return await self.app(scope, receive, send)
        # The body is bounded by truthset.api.body_limit, which sits in front of this.
        chunks, tail = [], None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                tail = message
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _ESCAPED_NUL in body:
            try:
                where = nul_field(orjson.loads(body))
            except orjson.JSONDecodeError:
                where = None  # the route's own parser names what is wrong
            if where is not None:
                return await _refuse(send, where.replace("attribute ", "field ", 1))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return tail if tail is not None else await receive()

        await self.app(scope, replay, send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return b"json" in value.lower()
    return False


async def _refuse(send: Send, where: str) -> None:
    detail = f"{where} contains a NUL character (\\u0000), which cannot be stored"
    data = orjson.dumps({"error": "bad_request", "detail": detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": data})
