"""Accounts, teams, roles, passwords and tokens.

Passwords are hashed with scrypt; API tokens and browser sessions are random strings of
which only a SHA-256 is stored, so a copy of the database grants nobody access.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from truthset.errors import BadInput, Conflict, NotFound, Unauthorized
from truthset.store.models import AuthToken, Team, TeamMember, User

ROLES = ("admin", "requester", "reviewer", "worker")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
SESSION_LIFETIME = 14 * 86400
TOKEN_PREFIX = "ts_"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt_hex, digest_hex = stored.split("$")
    digest = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt_hex), n=2**14, r=8, p=1, dklen=32
    )
    return hmac.compare_digest(digest.hex(), digest_hex)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise BadInput(
            f"{kind} name {name!r} must be 1-100 letters, digits, '_', '.', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def create_user(
    session: Session,
    name: str,
    *,
    role: str = "worker",
    password: str | None = None,
    teams: list[str] | None = None,
    now: float | None = None,
) -> User:
    now = time.time() if now is None else now
    _check_name("user", name)
    if role not in ROLES:
        raise BadInput(f"role {role!r} is not one of {', '.join(ROLES)}")
    if password is not None and len(password) < 8:
        raise BadInput("password must have at least 8 characters")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise Conflict(f"a user named {name!r} already exists")
    user = User(
        name=name,
        role=role,
        created_at=now,
        active=True,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    for team_name in teams or []:
        add_member(session, team_name, user, create_team_if_missing=True, now=now)
    return user


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"user {name!r} not found")
    return user


def set_password(session: Session, user: User, password: str) -> None:
    if len(password) < 8:
        raise BadInput("password must have at least 8 characters")
    user.password_hash = hash_password(password)
    session.flush()


def create_team(session: Session, name: str, *, now: float | None = None) -> Team:
    _check_name("team", name)
    if session.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise Conflict(f"a team named {name!r} already exists")
    team = Team(name=name, created_at=time.time() if now is None else now)
    session.add(team)
    session.flush()
    return team


def get_team(session: Session, name: str) -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise NotFound(f"team {name!r} not found")
    return team


def add_member(
    session: Session,
    team_name: str,
    user: User,
    *,
    create_team_if_missing: bool = False,
    now: float | None = None,
) -> None:
    team = session.scalar(select(Team).where(Team.name == team_name))
    if team is None:
        if not create_team_if_missing:
            raise NotFound(f"team {team_name!r} not found")
        team = create_team(session, team_name, now=now)
    if session.get(TeamMember, (team.id, user.id)) is None:
        session.add(TeamMember(team_id=team.id, user_id=user.id))
        session.flush()


def remove_member(session: Session, team_name: str, user: User) -> None:
    team = get_team(session, team_name)
    member = session.get(TeamMember, (team.id, user.id))
    if member is not None:
        session.delete(member)
        session.flush()


def team_names_of(session: Session, user_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Team.name)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(TeamMember.user_id == user_id)
            .order_by(Team.name)
        )
    )


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


def login(
    session: Session, name: str, password: str, *, now: float | None = None
) -> tuple[User, str]:
    user = session.scalar(select(User).where(User.name == name))
    if user is None or not user.active or not verify_password(password, user.password_hash):
        raise Unauthorized("wrong user name or password")
    return user, issue_token(session, user, kind="session", now=now)


def revoke_token(session: Session, token: str) -> None:
    row = session.scalar(select(AuthToken).where(AuthToken.token_hash == token_hash(token)))
    if row is not None:
        session.delete(row)
        session.flush()
