"""Assisted segmentation on an item's image: who may ask, the decoded image, the answer.

The maths is :mod:`truthset.learning.assisted_segmentation` (numpy in, mask out); this
module finds the image, checks the caller's access as the media route does (a worker
only for an item they were assigned a task of), and encodes the mask: run lengths in
its box always, polygons (instance segmentation) and a PNG on request.

Refinement clicks call again with the same image, so decoded images are kept in a small
cache: local files by path, size and modification time (a file replaced in place is read
again), S3 objects for a few minutes.
"""

from __future__ import annotations

import base64
import io
import os
import threading
import time
from collections import OrderedDict
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray
from PIL import Image, ImageOps
from sqlalchemy.orm import Session

from truthset.errors import BadInput, NotFound
from truthset.learning.assisted_segmentation import (
    ExtremePointSegmenter,
    RegionGrower,
    mask_to_polygons,
)
from truthset.media import repository
from truthset.media.assist_schemas import ExtremePointsRequest, GrowRequest, MaskAnswer
from truthset.media.storage import local_path_of, open_item_media

# The largest mask an answer may carry (tasktypes._spatial): 8K by 5K.
MAX_PIXELS = 8192 * 5120
CACHE_IMAGES = 8
# Components smaller than this (pixels) become no polygon: specks, not objects.
MIN_POLYGON_AREA = 16
S3_CACHE_SECONDS = 300.0

_cache: OrderedDict[tuple[Any, ...], NDArray[np.uint8]] = OrderedDict()
_cache_lock = threading.Lock()


def item_image_ref(session: Session, item_id: int, user_id: int, role: str) -> str:
    """The item's `source-ref`, when the user may see its media (the media route's rule)."""
    if role == "reviewer":
        allowed = repository.item_in_a_job_of_users_teams(session, user_id, item_id)
    else:
        allowed = role in ("admin", "requester") or repository.was_assigned_item(
            session, user_id, item_id
        )
    data = repository.item_data(session, item_id) if allowed else None
    if data is None:
        raise NotFound(f"item {item_id} not found")
    ref = orjson.loads(data).get("source-ref")
    if not isinstance(ref, str):
        raise BadInput(f"item {item_id} has inline text, not an image")
    return ref


def _cache_key(ref: str) -> tuple[Any, ...]:
    path = local_path_of(ref)
    if path is None:
        return (ref, int(time.monotonic() // S3_CACHE_SECONDS))
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError:
        raise NotFound(f"the image file of {ref!r} is missing") from None
    return (real, st.st_size, st.st_mtime_ns)


def _decode(ref: str, endpoint_url: str | None) -> NDArray[np.uint8]:
    try:
        with open_item_media(ref, endpoint_url=endpoint_url) as fh:
            data = fh.read()
    except OSError as exc:
        raise NotFound(f"the image of {ref!r} cannot be read ({exc})") from None
    except Exception as exc:  # botocore's errors for a missing object or bucket
        raise NotFound(f"the image of {ref!r} cannot be read ({exc})") from None
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise BadInput(
                    f"the image is {img.width} x {img.height}; assisted segmentation takes "
                    f"images up to {MAX_PIXELS:,} pixels"
                )
            # Browsers apply the EXIF orientation, so the worker's clicks are in the
            # turned image's pixels.
            turned = ImageOps.exif_transpose(img)
            return np.asarray(turned.convert("RGB"), dtype=np.uint8)
    except BadInput:
        raise
    except Exception as exc:
        raise BadInput(f"the item's media is not an image this server decodes ({exc})") from None


def item_image(ref: str, endpoint_url: str | None) -> NDArray[np.uint8]:
    """The decoded RGB image (read-only: shared between requests through the cache)."""
    key = _cache_key(ref)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    image = _decode(ref, endpoint_url)
    image.flags.writeable = False
    with _cache_lock:
        _cache[key] = image
        while len(_cache) > CACHE_IMAGES:
            _cache.popitem(last=False)
    return image


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _xy(points: list[Any]) -> list[tuple[float, float]]:
    return [(p.x, p.y) for p in points]


def _run_lengths(mask: NDArray[np.bool_]) -> dict[str, Any]:
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return {"box": (0, 0, 0, 0), "counts": []}
    x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    flat = mask[y0:y1, x0:x1].ravel().astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts = [0, *counts]
    return {"box": (x0, y0, x1 - x0, y1 - y0), "counts": counts}


def _png(mask: NDArray[np.bool_]) -> str:
    buf = io.BytesIO()
    Image.fromarray(mask).save(buf, format="PNG", optimize=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _answer(
    mask: NDArray[np.bool_], method: str, started: float, polygons: bool, png: bool
) -> MaskAnswer:
    body: dict[str, Any] = {
        "width": int(mask.shape[1]),
        "height": int(mask.shape[0]),
        "area": int(mask.sum()),
        "rle": _run_lengths(mask),
        "method": method,
    }
    if polygons:
        outlines = mask_to_polygons(mask, min_area=MIN_POLYGON_AREA)
        body["polygons"] = [[{"x": x, "y": y} for x, y in poly] for poly in outlines]
    if png:
        body["png"] = _png(mask)
    body["millis"] = round((time.perf_counter() - started) * 1000, 1)
    return MaskAnswer.model_validate(body)


def extreme_points_mask(image: NDArray[np.uint8], req: ExtremePointsRequest) -> MaskAnswer:
    started = time.perf_counter()
    try:
        mask = ExtremePointSegmenter().segment(
            image,
            _xy(req.extreme_points),
            positive=_xy(req.positive) or None,
            negative=_xy(req.negative) or None,
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    return _answer(mask, "grabcut", started, req.polygons, req.png)


def grown_region(image: NDArray[np.uint8], req: GrowRequest) -> MaskAnswer:
    started = time.perf_counter()
    try:
        mask = RegionGrower(tolerance=req.tolerance).grow(image, (req.point.x, req.point.y))
    except ValueError as exc:
        raise BadInput(str(exc).replace("seed[0]", "point")) from None
    return _answer(mask, "superpixel-grow", started, req.polygons, req.png)
