"""Serving item bytes to the browser: local files streamed, S3 objects by presigned URL.

A worker may fetch an item's media only while it is part of a task they were assigned.
"""

from __future__ import annotations

import mimetypes
import os

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import text

from truthset.api.deps import CurrentUser, ReadSession, get_workspace
from truthset.errors import BadInput, NotFound
from truthset.media.storage import local_path_of, presigned_url

router = APIRouter(tags=["media"])


@router.get("/items/{item_id}/media")
def item_media(item_id: int, request: Request, user: CurrentUser, session: ReadSession) -> Response:
    if user.role not in ("admin", "requester", "reviewer"):
        allowed = session.execute(
            text(
                "SELECT 1 FROM assignments a JOIN tasks t ON t.id = a.task_id "
                "WHERE t.item_id = :i AND a.worker_id = :w LIMIT 1"
            ),
            {"i": item_id, "w": user.id},
        ).first()
        if allowed is None:
            raise NotFound(f"item {item_id} not found")
    data = session.execute(text("SELECT data FROM items WHERE id = :i"), {"i": item_id}).scalar()
    if data is None:
        raise NotFound(f"item {item_id} not found")
    ref = orjson.loads(data).get("source-ref")
    if not isinstance(ref, str):
        raise BadInput(f"item {item_id} has inline text, not media")
    # The reference was checked against the allowed roots when the item was imported.
    ws = get_workspace(request)
    path = local_path_of(ref)
    if path is None:
        return RedirectResponse(presigned_url(ref, endpoint_url=ws.settings.s3_endpoint_url))
    real = os.path.realpath(path)
    if not os.path.isfile(real):
        raise NotFound(f"the file of item {item_id} is missing")
    media_type = mimetypes.guess_type(real)[0] or "application/octet-stream"
    return FileResponse(
        real,
        media_type=media_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
