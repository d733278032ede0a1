"""Mask PNGs for the item, review and job pages (HTTP only; the rules are in masks.py).

Served as the media route serves images: a sandboxing Content-Security-Policy and
`nosniff`, never cached without asking again (a review or a new consolidation replaces a
label's mask under the same URL), with an ETag so asking again costs a 304.
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import Response

from truthset.api.deps import CurrentUser, ReadSession
from truthset.exports import masks
from truthset.media.router import MEDIA_SECURITY_HEADERS

router = APIRouter(tags=["exports"])
# Item ids may hold `/` (`img/0`): the item is the path up to the route's last parts, so
# the answer route, the longer, is matched first.


def _png(request: Request, png: bytes) -> Response:
    etag = '"' + hashlib.blake2b(png, digest_size=16).hexdigest() + '"'
    headers = {**MEDIA_SECURITY_HEADERS, "Cache-Control": "private, no-cache", "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(png, media_type="image/png", headers=headers)


@router.get("/jobs/{name}/items/{item:path}/answers/{worker}/mask")
def answer_mask(
    name: str, item: str, worker: str, request: Request, user: CurrentUser, session: ReadSession
) -> Response:
    """The PNG a worker painted for the item (their latest answer's `labeledImage`)."""
    return _png(request, masks.answer_mask(session, name, item, worker, user))


@router.get("/jobs/{name}/items/{item:path}/mask")
def label_mask(
    name: str, item: str, request: Request, user: CurrentUser, session: ReadSession
) -> Response:
    """The job's label of the item as a PNG (the consolidated, reviewed or imported mask:
    a palette PNG whose colours are the label metadata's `internal-color-map`)."""
    return _png(request, masks.label_mask(session, name, item, user))
