"""Quality control over HTTP: gold items, job-level consolidation, agreement, review."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from truthset.api.deps import CurrentUser, ReadSession, StaffUser, WriteSession, get_workspace
from truthset.errors import Forbidden, NotFound
from truthset.jobs.access import can_see_job
from truthset.jobs.service import get_job
from truthset.quality import comments, gold, review, review_accept, review_return, service
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
    # consolidated | empty | worker:<name>: where the reviewer's edit started.
    started_from: str | None = Field(None, max_length=120)
    comment: str | None = Field(None, max_length=comments.MAX_COMMENT)


class ReturnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field(max_length=comments.MAX_COMMENT)
    workers: list[str] | None = Field(None, max_length=1000)
    # How long the item waits for the workers it goes back to; 0: any worker at once.
    hold_hours: float = Field(review_return.DEFAULT_HOLD_HOURS, ge=0, le=24 * 365)


class AcceptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str | None = Field(None, max_length=comments.MAX_COMMENT)


class CommentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(max_length=comments.MAX_COMMENT)


@router.post("/jobs/{name}/gold", status_code=201)
def add_gold(
    name: str, body: GoldRequest, _user: StaffUser, session: WriteSession
) -> dict[str, Any]:
    job = get_job(session, name)
    return gold.add_gold(
        session, job, [(i + 1, g.item, g.answer) for i, g in enumerate(body.items)]
    )


@router.post("/jobs/{name}/consolidate", status_code=202)
def consolidate(
    name: str, body: ConsolidateRequest, request: Request, user: StaffUser, session: WriteSession
) -> dict[str, Any]:
    """Refit the job's labels from all its answers: an aggregator (Dawid-Skene, GLAD...) or
    ``crowdlab`` (the answers and a model's out-of-sample probabilities together)."""
    job = get_job(session, name)
    if body.wait:
        cache_dir = get_workspace(request).settings.data_dir / "autolabel"
        result = service.reconsolidate_job(session, job, method=body.method, cache_dir=cache_dir)
        # Kept as a finished run, as a background consolidation is, so that the job's
        # consolidation report shows the newest one however it was made.
        run = runs_service.enqueue(
            session,
            "consolidate",
            {"job": job.name, "method": body.method, "wait": True},
            job_id=job.id,
            created_by=user.id,
        )
        runs_service.finish(session, run.id, result=result)
        return {"run": run.id, "result": result}
    run = runs_service.enqueue(
        session,
        "consolidate",
        {"job": job.name, "method": body.method},
        job_id=job.id,
        created_by=user.id,
    )
    return {"run": runs_service.run_as_dict(run), "result": None}


@router.get("/jobs/{name}/consolidation")
def consolidation_report(name: str, _user: StaffUser, session: ReadSession) -> dict[str, Any]:
    """The job's newest job-level consolidation: the method chosen and why (for ``auto``,
    each candidate's held-out answer log-likelihood), calibration on gold where it exists."""
    return service.consolidation_report(session, get_job(session, name))


@router.get("/jobs/{name}/agreement")
def agreement(name: str, _user: StaffUser, session: ReadSession) -> dict[str, Any]:
    return service.agreement_report(session, get_job(session, name))


def _require_reviewer(user: Any) -> None:
    if user.role not in ("admin", "requester", "reviewer"):
        raise Forbidden("this needs the reviewer role")


def _reviewable_job(session: Any, name: str, user: Any) -> Any:
    """A reviewer reviews only the jobs of their teams (staff review any); other jobs are
    reported as missing, as the work routes do."""
    _require_reviewer(user)
    job = get_job(session, name)
    if not can_see_job(session, job, user):
        raise NotFound(f"job {name!r} not found")
    return job


@router.get("/jobs/{name}/review/queue")
def review_queue(
    name: str,
    user: CurrentUser,
    session: ReadSession,
    max_confidence: float | None = Query(None, ge=0, le=1),
) -> dict[str, Any]:
    """Items queued for review (low confidence; disputed when the job queues those), leased
    to reviewers now, and reviewed."""
    job = _reviewable_job(session, name, user)
    return review.review_queue(session, job, max_confidence=max_confidence)


@router.post("/jobs/{name}/review/next", responses={204: {"description": "nothing to review"}})
def review_next(
    name: str,
    user: CurrentUser,
    session: WriteSession,
    response: Response,
    max_confidence: float | None = Query(None, ge=0, le=1),
) -> dict[str, Any] | None:
    """Lease the next item of the review queue to the caller (see quality/review.py):
    the item's detail with every answer, plus ``review: {deadline, reason, confidence}``."""
    item = review.lease_next_review(
        session, _reviewable_job(session, name, user), user, max_confidence=max_confidence
    )
    if item is None:
        response.status_code = 204
    return item


@router.post("/jobs/{name}/review/items/{item}")
def review_submit(
    name: str, item: str, body: ReviewRequest, user: CurrentUser, session: WriteSession
) -> dict[str, Any]:
    """Set the item's final label. 409 when the caller does not hold its lease, 410 when
    the caller's lease expired; admins need no lease."""
    job = _reviewable_job(session, name, user)
    return review.review_item(
        session, job, item, body.answer, user, started_from=body.started_from, comment=body.comment
    )


@router.post("/jobs/{name}/review/items/{item}/accept")
def review_accept_item(
    name: str, item: str, body: AcceptRequest, user: CurrentUser, session: WriteSession
) -> dict[str, Any]:
    """Accept the item's label as it is (quality/review_accept.py)."""
    job = _reviewable_job(session, name, user)
    return review_accept.accept_item(session, job, item, user, comment=body.comment)


@router.post("/jobs/{name}/review/items/{item}/return")
def review_return_item(
    name: str, item: str, body: ReturnRequest, user: CurrentUser, session: WriteSession
) -> dict[str, Any]:
    """Reject the item's label and return it to its workers (all, or ``workers``) with a
    comment they see on their next task of it (quality/review_return.py)."""
    job = _reviewable_job(session, name, user)
    return review_return.return_item(
        session, job, item, user, body.comment, workers=body.workers, hold_hours=body.hold_hours
    )


@router.get("/jobs/{name}/items/{item}/comments")
def item_comments(name: str, item: str, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    """The item's review thread (quality/comments.py): comments and review decisions."""
    return comments.thread(session, get_job(session, name), item, user)


@router.post("/jobs/{name}/items/{item}/comments", status_code=201)
def add_item_comment(
    name: str, item: str, body: CommentRequest, user: CurrentUser, session: WriteSession
) -> dict[str, Any]:
    return comments.add_comment(session, get_job(session, name), item, user, body.body)


@router.get("/me/returned")
def returned_to_me(user: CurrentUser, session: ReadSession) -> list[dict[str, Any]]:
    """The items reviewers returned to the caller, newest first, with their comments."""
    return comments.returned_to_me(session, user)


@router.post("/jobs/{name}/review/items/{item}/release")
def review_release(
    name: str, item: str, user: CurrentUser, session: WriteSession
) -> dict[str, Any]:
    """Give a leased item back to the review queue."""
    return review.release_review(session, _reviewable_job(session, name, user), item, user)
