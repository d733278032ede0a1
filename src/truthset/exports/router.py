"""Exports of a job's labels: start one as a background run (its progress and file are
the run's, under /api/runs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from truthset.api.deps import StaffUser, WriteSession, get_workspace
from truthset.exports.destinations import check_export_destination
from truthset.exports.formats import get_exporter
from truthset.exports.schemas import ExportRequest
from truthset.jobs import service as jobs_service
from truthset.runs import service as runs_service

router = APIRouter(tags=["exports"])


@router.post("/jobs/{name}/exports", status_code=202)
def start_export(
    name: str, body: ExportRequest, request: Request, user: StaffUser, session: WriteSession
) -> dict[str, Any]:
    job = jobs_service.get_job(session, name)
    get_exporter(body.format).check_job(job)
    if body.out is not None:
        check_export_destination(body.out, get_workspace(request).settings, from_api=True)
    run = runs_service.enqueue(
        session,
        "export",
        {
            "job": job.name,
            "format": body.format,
            "out": body.out,
            "labeled_only": body.labeled_only,
        },
        job_id=job.id,
        created_by=user.id,
    )
    return runs_service.run_as_dict(run)
