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

from truthset.api.tokens import issue_token
from truthset.errors import BadInput, Conflict, NotFound, Unauthorized
from truthset.store.lookup import get_by_name
from truthset.store.models import Team, TeamMember, User

ROLES = ("admin", "requester", "reviewer", "worker")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


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
    return get_by_name(session, User, name)


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
    return get_by_name(session, Team, name)


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


def login(
    session: Session, name: str, password: str, *, now: float | None = None
) -> tuple[User, str]:
    user = session.scalar(select(User).where(User.name == name))
    if user is None or not user.active or not verify_password(password, user.password_hash):
        raise Unauthorized("wrong user name or password")
    return user, issue_token(session, user, kind="session", now=now)
