"""The worker's API: next task, heartbeat, submit, decline, release."""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Response

from truthset.api.deps import CurrentUser, ReadSession, get_db
from truthset.jobs import snapshot as jobs_snapshot
from truthset.jobs.views import label_for_tool
from truthset.tasktypes import get_task_type
from truthset.tasktypes.predictions import item_prediction
from truthset.work import answers, drafts, leases, repository
from truthset.work.schemas import SubmitRequest

router = APIRouter(tags=["work"])
Db = Annotated[Any, Depends(get_db)]


def _item_view(item_id: int, external_id: str, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": external_id, "data": data}
    if "source-ref" in data:
        out["media_url"] = f"/api/items/{item_id}/media"
    return out


@router.post(
    "/jobs/{name}/next",
    responses={200: {"description": "a leased task"}, 204: {"description": "no task for you now"}},
    response_class=Response,
)
async def next_task(
    name: str,
    user: CurrentUser,
    db: Db,
    ahead: Annotated[
        bool,
        Query(
            description="lease one task beyond the one on screen (the task page's prefetch): "
            "allowed one lease over max_leases_per_worker; never answers with the task "
            "already held on screen"
        ),
    ] = False,
) -> Response:
    # Served by truthset.work.hot_routes in the running app; this route documents it and
    # serves requests the hot path leaves alone.
    body = await db.run_write(lambda session: next_task_body(session, name, user, ahead=ahead))
    if body is None:
        return Response(status_code=204)
    return Response(orjson.dumps(body), media_type="application/json")


def next_task_body(
    session: Any, name: str, user: Any, *, ahead: bool = False
) -> dict[str, Any] | None:
    """Lease the worker's next task of a job; the response body, or None for 204."""
    job = jobs_snapshot.job_view(session, name)
    started = time.time()
    leased = leases.lease_next_task(session, job, user, ahead=ahead)
    if leased is None:
        return None
    task_type = get_task_type(job.task_type)
    config = task_type.parse_label_config(job.label_config)
    # Gold items are served exactly like other items: the worker cannot tell them apart.
    body = {
        "assignment_id": leased.assignment_id,
        "job": job.name,
        "task_type": job.task_type,
        "ui_module": task_type.ui_module,
        "media": task_type.media,
        "labels": list(config.labels),
        "label_config": job.label_config,
        "deadline": leased.deadline,
        "leased_at": leased.leased_at,
        "time_limit": job.task_time_limit,
        "item": _item_view(leased.item_id, leased.item_external_id, leased.item),
        "prediction": item_prediction(task_type, leased.item, job.label_attribute, config),
        "prior_label": _prior_label(session, job, leased.item_id),
        # Only a lease made by an earlier request (handed back again) can hold a draft:
        # a new lease costs no query for it.
        "draft": drafts.saved_draft(session, leased.assignment_id)
        if leased.leased_at < started
        else None,
    }
    if leased.returned_answer is not None:
        # A reviewer returned the item to this worker: their tool starts from their own
        # answer, as from a pre-label, to correct what the reviewer's comment says.
        body["prediction"] = leased.returned_answer
        body["returned"] = True
    if _has_click_model(job.settings):
        body["assist_model"] = True  # tools/assist.js asks the job's own segmenter
    tool_settings = getattr(task_type, "tool_settings", None)
    if tool_settings is not None:  # the job settings its tool follows (audio segments)
        body["tool_settings"] = tool_settings(job.settings)
    if getattr(task_type, "serves_template_page", False):
        # A custom job's tool shows its rendered template (truthset.templates.router).
        body["template_url"] = f"/api/assignments/{leased.assignment_id}/task.html"
    return body


def _has_click_model(settings: Any) -> bool:
    """Whether the job names its own Segment-Anything-style model (`settings.prelabel.onnx`
    of kind `sam`, checked when the settings were set: docs/onnx-models.md), which the
    segmentation tools' click mode then asks (autolabel/onnx_router.py)."""
    block = settings.get("prelabel") if isinstance(settings, dict) else None
    onnx = block.get("onnx") if isinstance(block, dict) else None
    return isinstance(onnx, dict) and onnx.get("kind") == "sam"


def _prior_label(session: Any, job: Any, item_id: int) -> dict[str, Any] | None:
    """For verification and adjustment jobs: the input job's label of this item."""
    if job.input_job_id is None:
        return None
    return label_for_tool(session, job.input_job_id, item_id)


@router.post("/assignments/{assignment_id}/heartbeat")
def heartbeat(assignment_id: int, user: CurrentUser, db: Db) -> dict[str, Any]:
    with db.session_scope() as session:
        return leases.heartbeat(session, assignment_id, user)


@router.post(
    "/assignments/{assignment_id}/submit",
    response_class=Response,
    responses={200: {"description": "the answer is recorded (or was, on a retry)"}},
)
async def submit(assignment_id: int, body: SubmitRequest, user: CurrentUser, db: Db) -> Response:
    # Served by truthset.work.hot_routes in the running app, like next_task.
    out = await submit_durably(db, assignment_id, user, body)
    return Response(orjson.dumps(out), media_type="application/json")


async def submit_durably(db: Any, assignment_id: int, user: Any, body: SubmitRequest) -> dict:
    """Record an answer; returns once it is on disk (the response body)."""
    result = await db.run_write(
        lambda session: answers.submit_answer(
            session,
            assignment_id,
            user,
            body.answer,
            client_key=body.client_key,
            time_spent=body.time_spent,
        ),
        durable=True,
    )
    out: dict[str, Any] = {
        "answer_id": result.answer_id,
        "assignment_id": result.assignment_id,
        "submitted_at": result.submitted_at,
        "replayed": result.replayed,
    }
    if result.feedback is not None:
        out["feedback"] = result.feedback
    return out


@router.post("/assignments/{assignment_id}/decline", status_code=204)
def decline(assignment_id: int, user: CurrentUser, db: Db) -> None:
    with db.session_scope() as session:
        leases.decline(session, assignment_id, user)


@router.post("/assignments/{assignment_id}/release", status_code=204)
def release(assignment_id: int, user: CurrentUser, db: Db) -> None:
    with db.session_scope() as session:
        leases.release(session, assignment_id, user)


@router.get("/me/assignments")
def my_assignments(user: CurrentUser, session: ReadSession) -> list[dict[str, Any]]:
    rows = repository.leased_assignments(session, user.id)
    return [{"assignment_id": a, "job": j, "deadline": d, "leased_at": la} for a, j, d, la in rows]


@router.get("/me/stats")
def my_stats(user: CurrentUser, session: ReadSession) -> list[dict[str, Any]]:
    rows = repository.answer_totals(session, user.id)
    return [{"job": j, "answers": n, "time_spent": round(float(t), 1)} for j, n, t in rows]
