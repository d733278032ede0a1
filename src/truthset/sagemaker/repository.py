"""The SageMaker domain's queries: access keys, and the job and team listings of the
List* calls (filters, order and pages in SQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from truthset.store.models import AccessKey, Job, JobTeam, Team, TeamMember, User

# -- access keys ----------------------------------------------------------------------------


def access_key(session: Session, key_id: str) -> AccessKey | None:
    return session.scalar(select(AccessKey).where(AccessKey.key_id == key_id))


def access_key_owner(session: Session, key_id: str) -> tuple[AccessKey, User] | None:
    row = session.execute(
        select(AccessKey, User)
        .join(User, User.id == AccessKey.user_id)
        .where(AccessKey.key_id == key_id)
    ).first()
    return None if row is None else (row[0], row[1])


def access_keys_of(session: Session, user_id: int) -> list[AccessKey]:
    return list(
        session.scalars(
            select(AccessKey).where(AccessKey.user_id == user_id).order_by(AccessKey.id)
        )
    )


# -- labeling jobs --------------------------------------------------------------------------

JOB_ORDER = {"Name": Job.name, "CreationTime": Job.created_at, "Status": Job.state}


def list_jobs(
    session: Session,
    *,
    visible_to_worker: int | None,
    name_contains: str | None,
    states: tuple[str, ...] | None,
    created_after: float | None,
    created_before: float | None,
    modified_after: float | None,
    modified_before: float | None,
    sort_by: str,
    descending: bool,
    offset: int,
    limit: int,
    of_team: int | None = None,
) -> list[Job]:
    """One page of jobs. `visible_to_worker`: only the jobs of that worker's teams;
    `of_team`: only the jobs that team works on."""
    query: Select[Any] = select(Job)
    if of_team is not None:
        query = query.where(Job.id.in_(select(JobTeam.job_id).where(JobTeam.team_id == of_team)))
    if visible_to_worker is not None:
        teams = select(TeamMember.team_id).where(TeamMember.user_id == visible_to_worker)
        query = query.where(Job.id.in_(select(JobTeam.job_id).where(JobTeam.team_id.in_(teams))))
    if name_contains:
        # Case-insensitive, as Ground Truth's; autoescape keeps % and _ literal.
        query = query.where(func.lower(Job.name).contains(name_contains.lower(), autoescape=True))
    if states is not None:
        query = query.where(Job.state.in_(states))
    if created_after is not None:
        query = query.where(Job.created_at > created_after)
    if created_before is not None:
        query = query.where(Job.created_at < created_before)
    if modified_after is not None:
        query = query.where(Job.updated_at > modified_after)
    if modified_before is not None:
        query = query.where(Job.updated_at < modified_before)
    column = JOB_ORDER[sort_by]
    order = (column.desc(), Job.id.desc()) if descending else (column.asc(), Job.id.asc())
    return list(session.scalars(query.order_by(*order).offset(offset).limit(limit)))


def first_team_of_job(session: Session, job_id: int) -> str | None:
    return session.scalar(
        select(Team.name)
        .join(JobTeam, JobTeam.team_id == Team.id)
        .where(JobTeam.job_id == job_id)
        .order_by(Team.name)
        .limit(1)
    )


# -- work teams -----------------------------------------------------------------------------

TEAM_ORDER = {"Name": Team.name, "CreateDate": Team.created_at}


def list_teams(
    session: Session,
    *,
    name_contains: str | None,
    sort_by: str,
    descending: bool,
    offset: int,
    limit: int,
) -> list[Team]:
    query: Select[Any] = select(Team)
    if name_contains:
        query = query.where(func.lower(Team.name).contains(name_contains.lower(), autoescape=True))
    column = TEAM_ORDER[sort_by]
    order = (column.desc(), Team.id.desc()) if descending else (column.asc(), Team.id.asc())
    return list(session.scalars(query.order_by(*order).offset(offset).limit(limit)))


def team_named(session: Session, name: str) -> Team | None:
    return session.scalar(select(Team).where(Team.name == name))


def member_count(session: Session, team_id: int) -> int:
    return int(session.scalar(select(func.count()).where(TeamMember.team_id == team_id)) or 0)
