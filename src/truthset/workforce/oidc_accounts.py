"""From a verified OIDC sign-in to an account: the account is found by (provider, subject)
or made on the first sign-in; its role and its teams follow the provider's groups claim on
every sign-in.

Teams: the teams named anywhere in the provider's `group_map` are the provider's to manage:
the person is put in exactly those of them their groups map to (teams made when missing)
and taken out of the others; memberships in teams the map never names (added by an admin)
are left alone. Role: the strongest role among the mapped groups', else `default_role`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy.orm import Session

from truthset.api.tokens import issue_token
from truthset.errors import Unauthorized
from truthset.store.models import OidcIdentity, OidcProvider, User
from truthset.workforce import repository
from truthset.workforce.service import NAME_RE, ROLES, add_member, create_user

# Strongest first: a person in a reviewers' group and an admins' group is an admin.
_ROLE_ORDER = {role: n for n, role in enumerate(ROLES)}


def groups_of(provider: OidcProvider, claims: dict[str, Any]) -> list[str]:
    """The groups claim as a list of strings (a single string counts as one group)."""
    value = claims.get(provider.groups_claim)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [g for g in value if isinstance(g, str)]
    raise Unauthorized(
        f"the {provider.groups_claim!r} claim must be a list of group names, not {value!r}"
    )


def mapped_teams_and_role(provider: OidcProvider, groups: list[str]) -> tuple[list[str], str, bool]:
    """The teams and role the groups map to, and whether any group was mapped at all."""
    teams: list[str] = []
    roles: list[str] = []
    matched = False
    for group in groups:
        entry = provider.group_map.get(group)
        if entry is None:
            continue
        matched = True
        teams.extend(t for t in entry.get("teams", []) if t not in teams)
        if entry.get("role"):
            roles.append(entry["role"])
    role = min(roles, key=_ROLE_ORDER.__getitem__) if roles else provider.default_role
    return sorted(teams), role, matched


def _managed_teams(provider: OidcProvider) -> set[str]:
    return {t for entry in provider.group_map.values() for t in entry.get("teams", [])}


def _account_name(session: Session, claims: dict[str, Any]) -> str:
    """A free account name from preferred_username, else email, else the subject: cleaned
    to the characters names allow, with -2, -3... when taken (never someone else's account:
    a provider's subject is linked only to the account made for it)."""
    for claim in ("preferred_username", "email", "sub"):
        raw = claims.get(claim)
        if isinstance(raw, str) and raw:
            base = re.sub(r"[^A-Za-z0-9_.@-]", "-", raw).strip("-_.@")[:90]
            if base and NAME_RE.match(base):
                break
    else:
        base = "oidc-user"
    name, n = base, 1
    while repository.user_name_taken(session, name):
        n += 1
        name = f"{base}-{n}"
    return name


def sign_in(
    session: Session,
    provider: OidcProvider,
    claims: dict[str, Any],
    *,
    id_token: str = "",
    now: float | None = None,
) -> tuple[User, str, bool]:
    """The account of a verified sign-in (made on the first one), with its role and
    teams brought in line with the groups claim, and a new session token; whether the
    account is new. The session keeps the provider's `id_token` for its sign-out."""
    now = time.time() if now is None else now
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise Unauthorized("the ID token's 'sub' must be a string of 1-255 characters")
    groups = groups_of(provider, claims)
    teams, role, matched = mapped_teams_and_role(provider, groups)
    if provider.require_group and not matched:
        raise Unauthorized(
            f"provider {provider.name!r} lets in only members of its mapped groups "
            f"({', '.join(sorted(provider.group_map)) or 'none mapped'}); this person's "
            f"{provider.groups_claim!r} are {groups or 'empty'}"
        )
    identity = repository.oidc_identity(session, provider.id, subject)
    created = identity is None
    if identity is None:
        user = create_user(session, _account_name(session, claims), role=role, now=now)
        identity = OidcIdentity(
            provider_id=provider.id, subject=subject, user_id=user.id, last_sign_in_at=now
        )
        session.add(identity)
    else:
        found = repository.user_by_id(session, identity.user_id)
        assert found is not None  # the identity's foreign key cascades on delete
        user = found
        if not user.active:
            raise Unauthorized("this account is disabled")
        user.role = role
        identity.last_sign_in_at = now
    _sync_teams(session, provider, user, teams, now=now)
    session.flush()
    token = issue_token(session, user, kind="session", now=now)
    if id_token:
        repository.record_oidc_session(session, token, provider.id, id_token, now)
    return user, token, created


def _sync_teams(
    session: Session, provider: OidcProvider, user: User, teams: list[str], *, now: float
) -> None:
    current = repository.memberships_of_user(session, user.id)
    for team in teams:
        if team not in current:
            add_member(session, team, user, create_team_if_missing=True, now=now)
    for team, member in current.items():
        if team in _managed_teams(provider) and team not in teams:
            session.delete(member)
    session.flush()
