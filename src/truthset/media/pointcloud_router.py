"""The point cloud viewer's routes: an item's frames, a frame's points as float32, its
camera images, and fitting a cuboid to the points.

Who may read follows ``/api/items/{id}/media``: admins and requesters every item, a
reviewer the items of their teams' jobs, a worker an item they were assigned. Every file
a frame names (the frame, its camera images) must lie inside the server's allowed roots,
checked on each request: a sequence file or a frame's metadata can name files the
import never saw.

Answers carry an ETag (the file's version) and ``Cache-Control: private``, so the
viewer's second look at a frame costs a 304.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from truthset.api.deps import CurrentUser, ReadSession, get_workspace
from truthset.errors import BadInput, NotFound
from truthset.geometry import cuboids
from truthset.media import repository
from truthset.media.info import UnreadableMedia, image_size
from truthset.media.point_cloud_frames import FrameInfo, item_frames
from truthset.media.point_clouds import PointCloud, frame_summary, frame_version, read_points
from truthset.media.router import INLINE_TYPES, MEDIA_SECURITY_HEADERS, _media_ref
from truthset.media.storage import local_path_of, presigned_url

router = APIRouter(tags=["point clouds"])

CACHE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, max-age=3600",
}
MAX_STRIDE = 1000
SUMMARY_THREADS = 4


def _frames(
    item_id: int, request: Request, user: CurrentUser, session: ReadSession
) -> tuple[tuple[FrameInfo, ...], str | None]:
    _media_ref(item_id, user, session)  # the access rule of /media (NotFound otherwise)
    item = orjson.loads(repository.item_data(session, item_id))
    ws = get_workspace(request)
    endpoint = ws.settings.s3_endpoint_url
    try:
        return item_frames(item, roots=ws.roots(), endpoint_url=endpoint), endpoint
    except BadInput as exc:
        raise BadInput(f"item {item_id}: {exc.detail}") from None


def _frame(frames: tuple[FrameInfo, ...], item_id: int, k: int) -> FrameInfo:
    if not 0 <= k < len(frames):
        raise NotFound(f"item {item_id} has no frame {k} (it has {len(frames)}, from 0)")
    return frames[k]


def _etag(*parts: Any) -> str:
    return '"' + hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:32] + '"'


def _not_modified(request: Request, etag: str) -> Response | None:
    if etag in (request.headers.get("if-none-match") or ""):
        return Response(status_code=304, headers={**CACHE_HEADERS, "ETag": etag})
    return None


def _cloud(frame: FrameInfo, endpoint: str | None) -> PointCloud:
    return read_points(frame.ref, frame.format, endpoint_url=endpoint)


def _image_entry(image: Any, endpoint: str | None) -> dict[str, Any]:
    entry = image.calibration()
    # Without the size (an unreadable image) the viewer learns it when the image loads.
    with contextlib.suppress(UnreadableMedia):
        entry["width"], entry["height"] = image_size(image.ref, endpoint_url=endpoint)
    return entry


@router.get("/items/{item_id}/pointcloud")
def item_pointcloud(
    item_id: int, request: Request, user: CurrentUser, session: ReadSession
) -> Response:
    """The item's frames: their numbers, times, point counts and bounds, poses and
    cameras."""
    frames, endpoint = _frames(item_id, request, user, session)
    # A sequence's frames are looked at (stat / HEAD, and read the first time) a few at a
    # time: on S3 each is a request.
    with ThreadPoolExecutor(max_workers=min(SUMMARY_THREADS, len(frames))) as pool:
        summaries = list(
            pool.map(lambda f: frame_summary(f.ref, f.format, endpoint_url=endpoint), frames)
        )
    etag = _etag(
        "info", item_id, *(f"{f.ref}:{s.version}" for f, s in zip(frames, summaries, strict=True))
    )
    cached = _not_modified(request, etag)
    if cached is not None:
        return cached
    out = []
    for frame, summary in zip(frames, summaries, strict=True):
        low, high = summary.bounds
        entry: dict[str, Any] = {
            "index": frame.index,
            "frame-no": frame.frame_no if frame.frame_no is not None else frame.index,
            "unix-timestamp": frame.unix_timestamp,
            "point-count": summary.count,
            "has-rgb": summary.has_rgb,
            "bounds": {"min": low, "max": high},
            "images": [_image_entry(image, endpoint) for image in frame.images],
        }
        if frame.ego_pose is not None:
            entry["ego-vehicle-pose"] = frame.ego_pose.as_json()
        out.append(entry)
    return Response(
        orjson.dumps({"frames": out}),
        media_type="application/json",
        headers={**CACHE_HEADERS, "ETag": etag},
    )


def _stride(raw: str | None) -> int:
    if raw is None:
        return 1
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(f"stride: {raw!r} is not a whole number") from None
    if not 1 <= value <= MAX_STRIDE:
        raise BadInput(f"stride: {value} must be between 1 and {MAX_STRIDE}")
    return value


@router.get("/items/{item_id}/pointcloud/frames/{k}/points")
def frame_points(
    item_id: int,
    k: int,
    request: Request,
    user: CurrentUser,
    session: ReadSession,
    stride: str | None = None,
) -> Response:
    """Frame ``k``'s points: little-endian float32 x, y, z, intensity interleaved (16
    bytes a point); ``stride=n`` keeps every n-th point (a preview)."""
    step = _stride(stride)
    frames, endpoint = _frames(item_id, request, user, session)
    frame = _frame(frames, item_id, k)
    etag = _etag(
        "points", frame.ref, frame.format, frame_version(frame.ref, endpoint_url=endpoint), step
    )
    cached = _not_modified(request, etag)
    if cached is not None:
        return cached
    points = _cloud(frame, endpoint).points[::step]
    return Response(
        np.ascontiguousarray(points, dtype="<f4").tobytes(),
        media_type="application/octet-stream",
        headers={**CACHE_HEADERS, "ETag": etag, "X-Point-Count": str(len(points))},
    )


@router.get("/items/{item_id}/pointcloud/frames/{k}/images/{i}")
def frame_image(
    item_id: int, k: int, i: int, request: Request, user: CurrentUser, session: ReadSession
) -> Response:
    """Camera ``i`` of frame ``k``: the image file (S3 images by a presigned redirect)."""
    frames, endpoint = _frames(item_id, request, user, session)
    frame = _frame(frames, item_id, k)
    if not 0 <= i < len(frame.images):
        raise NotFound(f"frame {k} of item {item_id} has no camera {i} ({len(frame.images)})")
    ref = frame.images[i].ref
    path = local_path_of(ref)
    if path is None:
        return RedirectResponse(presigned_url(ref, endpoint_url=endpoint))
    real = os.path.realpath(path)
    if not os.path.isfile(real):
        raise NotFound(f"camera image {i} of frame {k} of item {item_id} is missing")
    media_type = mimetypes.guess_type(real)[0] or "application/octet-stream"
    if media_type not in INLINE_TYPES:
        raise BadInput(f"camera image {ref!r} is not an image a browser shows ({media_type})")
    return FileResponse(real, media_type=media_type, headers=MEDIA_SECURITY_HEADERS)


# -- fitting --------------------------------------------------------------------------------


def _cuboid_of(body: Any) -> np.ndarray:
    if not isinstance(body, dict):
        raise BadInput("body: must be a JSON object with a 'cuboid'")
    raw = body.get("cuboid")
    if not isinstance(raw, dict):
        raise BadInput("cuboid: must be an object with center-x ... yaw")
    for key in cuboids.KEYS:
        value = raw.get(key, 0.0 if key in ("roll", "pitch") else None)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise BadInput(f"cuboid.{key}: {value!r} is not a finite number")
    c = cuboids.from_json(raw)
    for key, size in zip(("length", "width", "height"), c[3:6], strict=True):
        if size <= 0:
            raise BadInput(f"cuboid.{key}: {size} must be greater than 0")
    return c


@router.post("/items/{item_id}/pointcloud/frames/{k}/fit")
def fit_cuboid(
    item_id: int,
    k: int,
    request: Request,
    user: CurrentUser,
    session: ReadSession,
    body: dict[str, Any],
) -> dict[str, Any]:
    """The cuboid fitted to the points inside it (see geometry/cuboids.fit_to_points):
    ``{"cuboid", "mode": "tighten" | "estimate-yaw", "margin"?, "snap-to-ground"?}``."""
    c = _cuboid_of(body)
    mode = body.get("mode", "tighten")
    if mode not in ("tighten", "estimate-yaw"):
        raise BadInput(f"mode: {mode!r} is not 'tighten' or 'estimate-yaw'")
    margin = body.get("margin", 0.5)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin <= 10:
        raise BadInput(f"margin: {margin!r} must be a number of metres from 0 to 10")
    snap = body.get("snap-to-ground", False)
    if not isinstance(snap, bool):
        raise BadInput(f"snap-to-ground: {snap!r} is not true or false")
    frames, endpoint = _frames(item_id, request, user, session)
    points = _cloud(_frame(frames, item_id, k), endpoint).points
    try:
        fitted, count = cuboids.fit_to_points(
            points, c, margin=float(margin), estimate_yaw=mode == "estimate-yaw"
        )
        if snap:
            fitted = cuboids.snap_to_ground(points, fitted)
    except ValueError as exc:
        raise BadInput(f"cuboid: {exc}") from None
    return {"cuboid": cuboids.to_json(fitted, 4), "point-count": count}


@router.post("/items/{item_id}/pointcloud/frames/{k}/ground")
def snap_cuboid(
    item_id: int,
    k: int,
    request: Request,
    user: CurrentUser,
    session: ReadSession,
    body: dict[str, Any],
) -> dict[str, Any]:
    """The cuboid moved so its bottom lies on the ground under it."""
    c = _cuboid_of(body)
    frames, endpoint = _frames(item_id, request, user, session)
    points = _cloud(_frame(frames, item_id, k), endpoint).points
    try:
        snapped = cuboids.snap_to_ground(points, c)
    except ValueError as exc:
        raise BadInput(f"cuboid: {exc}") from None
    return {"cuboid": cuboids.to_json(snapped, 4)}
