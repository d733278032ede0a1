"""HTTP of templates: a worker's rendered task page and the signed media grants.

The media grant route needs no session: the URL's signature is the permission, as an S3
presigned URL's is, because the sandboxed task page that loads it carries no credentials.
S3 objects are streamed through truthset rather than redirected to the object store, so
the page's `img-src` stays truthset's own origin.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse

from truthset.api.deps import CurrentUser, ReadSession, get_workspace
from truthset.errors import NotFound
from truthset.media.router import INLINE_TYPES, MEDIA_SECURITY_HEADERS
from truthset.media.storage import local_path_of, open_item_media
from truthset.templates import service
from truthset.templates.preview_router import router as preview_router
from truthset.templates.signing import check_grant, grant_key

router = APIRouter(tags=["templates"])
router.include_router(preview_router)  # the console's template preview (staff)


def origin_of(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/assignments/{assignment_id}/task.html", response_class=HTMLResponse)
def task_page(
    assignment_id: int, request: Request, user: CurrentUser, session: ReadSession
) -> Response:
    ws = get_workspace(request)
    origin = origin_of(request)
    page = service.task_page(
        session,
        assignment_id,
        user,
        roots=ws.roots(),
        grant_key=grant_key(ws.settings.data_dir),
        origin=origin,
    )
    return HTMLResponse(page, headers=service.page_headers(origin))


@router.get("/media/grant")
def media_grant(request: Request, ref: str, expires: str, signature: str) -> Response:
    ws = get_workspace(request)
    check_grant(grant_key(ws.settings.data_dir), ref, expires, signature)
    ws.roots().check(ref)  # roots may have shrunk since the grant was signed
    path = local_path_of(ref)
    media_type = mimetypes.guess_type(ref)[0] or "application/octet-stream"
    if media_type not in INLINE_TYPES:
        media_type = "application/octet-stream"
    headers = {
        **MEDIA_SECURITY_HEADERS,
        "Cache-Control": "private, max-age=600",
        # The template's frame has an opaque origin, so its reads are cross-origin: a
        # crowd element that decodes an earlier mask (crowd-semantic-segmentation's
        # initial-value src) must read the image's pixels back, which a canvas allows only
        # for a CORS-approved image. `*` is safe here: the response is the same for anyone
        # holding the URL, which needs no cookie or token (none is sent or honoured: `*`
        # never allows credentials), and the URL itself is the short-lived, signed
        # permission for one reference, so any page that can name it could already fetch it.
        "Access-Control-Allow-Origin": "*",
    }
    if path is not None:
        real = os.path.realpath(path)
        if not os.path.isfile(real):
            raise NotFound(f"{ref} is missing")
        return FileResponse(real, media_type=media_type, headers=headers)
    try:
        body = open_item_media(ref, endpoint_url=ws.settings.s3_endpoint_url)
    except Exception as exc:  # botocore's NoSuchKey and friends
        raise NotFound(f"{ref} cannot be read: {exc}") from None
    return StreamingResponse(_chunks(body), media_type=media_type, headers=headers)


def _chunks(body: Any) -> Iterator[bytes]:
    try:
        while chunk := body.read(256 * 1024):
            yield chunk
    finally:
        body.close()
