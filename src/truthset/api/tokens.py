"""API and session tokens: issued once, kept as hashes, looked up for every request.

Request plumbing (layer 2): the authentication dependency reads them, and the workforce
service issues them at sign-in."""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from truthset.errors import Unauthorized
from truthset.store.models import AuthToken, User

SESSION_LIFETIME = 14 * 86400


TOKEN_PREFIX = "ts_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    user: User,
    *,
    kind: str = "api",
    name: str | None = None,
    now: float | None = None,
) -> str:
    """A new secret; it is shown once and only its hash is kept."""
    now = time.time() if now is None else now
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        AuthToken(
            user_id=user.id,
            kind=kind,
            token_hash=token_hash(token),
            name=name,
            created_at=now,
            expires_at=now + SESSION_LIFETIME if kind == "session" else None,
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
