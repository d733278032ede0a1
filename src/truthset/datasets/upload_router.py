"""Media uploads from the browser (HTTP only; the rules are in `truthset.datasets.uploads`)."""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from truthset.api.deps import StaffUser, WriteSession, get_workspace
from truthset.audit.transactions import AUDITED
from truthset.datasets import uploads
from truthset.errors import BadInput

router = APIRouter(tags=["uploads"])
# A chunk is held in memory while it is written; the browser sends 8 MiB, under the
# server's body cap (api/body_limit: 10 MB by default).
MAX_CHUNK_BYTES = 8 << 20


class UploadCommit(BaseModel):
    uploads: list[str] = Field(..., description="ids of complete uploads to add as items")


@router.put("/uploads/{upload_id}")
async def put_chunk(
    upload_id: str,
    request: Request,
    user: StaffUser,
    name: str = Query(..., description="the file's name, as the browser has it"),
    size: int = Query(..., description="the whole file's size in bytes"),
    offset: int = Query(0, ge=0, description="where in the file this chunk starts"),
) -> dict[str, Any]:
    """Write one chunk of a file at `offset` (0 starts the upload). A 409 names the bytes
    the server holds when `offset` is not that number: resume from there."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_CHUNK_BYTES:
        raise BadInput(f"a chunk may be at most {MAX_CHUNK_BYTES:,} bytes, not {declared}")
    # Async to read the body as it streams in; the disk work runs in the thread pool.
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > MAX_CHUNK_BYTES:
            raise BadInput(f"a chunk may be at most {MAX_CHUNK_BYTES:,} bytes")
    # Uploads are audited once, when their files are added to a dataset (POST .../media,
    # in its transaction): an event of its own for each chunk was a write transaction per
    # file (a thousand per folder), which queued up behind each other on SQLite.
    request.scope.setdefault("state", {})[AUDITED] = True
    settings = get_workspace(request).settings
    state = await run_in_threadpool(
        uploads.write_chunk,
        settings,
        upload_id,
        user.id,
        name=name,
        size=size,
        offset=offset,
        body=io.BytesIO(body),
    )
    return state.as_dict()


@router.post("/uploads")
async def put_bundle(request: Request, user: StaffUser) -> dict[str, Any]:
    """Write several small files whole in one request: a line of JSON listing them
    (`upload`, `name`, `size`), then their bytes in that order. `files` answers each as
    PUT /uploads/{id} would (its state, or `error` and `received`); one file refused does
    not refuse the others."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_CHUNK_BYTES:
        raise BadInput(f"a bundle may be at most {MAX_CHUNK_BYTES:,} bytes, not {declared}")
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > MAX_CHUNK_BYTES:
            raise BadInput(f"a bundle may be at most {MAX_CHUNK_BYTES:,} bytes")
    request.scope.setdefault("state", {})[AUDITED] = True  # audited when added, as chunks
    settings = get_workspace(request).settings
    files = await run_in_threadpool(uploads.write_bundle, settings, user.id, bytes(body))
    return {"files": files}


@router.get("/uploads/{upload_id}")
def get_upload(upload_id: str, request: Request, user: StaffUser) -> dict[str, Any]:
    """How much of an upload the server holds."""
    settings = get_workspace(request).settings
    return uploads.upload_state(settings, upload_id, user.id).as_dict()


@router.delete("/uploads/{upload_id}", status_code=204)
def delete_upload(upload_id: str, request: Request, user: StaffUser) -> None:
    settings = get_workspace(request).settings
    uploads.upload_state(settings, upload_id, user.id)  # someone else's is not found
    uploads.discard(settings, upload_id)


@router.post("/datasets/{name}/media")
def add_uploads(
    name: str, body: UploadCommit, request: Request, user: StaffUser, session: WriteSession
) -> dict[str, Any]:
    """Add complete uploads to the dataset `name` (created when new) as items."""
    ws = get_workspace(request)
    return uploads.commit_uploads(
        session, ws.settings, ws.allowed_roots, name, body.uploads, user.id
    )


@router.get("/import-roots")
def import_roots(request: Request, _user: StaffUser) -> dict[str, Any]:
    """Where the server may import from: the media folder and the configured roots."""
    ws = get_workspace(request)
    return {
        "media_dir": str(ws.settings.media_dir),
        "roots": list(ws.settings.allowed_roots),
        "uploads_to": ws.settings.upload_prefix or str(ws.settings.media_dir / "uploads"),
        "setting": "TRUTHSET_ALLOWED_ROOTS (comma-separated folders and s3://bucket/prefix)",
    }
