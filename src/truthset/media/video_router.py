"""A frame sequence item to the video player: the sequence's facts and each frame's bytes.

The item's `source-ref` is a Ground Truth sequence file (`media.sequences`). Who may read
it follows `/api/items/{id}/media` (`media.router._media_ref`). Frames are read from the
server's allowed roots only (the file and every frame it names), whatever an import once
allowed, and served through the app, not by redirect, so each answer carries an ETag: the
player prefetches frames around the current one and a revalidation costs a 304.
"""

from __future__ import annotations

import hashlib
import mimetypes

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from truthset.api.deps import CurrentUser, ReadSession, get_workspace
from truthset.errors import BadInput, NotFound
from truthset.media import sequences
from truthset.media.info import UnreadableMedia, image_size
from truthset.media.router import INLINE_TYPES, MEDIA_SECURITY_HEADERS, _media_ref

router = APIRouter(tags=["media"])

# Frames of a sequence never change under a job, but a file replaced in place must show:
# a day in the browser's cache, then revalidated by ETag.
FRAME_CACHE_CONTROL = "private, max-age=86400"
SEQUENCE_CACHE_CONTROL = "private, max-age=60"


def sequence_of_item(
    item_id: int, request: Request, user: CurrentUser, session: ReadSession
) -> sequences.Sequence:
    """The item's sequence when the user may see its media (NotFound otherwise)."""
    ref = _media_ref(item_id, user, session)
    ws = get_workspace(request)
    try:
        return sequences.load_sequence(
            ref, roots=ws.roots(), endpoint_url=ws.settings.s3_endpoint_url
        )
    except NotFound:
        raise NotFound(f"the sequence file of item {item_id} is missing") from None
    except BadInput as exc:
        raise BadInput(f"item {item_id}: {exc.detail}") from None


def _etag(*parts: object) -> str:
    return '"' + hashlib.sha1(repr(parts).encode()).hexdigest()[:20] + '"'


def _not_modified(request: Request, etag: str) -> bool:
    sent = request.headers.get("if-none-match") or ""
    return sent.strip() == "*" or etag in [t.strip() for t in sent.split(",")]


@router.get("/items/{item_id}/sequence")
def item_sequence(
    item_id: int, request: Request, user: CurrentUser, session: ReadSession
) -> Response:
    """The frames in the order Ground Truth shows them (index = place in that order), the
    frame rate and the first frame's size."""
    seq = sequence_of_item(item_id, request, user, session)
    endpoint = get_workspace(request).settings.s3_endpoint_url
    width: int | None
    height: int | None
    try:
        width, height = image_size(seq.frames[0].ref, endpoint_url=endpoint)
    except UnreadableMedia:
        width = height = None
    body = {
        "number-of-frames": seq.number_of_frames,
        "frame-rate": sequences.frame_rate(seq),
        "width": width,
        "height": height,
        "frames": [
            {
                "index": f.index,
                "frame-no": f.frame_no_given if f.frame_no_given is not None else f.frame_no,
                "frame": f.frame,
                "unix-timestamp": f.unix_timestamp,
            }
            for f in seq.frames
        ],
    }
    content = orjson.dumps(body)
    etag = _etag(hashlib.sha1(content).hexdigest())
    headers = {
        "ETag": etag,
        "Cache-Control": SEQUENCE_CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
    }
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(content, media_type="application/json", headers=headers)


def _parse_index(raw: str) -> int:
    try:
        index = int(raw)
    except ValueError:
        raise BadInput(f"index: {raw!r} is not a whole number") from None
    if index < 0:
        raise BadInput(f"index: {index} must be >= 0 (frames count from 0)")
    return index


@router.get("/items/{item_id}/frames/{index}")
def item_frame(
    item_id: int, index: str, request: Request, user: CurrentUser, session: ReadSession
) -> Response:
    """The image of frame `index` (0-based, in the sequence's sorted order)."""
    position = _parse_index(index)
    seq = sequence_of_item(item_id, request, user, session)
    if position >= seq.number_of_frames:
        raise NotFound(
            f"item {item_id} has {seq.number_of_frames} frames (0 to {seq.number_of_frames - 1})"
        )
    frame = seq.frames[position]
    media_type = mimetypes.guess_type(frame.frame)[0] or "application/octet-stream"
    headers = {**MEDIA_SECURITY_HEADERS, "Cache-Control": FRAME_CACHE_CONTROL}
    if media_type not in INLINE_TYPES:
        media_type = "application/octet-stream"
        headers["Content-Disposition"] = f'attachment; filename="item-{item_id}-frame-{position}"'
    endpoint = get_workspace(request).settings.s3_endpoint_url
    try:
        # A stat or an S3 HEAD: a revalidation reads no frame bytes.
        etag = _etag(sequences.frame_version(seq, position, endpoint_url=endpoint))
        headers["ETag"] = etag
        if _not_modified(request, etag):
            return Response(status_code=304, headers=headers)
        data = sequences.read_frame_bytes(seq, position, endpoint_url=endpoint)
    except NotFound:
        raise NotFound(f"frame {position} of item {item_id} ({frame.frame}) is missing") from None
    return Response(data, media_type=media_type, headers=headers)
