"""Read-only endpoints the browser UI needs beyond the core API (mounted under /api/ui)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import text

from truthset.api.deps import CurrentUser, ReadSession, StaffUser
from truthset.errors import Forbidden, NotFound
from truthset.jobs import access as jobs_access
from truthset.jobs import service as jobs_service
from truthset.jobs import views
from truthset.store.raw import stored_json
from truthset.web.tool_settings import confirm_empty_answer

router = APIRouter(prefix="/api/ui", tags=["ui"])


def _short_instructions(job: Any) -> str:
    settings = job.settings or {}
    short = settings.get("short_instructions")
    if isinstance(short, str):
        return short
    config = job.label_config if isinstance(job.label_config, dict) else {}
    gt = config.get("instructions") if isinstance(config.get("instructions"), dict) else {}
    value = gt.get("shortInstruction") if gt else None
    return value if isinstance(value, str) else ""


@router.get("/jobs/{name}/instructions")
def job_instructions(name: str, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    """What a worker reads beside the tool: short instructions, the full Markdown, and the
    origins from which the instructions may load example images."""
    job = jobs_service.get_job(session, name)
    if not jobs_access.can_see_job(session, job, user):
        raise NotFound(f"job {name!r} not found")
    settings = job.settings or {}
    origins = settings.get("instruction_image_origins") or []
    return {
        "job": job.name,
        "short": _short_instructions(job),
        "full": job.instructions or "",
        "allowed_image_origins": [o for o in origins if isinstance(o, str)],
        "min_box_size": settings.get("min_box_size", 4),
        "confirm_empty_answer": confirm_empty_answer(settings),
    }


@router.get("/jobs/{name}/items/{item}/media-url")
def item_media_url(name: str, item: str, _user: StaffUser, session: ReadSession) -> dict[str, Any]:
    """Where the console loads an item's image or audio (the core media endpoint takes the
    internal item id, which the label and item views do not show)."""
    row = jobs_service.job_item(session, jobs_service.get_job(session, name), item)
    data = stored_json(row.data)
    has_media = isinstance(data, dict) and "source-ref" in data
    return {"media_url": f"/api/items/{row.item_id}/media" if has_media else None}


@router.get("/jobs/{name}/labels")
def labels_page(
    name: str,
    _user: StaffUser,
    session: ReadSession,
    limit: int = Query(50, ge=1, le=500),
    after: int | None = Query(None, ge=1, description="the page after this task (a row's task_id)"),
    before: int | None = Query(None, ge=1, description="the page before this task"),
    label: str | None = None,
    human: bool | None = None,
    max_confidence: float | None = Query(None, ge=0, le=1),
    status: str | None = None,
    disagreement: bool = False,
) -> dict[str, Any]:
    """The console's item browser: the core label list with each item's media URL, and a
    `disagreement` filter (items whose workers gave different answers), paged by cursor
    (``after`` / ``before`` of the answer) so that a page of a million-item job reads only
    its own rows (jobs/views.labels_page)."""
    job = jobs_service.get_job(session, name)
    return views.labels_page(
        session,
        job,
        limit=limit,
        after=after,
        before=before,
        label=label,
        human=human,
        max_confidence=max_confidence,
        status=status,
        disputed=disagreement,
    )


@router.get("/jobs/{name}/review/items/{item}")
def review_context(name: str, item: str, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    """What the review page needs beyond ``review/next``'s answer to load the job's tool:
    the item's media URL, the consolidated label as the tool's initial value, and for
    verification and adjustment jobs the input job's label. Staff may ask for any item; a
    reviewer only for the item they hold a live review lease on."""
    if user.role not in ("admin", "requester", "reviewer"):
        raise Forbidden("this needs the reviewer role")
    job = jobs_service.get_job(session, name)
    if not jobs_access.can_see_job(session, job, user):
        raise NotFound(f"job {name!r} not found")
    row = jobs_service.job_item(session, job, item)
    task_id, item_id, raw = row.task_id, row.item_id, row.data
    if not jobs_access.is_staff(user):
        held = session.execute(
            text(
                "SELECT 1 FROM review_leases WHERE task_id = :t AND reviewer_id = :u "
                "AND status = 'leased' AND deadline > :now"
            ),
            {"t": task_id, "u": user.id, "now": time.time()},
        ).first()
        if held is None:
            raise NotFound(f"item {item!r} is not leased to you for review")
    data = stored_json(raw)
    has_media = isinstance(data, dict) and "source-ref" in data
    return {
        "item": item,
        "media_url": f"/api/items/{item_id}/media" if has_media else None,
        "label": views.label_for_tool(session, job.id, item_id),
        "input_label": views.label_for_tool(session, job.input_job_id, item_id)
        if job.input_job_id is not None
        else None,
    }
