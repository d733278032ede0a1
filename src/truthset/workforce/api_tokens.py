"""A user's API tokens as the console shows them: listed by name and first characters (the
secret itself is never kept), and revoked one by one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from truthset.errors import Forbidden, NotFound
from truthset.store.models import AuthToken, User


def _may_manage(caller: User, target: User) -> None:
    if caller.role != "admin" and caller.id != target.id:
        raise Forbidden("only an admin can see or revoke another user's tokens")


def list_api_tokens(session: Session, caller: User, target: User) -> list[dict[str, Any]]:
    """The target's API tokens, oldest first (browser sessions are not listed)."""
    _may_manage(caller, target)
    rows = session.scalars(
        select(AuthToken)
        .where(AuthToken.user_id == target.id, AuthToken.kind == "api")
        .order_by(AuthToken.id)
    )
    return [
        {
            "id": t.id,
            "name": t.name,
            "prefix": t.prefix,
            "created_at": t.created_at,
            "expires_at": t.expires_at,
        }
        for t in rows
    ]


def revoke_api_token_id(session: Session, caller: User, target: User, token_id: int) -> str:
    """Delete one of the target's API tokens; what was revoked, in words."""
    _may_manage(caller, target)
    row = session.get(AuthToken, token_id)
    if row is None or row.user_id != target.id or row.kind != "api":
        raise NotFound(f"user {target.name!r} has no API token {token_id}")
    what = f"token {row.name!r}" if row.name else f"token {row.prefix}…"
    session.delete(row)
    session.flush()
    return what
