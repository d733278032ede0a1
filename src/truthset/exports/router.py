"""Exports of a job's labels: start one as a background run (its progress and file are
the run's, under /api/runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request

from truthset.api.deps import StaffUser, WriteSession, get_workspace
from truthset.errors import Forbidden
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
        ws = get_workspace(request)
        roots = ws.roots()
        roots.add(str(ws.settings.exports_dir))
        target = body.out if body.out.startswith("s3://") else str(Path(body.out).resolve())
        if not roots.allows(target):
            raise Forbidden(f"export destination {body.out!r} is outside the allowed roots")
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
