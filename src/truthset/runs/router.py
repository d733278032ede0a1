"""Background runs: list, show, cancel, download an export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from truthset.api.deps import ReadSession, StaffUser, get_workspace
from truthset.errors import NotFound
from truthset.media.storage import presigned_url
from truthset.runs import service
from truthset.runs.files import is_server_file

router = APIRouter(tags=["runs"])
# What an export file is, by its suffix (a manifest, CoNLL and the rest are lines of text).
DOWNLOAD_TYPES = {
    ".zip": "application/zip",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".rttm": "text/plain; charset=utf-8",
}


@router.get("/runs")
def list_runs(
    _user: StaffUser,
    session: ReadSession,
    limit: int = Query(50, ge=1, le=1000),
    job_id: int | None = None,
) -> list[dict[str, Any]]:
    return [service.run_as_dict(r) for r in service.list_runs(session, limit=limit, job_id=job_id)]


@router.get("/runs/{run_id}")
def get_run(
    run_id: int, request: Request, _user: StaffUser, session: ReadSession
) -> dict[str, Any]:
    data_dir = get_workspace(request).settings.data_dir
    return service.run_as_dict(service.get_run(session, run_id), data_dir)


@router.post("/runs/{run_id}/cancel")
def cancel_run(
    run_id: int, request: Request, _user: StaffUser, session: ReadSession
) -> dict[str, Any]:
    """A queued run is cancelled; a running one is asked to stop (`cancelling`) and ends
    `cancelled` at its next progress report, its writes rolled back."""
    ws = get_workspace(request)
    run = service.get_run(session, run_id)
    if ws.db.is_sqlite and run.state == "running":
        # The run may hold SQLite's write lock: a write here would wait for it to end.
        service.request_cancel_by_file(ws.settings.data_dir, run)
        return service.run_as_dict(run, ws.settings.data_dir)
    with ws.db.session_scope() as write:
        run = service.get_run(write, run_id)
        service.cancel(write, run)
        return service.run_as_dict(run)


@router.get(
    "/runs/{run_id}/download",
    response_class=FileResponse,
    responses={307: {"description": "the file is on S3: a presigned URL to it"}},
)
def download(run_id: int, request: Request, _user: StaffUser, session: ReadSession) -> Response:
    """An export run's file: streamed from this host's exports folder, or, written to the
    server's shared files prefix (TRUTHSET_FILES_PREFIX, a cluster), a redirect to a
    presigned URL of it. An export to a destination of the caller's own is not served."""
    run = service.get_run(session, run_id)
    out = (run.result or {}).get("out")
    if run.kind != "export" or run.state != "succeeded" or not out:
        raise NotFound(f"run {run_id} has no file to download")
    settings = get_workspace(request).settings
    if out.startswith("s3://"):
        if not is_server_file(settings, out):
            raise NotFound(f"run {run_id} wrote to {out}: read it there")
        return RedirectResponse(
            presigned_url(out, endpoint_url=settings.s3_endpoint_url), status_code=307
        )
    path = Path(out)
    if not path.exists():
        raise NotFound(f"the export file of run {run_id} is gone")
    media_type = DOWNLOAD_TYPES.get(path.suffix, "application/x-ndjson")
    return FileResponse(path, filename=path.name, media_type=media_type)
