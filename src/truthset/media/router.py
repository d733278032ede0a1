"""Serving item bytes to the browser: local files streamed, S3 objects by presigned URL.

Who may fetch an item's media follows who may see the item: admins and requesters every
item; a reviewer the items of jobs given to their teams (as the review routes); a worker
an item only once they were assigned one of its tasks.

Nothing served here may run as script in the app's origin: every response carries a
sandboxing Content-Security-Policy and `nosniff`, and only image, audio and video types a
labeling tool shows are served inline; anything else (HTML, SVG, an export written into
the media folder and imported back as an item) is sent as an opaque download.
"""

from __future__ import annotations

import mimetypes
import os

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from truthset.api.deps import CurrentUser, ReadSession, get_workspace
from truthset.errors import BadInput, NotFound
from truthset.media import repository
from truthset.media.storage import local_path_of, presigned_url

router = APIRouter(tags=["media"])

# Types a browser renders without running code. SVG is an image that can hold scripts.
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/tiff",
        "image/avif",
        "audio/mpeg",
        "audio/wav",
        "audio/x-wav",
        "audio/ogg",
        "audio/flac",
        "audio/x-flac",
        "audio/mp4",
        "audio/webm",
        "video/mp4",
        "video/webm",
        "video/ogg",
    }
)
MEDIA_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, max-age=3600",
}


@router.get("/items/{item_id}/media")
def item_media(item_id: int, request: Request, user: CurrentUser, session: ReadSession) -> Response:
    if user.role == "reviewer":
        allowed = repository.item_in_a_job_of_users_teams(session, user.id, item_id)
    else:
        allowed = user.role in ("admin", "requester") or repository.was_assigned_item(
            session, user.id, item_id
        )
    data = repository.item_data(session, item_id) if allowed else None
    if data is None:
        raise NotFound(f"item {item_id} not found")
    ref = orjson.loads(data).get("source-ref")
    if not isinstance(ref, str):
        raise BadInput(f"item {item_id} has inline text, not media")
    # The reference was checked against the allowed roots when the item was imported.
    ws = get_workspace(request)
    path = local_path_of(ref)
    if path is None:
        # Another origin (the object store) serves it: nothing runs in the app's origin.
        return RedirectResponse(presigned_url(ref, endpoint_url=ws.settings.s3_endpoint_url))
    real = os.path.realpath(path)
    if not os.path.isfile(real):
        raise NotFound(f"the file of item {item_id} is missing")
    media_type = mimetypes.guess_type(real)[0] or "application/octet-stream"
    if media_type in INLINE_TYPES:
        return FileResponse(real, media_type=media_type, headers=MEDIA_SECURITY_HEADERS)
    return FileResponse(
        real,
        media_type="application/octet-stream",
        filename=f"item-{item_id}{os.path.splitext(real)[1]}",
        content_disposition_type="attachment",
        headers=MEDIA_SECURITY_HEADERS,
    )
