"""Quality control over HTTP: gold items, job-level consolidation, agreement, review."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from truthset.api.deps import CurrentUser, ReadSession, StaffUser, WriteSession
from truthset.errors import Forbidden
from truthset.jobs.service import get_job
from truthset.quality import service
from truthset.runs import service as runs_service

router = APIRouter(tags=["quality"])


class GoldItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: str
    answer: Any


class GoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[GoldItem] = Field(max_length=100_000)


class ConsolidateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: str | None = None
    wait: bool = False


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: Any


@router.post("/jobs/{name}/gold", status_code=201)
def add_gold(
    name: str, body: GoldRequest, _user: StaffUser, session: WriteSession
) -> dict[str, Any]:
    job = get_job(session, name)
    return service.add_gold(
        session, job, [(i + 1, g.item, g.answer) for i, g in enumerate(body.items)]
    )


@router.post("/jobs/{name}/consolidate", status_code=202)
def consolidate(
    name: str, body: ConsolidateRequest, user: StaffUser, session: WriteSession
) -> dict[str, Any]:
    job = get_job(session, name)
    if body.wait:
        return {"run": None, "result": service.reconsolidate_job(session, job, method=body.method)}
    run = runs_service.enqueue(
        session,
        "consolidate",
        {"job": job.name, "method": body.method},
        job_id=job.id,
        created_by=user.id,
    )
    return {"run": runs_service.run_as_dict(run), "result": None}


@router.get("/jobs/{name}/agreement")
def agreement(name: str, _user: StaffUser, session: ReadSession) -> dict[str, Any]:
    return service.agreement_report(session, get_job(session, name))


def _require_reviewer(user: Any) -> None:
    if user.role not in ("admin", "requester", "reviewer"):
        raise Forbidden("this needs the reviewer role")


@router.post("/jobs/{name}/review/next", responses={204: {"description": "nothing to review"}})
def review_next(
    name: str,
    user: CurrentUser,
    session: ReadSession,
    response: Response,
    max_confidence: float = Query(0.7, ge=0, le=1),
) -> dict[str, Any] | None:
    _require_reviewer(user)
    item = service.next_for_review(session, get_job(session, name), max_confidence=max_confidence)
    if item is None:
        response.status_code = 204
    return item


@router.post("/jobs/{name}/review/items/{item}")
def review(
    name: str, item: str, body: ReviewRequest, user: CurrentUser, session: WriteSession
) -> dict[str, Any]:
    _require_reviewer(user)
    return service.review_item(session, get_job(session, name), item, body.answer)
