"""Every query of the workforce domain: accounts, teams and who is in which team.

The service holds the rules and calls these; a get-by-name-or-404 is
`truthset.store.lookup.get_by_name`. Nothing here commits or flushes: the service does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from truthset.api.tokens import token_hash
from truthset.store.lookup import find_by_name
from truthset.store.models import (
    AuthToken,
    OidcIdentity,
    OidcLogin,
    OidcProvider,
    OidcSession,
    Team,
    TeamMember,
    TeamSourceIp,
    User,
    WorkforceSetting,
)

# -- users ---------------------------------------------------------------------------------


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def user_named(session: Session, name: str) -> User | None:
    return find_by_name(session, User, name)


def user_name_taken(session: Session, name: str) -> bool:
    return session.scalar(select(User.id).where(User.name == name)) is not None


def all_users(session: Session) -> list[User]:
    """Every account, oldest first."""
    return list(session.scalars(select(User).order_by(User.id)))


# -- teams ---------------------------------------------------------------------------------


def team_named(session: Session, name: str) -> Team | None:
    return find_by_name(session, Team, name)


def team_name_taken(session: Session, name: str) -> bool:
    return session.scalar(select(Team.id).where(Team.name == name)) is not None


def membership(session: Session, team_id: int, user_id: int) -> TeamMember | None:
    return session.get(TeamMember, (team_id, user_id))


def team_names_of_user(session: Session, user_id: int) -> list[str]:
    """The names of the teams `user_id` is in, in name order."""
    return list(
        session.scalars(
            select(Team.name)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(TeamMember.user_id == user_id)
            .order_by(Team.name)
        )
    )


def teams_with_members(session: Session) -> list[tuple[Team, list[str]]]:
    """Every team in name order, with its members' names in name order."""
    members: dict[int, list[str]] = {}
    for team_id, user_name in session.execute(
        select(TeamMember.team_id, User.name)
        .join(User, TeamMember.user_id == User.id)
        .order_by(User.name)
    ):
        members.setdefault(team_id, []).append(user_name)
    return [
        (team, members.get(team.id, []))
        for team in session.scalars(select(Team).order_by(Team.name))
    ]


# -- OIDC providers, their subjects, pending sign-ins ---------------------------------------


def oidc_provider_named(session: Session, name: str) -> OidcProvider | None:
    return session.scalar(select(OidcProvider).where(OidcProvider.name == name))


def oidc_providers(session: Session, *, enabled_only: bool = False) -> list[OidcProvider]:
    query = select(OidcProvider).order_by(OidcProvider.name)
    if enabled_only:
        query = query.where(OidcProvider.enabled.is_(True))
    return list(session.scalars(query))


def oidc_identity(session: Session, provider_id: int, subject: str) -> OidcIdentity | None:
    return session.get(OidcIdentity, (provider_id, subject))


def take_oidc_login(session: Session, state: str) -> OidcLogin | None:
    """The pending sign-in of `state`, deleted as it is read: a state is used once, even
    by two callbacks racing in two app processes (one of them gets None)."""
    login = session.scalar(select(OidcLogin).where(OidcLogin.state == state).with_for_update())
    if login is None:
        return None
    deleted = session.execute(delete(OidcLogin).where(OidcLogin.state == state))
    return login if getattr(deleted, "rowcount", 1) == 1 else None


def record_oidc_session(
    session: Session, token: str, provider_id: int, id_token: str, now: float
) -> None:
    """Keep the provider and ID token of the session `token` (for its sign-out)."""
    token_id = session.scalar(select(AuthToken.id).where(AuthToken.token_hash == token_hash(token)))
    if token_id is not None:
        session.add(
            OidcSession(
                token_id=token_id, provider_id=provider_id, id_token=id_token, created_at=now
            )
        )


def oidc_session_of(session: Session, token: str) -> tuple[OidcProvider, str] | None:
    """The provider and ID token of the browser session `token`, if a provider made it."""
    row = session.execute(
        select(OidcProvider, OidcSession.id_token)
        .join(OidcSession, OidcSession.provider_id == OidcProvider.id)
        .join(AuthToken, AuthToken.id == OidcSession.token_id)
        .where(AuthToken.token_hash == token_hash(token))
    ).first()
    return None if row is None else (row[0], row[1])


def delete_oidc_logins_before(session: Session, before: float) -> None:
    session.execute(delete(OidcLogin).where(OidcLogin.created_at < before))


def memberships_of_user(session: Session, user_id: int) -> dict[str, TeamMember]:
    """The user's memberships by team name."""
    return {
        name: member
        for member, name in session.execute(
            select(TeamMember, Team.name)
            .join(Team, Team.id == TeamMember.team_id)
            .where(TeamMember.user_id == user_id)
        )
    }


# -- source-IP allow-lists -------------------------------------------------------------------


def workforce_setting(session: Session, name: str) -> WorkforceSetting | None:
    return session.get(WorkforceSetting, name)


def team_source_ip(session: Session, team_id: int) -> TeamSourceIp | None:
    return session.get(TeamSourceIp, team_id)


def team_source_ips(session: Session) -> list[tuple[str, list[Any]]]:
    """Every team's list, by team name."""
    return [
        (name, cidrs)
        for name, cidrs in session.execute(
            select(Team.name, TeamSourceIp.cidrs)
            .join(Team, Team.id == TeamSourceIp.team_id)
            .order_by(Team.name)
        )
    ]


def restricted_teams_of_user(session: Session, user_id: int) -> list[tuple[str, list[Any]]]:
    """The teams of `user_id` that have a source-IP list, with their lists."""
    return [
        (name, cidrs)
        for name, cidrs in session.execute(
            select(Team.name, TeamSourceIp.cidrs)
            .join(TeamSourceIp, TeamSourceIp.team_id == Team.id)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(TeamMember.user_id == user_id)
            .order_by(Team.name)
        )
    ]


def job_teams_of_user(
    session: Session, job_name: str, user_id: int
) -> list[tuple[str, list[Any] | None]]:
    """The teams through which `user_id` works on the job named `job_name` (theirs and the
    job's), each with its source-IP list or None: what the allow-list of a job's request
    is judged by."""
    from truthset.store.models import Job, JobTeam

    return [
        (name, cidrs)
        for name, cidrs in session.execute(
            select(Team.name, TeamSourceIp.cidrs)
            .join(JobTeam, JobTeam.team_id == Team.id)
            .join(Job, Job.id == JobTeam.job_id)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .outerjoin(TeamSourceIp, TeamSourceIp.team_id == Team.id)
            .where(Job.name == job_name, TeamMember.user_id == user_id)
            .order_by(Team.name)
        )
    ]


def any_team_source_ip(session: Session) -> bool:
    return session.scalar(select(TeamSourceIp.team_id).limit(1)) is not None
