"""API and session tokens: issued once, kept as hashes, looked up for every request.

Request plumbing (layer 2): the authentication dependency reads them, and the workforce
service issues them at sign-in."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from truthset.errors import BadInput, Conflict, NotFound, Unauthorized
from truthset.store.models import AuthToken, User

SESSION_LIFETIME = 14 * 86400


TOKEN_PREFIX = "ts_"
# How much of a token is kept in clear to name it (8 of its 43 random characters: 48 of 256
# bits, far from enough to guess the rest).
SHOWN_PREFIX = len(TOKEN_PREFIX) + 8


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    user: User,
    *,
    kind: str = "api",
    name: str | None = None,
    now: float | None = None,
    expires_in: float | None = None,
) -> str:
    """A new secret; it is shown once and only its hash is kept. Sessions last
    SESSION_LIFETIME; API tokens `expires_in` seconds, or until revoked when None."""
    now = time.time() if now is None else now
    if kind == "session":
        expires_in = SESSION_LIFETIME
    elif expires_in is not None and not expires_in > 0:
        raise BadInput(f"a token's lifetime must be positive, not {expires_in!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        AuthToken(
            user_id=user.id,
            kind=kind,
            token_hash=token_hash(token),
            name=name,
            prefix=token[:SHOWN_PREFIX],
            created_at=now,
            expires_at=None if expires_in is None else now + expires_in,
        )
    )
    session.flush()
    return token


def authenticate_token(session: Session, token: str, *, now: float | None = None) -> User:
    now = time.time() if now is None else now
    row = session.execute(
        select(AuthToken.user_id, AuthToken.expires_at).where(
            AuthToken.token_hash == token_hash(token)
        )
    ).first()
    if row is None or (row.expires_at is not None and row.expires_at < now):
        raise Unauthorized("invalid or expired token")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthorized("this account is disabled")
    return user


def revoke_token(session: Session, token: str) -> None:
    row = session.scalar(select(AuthToken).where(AuthToken.token_hash == token_hash(token)))
    if row is not None:
        session.delete(row)
        session.flush()


def revoke_user_tokens(session: Session, user_id: int, kinds: Iterable[str]) -> int:
    """Delete a user's tokens of these kinds ("session", "api"); how many there were."""
    rows = session.scalars(
        select(AuthToken).where(AuthToken.user_id == user_id, AuthToken.kind.in_(list(kinds)))
    ).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


def revoke_api_token(session: Session, user: User, name_or_prefix: str) -> str:
    """Revoke one of the user's API tokens, named by its name or by the token's first
    characters (at least the "ts_" and 6 more); what was revoked, in words."""
    candidates = session.scalars(
        select(AuthToken).where(AuthToken.user_id == user.id, AuthToken.kind == "api")
    ).all()
    by_name = [t for t in candidates if t.name is not None and t.name == name_or_prefix]
    matches = by_name
    if not matches and name_or_prefix.startswith(TOKEN_PREFIX):
        if len(name_or_prefix) < len(TOKEN_PREFIX) + 6:
            raise BadInput(
                f"token prefix {name_or_prefix!r} is too short: give at least "
                f"{len(TOKEN_PREFIX) + 6} characters"
            )
        given = name_or_prefix[:SHOWN_PREFIX]
        matches = [t for t in candidates if t.prefix is not None and t.prefix.startswith(given)]
    if not matches:
        raise NotFound(f"user {user.name!r} has no API token named or starting {name_or_prefix!r}")
    if len(matches) > 1:
        raise Conflict(
            f"{len(matches)} API tokens of user {user.name!r} match {name_or_prefix!r}: "
            "give a longer prefix"
        )
    token = matches[0]
    session.execute(delete(AuthToken).where(AuthToken.id == token.id))
    session.flush()
    return f"token {token.name or token.prefix} of {user.name}"
