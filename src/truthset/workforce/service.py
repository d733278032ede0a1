"""Accounts, teams, roles, passwords and tokens.

Passwords are hashed with argon2id (`truthset.workforce.passwords`); API tokens and browser
sessions are random strings of which only a SHA-256 is stored, so a copy of the database
grants nobody access.

The rules live here; the queries in `truthset.workforce.repository`. Functions flush and
never commit: the caller's session scope (the request, the CLI command) owns the
transaction.
"""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy.orm import Session

from truthset.api.tokens import issue_token, revoke_token, revoke_user_tokens
from truthset.errors import BadInput, Conflict, Forbidden, NotFound, Unauthorized
from truthset.store.lookup import get_by_name
from truthset.store.models import OidcProvider, Team, TeamMember, User
from truthset.workforce import lockout, repository
from truthset.workforce.passwords import hash_password, needs_rehash, verify_password

ROLES = ("admin", "requester", "reviewer", "worker")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise BadInput(f"role {role!r} is not one of {', '.join(ROLES)}")


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise BadInput("password must have at least 8 characters")


def check_name(kind: str, name: Any) -> str:
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
    check_name("user", name)
    _check_role(role)
    if password is not None:
        _check_password(password)
    if repository.user_name_taken(session, name):
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


def get_user_by_id(session: Session, user_id: int) -> User | None:
    return repository.user_by_id(session, user_id)


def list_users(session: Session) -> list[User]:
    return repository.all_users(session)


def set_password(session: Session, user: User, password: str) -> None:
    """A new password ends every browser session of the user (API tokens stay)."""
    _check_password(password)
    user.password_hash = hash_password(password)
    revoke_user_tokens(session, user.id, ("session",))
    session.flush()


def update_user(
    session: Session,
    user: User,
    *,
    role: str | None = None,
    password: str | None = None,
    active: bool | None = None,
) -> User:
    """Change what is given (None leaves a field as it is). Deactivating deletes every
    session and API token of the user: reactivating does not bring them back. Other app
    processes stop accepting them within the token cache's lifetime (truthset.api.deps)."""
    if role is not None:
        _check_role(role)
        user.role = role
    if password is not None:
        set_password(session, user, password)
    if active is not None:
        if not active and user.active:
            revoke_user_tokens(session, user.id, ("session", "api"))
        user.active = active
    session.flush()
    return user


def create_team(session: Session, name: str, *, now: float | None = None) -> Team:
    check_name("team", name)
    if repository.team_name_taken(session, name):
        raise Conflict(f"a team named {name!r} already exists")
    team = Team(name=name, created_at=time.time() if now is None else now)
    session.add(team)
    session.flush()
    return team


def get_team(session: Session, name: str) -> Team:
    return get_by_name(session, Team, name)


def list_teams(session: Session) -> list[tuple[Team, list[str]]]:
    """Every team in name order, with its members' names."""
    return repository.teams_with_members(session)


def add_member(
    session: Session,
    team_name: str,
    user: User,
    *,
    create_team_if_missing: bool = False,
    now: float | None = None,
) -> None:
    team = repository.team_named(session, team_name)
    if team is None:
        if not create_team_if_missing:
            raise NotFound(f"team {team_name!r} not found")
        team = create_team(session, team_name, now=now)
    if repository.membership(session, team.id, user.id) is None:
        session.add(TeamMember(team_id=team.id, user_id=user.id))
        session.flush()


def remove_member(session: Session, team_name: str, user: User) -> None:
    team = get_team(session, team_name)
    member = repository.membership(session, team.id, user.id)
    if member is not None:
        session.delete(member)
        session.flush()


def oidc_providers(session: Session, *, enabled_only: bool = False) -> list[OidcProvider]:
    return repository.oidc_providers(session, enabled_only=enabled_only)


def team_names_of(session: Session, user_id: int) -> list[str]:
    return repository.team_names_of_user(session, user_id)


def login(
    session: Session, name: str, password: str, *, now: float | None = None
) -> tuple[User, str]:
    """Sign in: the user and a new session token. A locked name raises LockedOut (429)
    before any password is checked. A wrong password records the failure (flushed) and then
    raises Unauthorized: a caller that wants failures to count commits its session even so.
    An unknown name costs the same hash verification as a wrong password."""
    now = time.time() if now is None else now
    lockout.check_not_locked(session, name, now=now)
    user = repository.user_named(session, name)
    stored = user.password_hash if user is not None else None
    if not verify_password(password, stored) or user is None or not user.active:
        lockout.record_failure(session, name, now=now)
        raise Unauthorized("wrong user name or password")
    lockout.clear_failures(session, name)
    if stored is not None and needs_rehash(stored):
        user.password_hash = hash_password(password)  # an scrypt hash upgraded to argon2id
    return user, issue_token(session, user, kind="session", now=now)


def logout(session: Session, token: str) -> None:
    """End a browser session: its token stops working (a no-op for an unknown token)."""
    revoke_token(session, token)


def create_token(
    session: Session,
    caller: User,
    target: User,
    *,
    name: str | None = None,
    expires_in: float | None = None,
) -> str:
    """A new API token for `target` (expiring after `expires_in` seconds, or never); only an
    admin may create one for someone else."""
    if caller.role != "admin" and caller.id != target.id:
        raise Forbidden("only an admin can create tokens for another user")
    return issue_token(session, target, name=name, expires_in=expires_in)
