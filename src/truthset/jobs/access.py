"""Who sees which job: staff see every job, a worker the jobs of their teams."""

from __future__ import annotations

from sqlalchemy.orm import Session

from truthset.jobs import repository
from truthset.store.models import Job, User


def is_staff(user: User) -> bool:
    return user.role in ("admin", "requester")


def can_see_job(session: Session, job: Job, user: User) -> bool:
    if is_staff(user):
        return True
    teams = repository.team_ids_of_job(session, job.id)
    return bool(teams & repository.team_ids_of_worker(session, user.id))


def visible_jobs(session: Session, user: User) -> list[Job]:
    if is_staff(user):
        return repository.all_jobs(session)
    team_ids = repository.team_ids_of_worker(session, user.id)
    if not team_ids:
        return []
    return repository.jobs_of_teams(session, team_ids)
