"""Labeling jobs: create, watch, browse labels, stop/resume/delete, export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from truthset.api.deps import CurrentUser, ReadSession, StaffUser, WriteSession
from truthset.errors import BadInput, NotFound
from truthset.jobs import access as jobs_access
from truthset.jobs import charts as job_charts
from truthset.jobs import service, views
from truthset.jobs.schemas import JobCreate, JobUpdate, TeamAdd

router = APIRouter(tags=["jobs"])


def _visible_job(session: Any, name: str, user: Any) -> Any:
    job = service.get_job(session, name)
    if not jobs_access.can_see_job(session, job, user):
        raise NotFound(f"job {name!r} not found")
    return job


@router.get("/jobs")
def list_jobs(user: CurrentUser, session: ReadSession) -> list[dict[str, Any]]:
    staff = jobs_access.is_staff(user)
    return [
        views.job_summary(session, j, for_staff=staff)
        for j in jobs_access.visible_jobs(session, user)
    ]


@router.post("/jobs", status_code=201)
def create_job(body: JobCreate, user: StaffUser, session: WriteSession) -> dict[str, Any]:
    job = service.create_job(session, body, created_by=user.id)
    return views.job_summary(session, job, for_staff=True)


@router.get("/jobs/{name}")
def get_job(name: str, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    job = _visible_job(session, name, user)
    return views.job_summary(session, job, for_staff=jobs_access.is_staff(user))


@router.patch("/jobs/{name}")
def update_job(
    name: str, body: JobUpdate, _user: StaffUser, session: WriteSession
) -> dict[str, Any]:
    job = service.get_job(session, name)
    changes = body.model_dump(exclude_unset=True)
    for key in (
        "instructions",
        "task_time_limit",
        "task_availability",
        "max_concurrent_tasks",
        "settings",
    ):
        if key in changes and changes[key] is None:
            raise BadInput(f"{key} cannot be null")
    service.update_job(session, job, changes)
    return views.job_summary(session, job, for_staff=True)


@router.delete("/jobs/{name}/teams/{team}", status_code=204)
def remove_team(name: str, team: str, _user: StaffUser, session: WriteSession) -> None:
    service.remove_team(session, service.get_job(session, name), team)


@router.post("/jobs/{name}/stop")
def stop_job(name: str, _user: StaffUser, session: WriteSession) -> dict[str, Any]:
    job = service.stop_job(session, service.get_job(session, name))
    return views.job_summary(session, job, for_staff=True)


@router.post("/jobs/{name}/resume")
def resume_job(name: str, _user: StaffUser, session: WriteSession) -> dict[str, Any]:
    job = service.resume_job(session, service.get_job(session, name))
    return views.job_summary(session, job, for_staff=True)


@router.delete("/jobs/{name}", status_code=204)
def delete_job(name: str, _user: StaffUser, session: WriteSession) -> None:
    service.delete_job(session, service.get_job(session, name))


@router.post("/jobs/{name}/teams", status_code=201)
def add_team(name: str, body: TeamAdd, _user: StaffUser, session: WriteSession) -> dict[str, Any]:
    job = service.get_job(session, name)
    service.add_team(session, job, body.team)
    return views.job_summary(session, job, for_staff=True)


@router.get("/jobs/{name}/labels")
def list_labels(
    name: str,
    _user: StaffUser,
    session: ReadSession,
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
    after: int | None = Query(None, ge=1, description="a row's task_id: the page after it"),
    label: str | None = None,
    human: bool | None = None,
    max_confidence: float | None = Query(None, ge=0, le=1),
    status: str | None = None,
) -> list[dict[str, Any]]:
    """The job's items with their labels, in import order. Page through a large job with
    ``after`` (the last row's ``task_id``): an ``offset`` reads every row before it."""
    job = service.get_job(session, name)
    return views.list_labels(
        session,
        job,
        offset=offset,
        limit=limit,
        after=after,
        label=label,
        human=human,
        max_confidence=max_confidence,
        status=status,
    )


@router.get("/jobs/{name}/items/{item}")
def item_detail(name: str, item: str, _user: StaffUser, session: ReadSession) -> dict[str, Any]:
    return views.item_detail(session, service.get_job(session, name), item)


@router.get("/jobs/{name}/workers")
def workers(name: str, _user: StaffUser, session: ReadSession) -> list[dict[str, Any]]:
    return views.worker_table(session, service.get_job(session, name))


@router.get("/jobs/{name}/activity")
def activity(
    name: str,
    _user: StaffUser,
    session: ReadSession,
    worker: str | None = None,
    offset: int = Query(0, ge=0),
    limit: int = Query(1000, ge=1, le=10000),
) -> list[dict[str, Any]]:
    return views.activity(
        session, service.get_job(session, name), worker=worker, limit=limit, offset=offset
    )


@router.get("/jobs/{name}/prelabeling")
def prelabeling(name: str, _user: StaffUser, session: ReadSession) -> dict[str, Any]:
    """Time per answer with and without a model's prediction shown, and how many answers
    kept the prediction unchanged."""
    return views.prelabel_report(session, service.get_job(session, name))


@router.get("/jobs/{name}/throughput")
def throughput(
    name: str, _user: StaffUser, session: ReadSession, bucket: int = Query(60, ge=1, le=86400)
) -> list[dict[str, Any]]:
    return views.throughput(session, service.get_job(session, name), bucket_seconds=bucket)


@router.get("/jobs/{name}/charts")
def charts(name: str, _user: StaffUser, session: ReadSession) -> dict[str, Any]:
    """Progress with an estimated finish, label distribution, worker agreement over time and
    the confusion matrix, each from a bounded window of the job's newest rows."""
    return job_charts.job_charts(session, service.get_job(session, name))
