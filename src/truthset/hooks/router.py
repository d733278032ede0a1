"""HTTP of the hooks: the consolidation payload behind its signed URL (read by a hook, so
no account: the signature is the credential), a job's webhook delivery log and the items
its hooks failed (staff)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query, Request, Response

from truthset.api.deps import ReadSession, StaffUser, get_workspace
from truthset.hooks import repository
from truthset.hooks.payloads import read_payload
from truthset.hooks.webhooks import delivery_as_dict
from truthset.jobs.service import get_job

router = APIRouter(tags=["hooks"])


@router.get("/hooks/payloads/{name}")
def consolidation_payload(
    name: str, request: Request, expires: int = Query(...), signature: str = Query(...)
) -> Response:
    data = read_payload(get_workspace(request).settings, name, expires, signature, time.time())
    return Response(data, media_type="application/json")


@router.get("/jobs/{name}/webhook-deliveries")
def webhook_deliveries(
    name: str,
    _user: StaffUser,
    session: ReadSession,
    limit: int = Query(100, ge=1, le=1000),
    before: int | None = Query(None, description="only deliveries with a smaller id"),
) -> list[dict[str, Any]]:
    job = get_job(session, name)
    rows = repository.deliveries_of_job(session, job.id, limit=limit, before=before)
    return [delivery_as_dict(d, e) for d, e in rows]


@router.get("/jobs/{name}/hook-failures")
def hook_failures(
    name: str,
    _user: StaffUser,
    session: ReadSession,
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """The job's items a pre- or post-annotation hook failed, with the reason, in item order."""
    job = get_job(session, name)
    return [
        {"item": row.external_id, "hook": row.hook, "reason": row.reason, "at": row.at}
        for row in repository.failures_of_job(session, job.id, limit=limit)
    ]
