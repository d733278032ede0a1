"""The browser session cookie, as every way of signing in sets it."""

from __future__ import annotations

from fastapi import Request, Response

from truthset.api import tokens
from truthset.api.deps import SESSION_COOKIE


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=tokens.SESSION_LIFETIME,
        path="/",
    )
