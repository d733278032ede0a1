"""The SageMaker operations truthset answers, each a function of a session, the caller
and the operation's (model-checked) parameters, returning the operation's output."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from truthset.errors import BadInput, Forbidden, NotFound
from truthset.jobs import access as jobs_access
from truthset.jobs import repository as jobs_repository
from truthset.jobs import service as jobs_service
from truthset.sagemaker import repository, views
from truthset.sagemaker.request import team_of
from truthset.sagemaker.service import (
    check_can_change_jobs,
    create_from_request,
    filters_fingerprint,
)
from truthset.store.models import User
from truthset.workspace import Workspace

DEFAULT_PAGE = 10


@dataclass(frozen=True)
class Caller:
    """Who calls (a transient User: id, role, name), from where, in which region."""

    user: User
    region: str
    host: str
    workspace: Workspace


def _time(value: Any) -> float | None:
    if value is None:
        return None
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def _page(params: dict[str, Any]) -> tuple[int, int]:
    """(offset, limit) from NextToken and MaxResults; a token of other filters is refused."""
    limit = int(params.get("MaxResults") or DEFAULT_PAGE)
    token = params.get("NextToken")
    if not token:
        return 0, limit
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        offset, fingerprint = int(decoded["offset"]), decoded["filters"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeEncodeError):
        raise BadInput("NextToken is not a token this call gave") from None
    if fingerprint != filters_fingerprint(params) or offset < 0:
        raise BadInput("NextToken belongs to a call with other filters or order")
    return offset, limit


def _next_token(params: dict[str, Any], offset: int, limit: int, got: int) -> dict[str, str]:
    if got < limit:
        return {}
    payload = {"offset": offset + limit, "filters": filters_fingerprint(params)}
    return {"NextToken": base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()}


def _visible_job(session: Session, caller: Caller, name: str) -> Any:
    job = jobs_repository.job_named(session, name)
    if job is None or not jobs_access.can_see_job(session, job, caller.user):
        raise NotFound(f"Could not find labeling job {name!r}")
    return job


def create_labeling_job(session: Session, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    check_can_change_jobs(caller.user.role)
    ws = caller.workspace
    created = create_from_request(
        session,
        params,
        roots=ws.roots(),
        allowed_roots=ws.allowed_roots,
        endpoint_url=ws.settings.s3_endpoint_url,
        created_by=caller.user.id,
        region=caller.region,
    )
    return {"LabelingJobArn": created.job.settings["sagemaker"]["arn"]}


def describe_labeling_job(
    session: Session, caller: Caller, params: dict[str, Any]
) -> dict[str, Any]:
    job = _visible_job(session, caller, params["LabelingJobName"])
    return views.describe_job(session, job, region=caller.region)


def stop_labeling_job(session: Session, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    check_can_change_jobs(caller.user.role)
    job = _visible_job(session, caller, params["LabelingJobName"])
    jobs_service.stop_job(session, job)
    return {}


def list_labeling_jobs(session: Session, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    offset, limit = _page(params)
    status = params.get("StatusEquals")
    jobs = repository.list_jobs(
        session,
        visible_to_worker=None if jobs_access.is_staff(caller.user) else caller.user.id,
        name_contains=params.get("NameContains"),
        states=(views.STATES[status],) if status else None,
        created_after=_time(params.get("CreationTimeAfter")),
        created_before=_time(params.get("CreationTimeBefore")),
        modified_after=_time(params.get("LastModifiedTimeAfter")),
        modified_before=_time(params.get("LastModifiedTimeBefore")),
        sort_by=params.get("SortBy") or "CreationTime",
        descending=params.get("SortOrder") == "Descending",
        offset=offset,
        limit=limit,
    )
    return {
        "LabelingJobSummaryList": [
            views.job_summary(session, job, region=caller.region) for job in jobs
        ],
        **_next_token(params, offset, limit, len(jobs)),
    }


def list_workteams(session: Session, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    _check_staff(caller)
    offset, limit = _page(params)
    teams = repository.list_teams(
        session,
        name_contains=params.get("NameContains"),
        sort_by=params.get("SortBy") or "CreateDate",
        descending=params.get("SortOrder") == "Descending",
        offset=offset,
        limit=limit,
    )
    return {
        "Workteams": [
            views.describe_team(session, team, region=caller.region, host=caller.host)
            for team in teams
        ],
        **_next_token(params, offset, limit, len(teams)),
    }


def list_labeling_jobs_for_workteam(
    session: Session, caller: Caller, params: dict[str, Any]
) -> dict[str, Any]:
    """The jobs a work team works on, as a worker portal lists them."""
    _check_staff(caller)
    offset, limit = _page(params)
    name = team_of(params["WorkteamArn"])
    team = repository.team_named(session, name)
    if team is None:
        raise NotFound(f"Could not find work team {name!r}")
    jobs = repository.list_jobs(
        session,
        visible_to_worker=None,
        name_contains=None,
        states=None,
        created_after=_time(params.get("CreationTimeAfter")),
        created_before=_time(params.get("CreationTimeBefore")),
        modified_after=None,
        modified_before=None,
        sort_by="CreationTime",
        descending=params.get("SortOrder") == "Descending",
        offset=0,
        limit=1_000_000,
        of_team=team.id,
    )
    wanted = params.get("JobReferenceCodeContains")
    summaries = [views.job_for_workteam(session, job, region=caller.region) for job in jobs]
    if wanted:
        summaries = [s for s in summaries if wanted in s["JobReferenceCode"]]
    page = summaries[offset : offset + limit]
    return {"LabelingJobSummaryList": page, **_next_token(params, offset, limit, len(page))}


def describe_workteam(session: Session, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    _check_staff(caller)
    name = params["WorkteamName"]
    team = repository.team_named(session, name)
    if team is None:
        raise NotFound(f"Could not find work team {name!r}")
    return {"Workteam": views.describe_team(session, team, region=caller.region, host=caller.host)}


def _check_staff(caller: Caller) -> None:
    if not jobs_access.is_staff(caller.user):
        raise Forbidden("only an admin or requester can see the work teams")


@dataclass(frozen=True)
class Operation:
    run: Callable[[Session, Caller, dict[str, Any]], dict[str, Any]]
    writes: bool


OPERATIONS: dict[str, Operation] = {
    "CreateLabelingJob": Operation(create_labeling_job, writes=True),
    "DescribeLabelingJob": Operation(describe_labeling_job, writes=False),
    "ListLabelingJobs": Operation(list_labeling_jobs, writes=False),
    "StopLabelingJob": Operation(stop_labeling_job, writes=True),
    "ListLabelingJobsForWorkteam": Operation(list_labeling_jobs_for_workteam, writes=False),
    "ListWorkteams": Operation(list_workteams, writes=False),
    "DescribeWorkteam": Operation(describe_workteam, writes=False),
}
