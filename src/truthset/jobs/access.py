"""Who sees which job: staff see every job, a worker the jobs of their teams."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from truthset.store.models import Job, JobTeam, TeamMember, User


def is_staff(user: User) -> bool:
    return user.role in ("admin", "requester")


def worker_team_ids(session: Session, user_id: int) -> set[int]:
    return set(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))


def can_see_job(session: Session, job: Job, user: User) -> bool:
    if is_staff(user):
        return True
    teams = set(session.scalars(select(JobTeam.team_id).where(JobTeam.job_id == job.id)))
    return bool(teams & worker_team_ids(session, user.id))


def visible_jobs(session: Session, user: User) -> list[Job]:
    if is_staff(user):
        return list(session.scalars(select(Job).order_by(Job.id)))
    team_ids = worker_team_ids(session, user.id)
    if not team_ids:
        return []
    return list(
        session.scalars(
            select(Job)
            .where(Job.id.in_(select(JobTeam.job_id).where(JobTeam.team_id.in_(team_ids))))
            .order_by(Job.id)
        )
    )
