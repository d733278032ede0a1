"""Errors that carry their HTTP status, so services never import FastAPI.

Every API error renders as ``{"error": <kind>, "detail": <what and where>}``; the CLI prints
the same two fields and exits with status 2.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every error a user can cause; ``kind`` names it in the JSON body."""

    status_code = 400
    kind = "bad_request"

    def __init__(self, detail: Any, *, kind: str | None = None, status_code: int | None = None):
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail
        if kind is not None:
            self.kind = kind
        if status_code is not None:
            self.status_code = status_code


class BadInput(AppError):
    status_code = 400
    kind = "bad_input"


class Unauthorized(AppError):
    status_code = 401
    kind = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    kind = "forbidden"


class NotFound(AppError):
    status_code = 404
    kind = "not_found"


class Conflict(AppError):
    status_code = 409
    kind = "conflict"


class Gone(AppError):
    """A lease or resource that existed but has ended (an expired assignment)."""

    status_code = 410
    kind = "gone"


class Unavailable(AppError):
    """A service the request needs (the database) cannot be reached now: try again."""

    status_code = 503
    kind = "unavailable"
