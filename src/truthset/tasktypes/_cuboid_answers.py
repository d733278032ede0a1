"""The point cloud answers (what tools/pointcloud.js submits), checked and normalised.

Detection::

    {"cuboids": [{"object-id"?, "label": "Car", "number": 1,
                  "center-x", "center-y", "center-z", "length", "width", "height",
                  "roll", "pitch", "yaw", "label-category-attributes"?}],
     "frame-attributes"?: {...}}

Tracking: ``{"number-of-frames": N, "tracks": [{"object-id", "label", "number",
"label-category-attributes"?, "keyframes": [{"frame": 0, "cuboid": {center-x..yaw}},
{"frame": 7, "outside": true}]}], "frame-attributes"?: {"<frame index>": {...}}}``, the
keyframe rules of the video tracking answer (tasktypes/_track_answers.py).

Segmentation: ``{"point-count": N, "labels": "<base64 of zlib-compressed uint8[N]>"}``,
0 unlabeled, k the label config's label k - 1.

Sizes in metres (> 0), angles in radians (any value: stored in [-pi, pi)). Every error
names the field: ``answer.cuboids[3].length: ...``.
"""

from __future__ import annotations

import base64
import binascii
import math
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from truthset.errors import BadInput
from truthset.geometry.cuboids import KEYS as CUBOID_KEYS
from truthset.tasktypes import _attribute_answers as attrs
from truthset.tasktypes._spatial import initial_value_modified
from truthset.tasktypes._track_answers import (
    check_frame_attributes,
    check_label_and_number,
    check_number_of_frames,
    check_object_id,
    check_own_attributes,
    check_tracks,
    check_unique,
)
from truthset.tasktypes._track_answers import fail as _fail
from truthset.tasktypes._track_answers import finite as _finite
from truthset.tasktypes.base import LabelConfig

MAX_CUBOIDS = 5000
MAX_POINTS = 2_000_000
# Larger than any object LiDAR labels (a building side is ~100 m).
MAX_SIZE = 1000.0
MAX_COORDINATE = 1e6
ATTRIBUTES_KEY = attrs.OBJECT_KEY
OBJECT_KEYS = ("object-id", "label", "number", ATTRIBUTES_KEY, *CUBOID_KEYS)


def _angle(value: float) -> float:
    wrapped = (value + math.pi) % (2 * math.pi) - math.pi
    return float(wrapped)


def check_cuboid(raw: Mapping[str, Any], field: str) -> dict[str, float]:
    """The nine numbers of a cuboid (roll and pitch 0 when absent), checked."""
    out: dict[str, float] = {}
    for key in CUBOID_KEYS:
        value = raw.get(key, 0.0 if key in ("roll", "pitch") else None)
        number = _finite(value, f"{field}.{key}")
        if key in ("length", "width", "height"):
            if not 0 < number <= MAX_SIZE:
                raise _fail(
                    f"{field}.{key}", f"{value!r} must be greater than 0 and at most {MAX_SIZE:g} m"
                )
        elif key.startswith("center"):
            if abs(number) > MAX_COORDINATE:
                raise _fail(f"{field}.{key}", f"{value!r} is farther than {MAX_COORDINATE:g} m")
        else:
            number = _angle(number)
        out[key] = number
    return out


def _mapping(answer: Any, keys: tuple[str, ...], what: str) -> Mapping[str, Any]:
    if not isinstance(answer, Mapping):
        raise BadInput(f"answer must be an object ({what}), got {type(answer).__name__}")
    extra = set(answer) - set(keys)
    if extra:
        raise _fail(f"answer.{sorted(extra)[0]}", f"not a field of this answer ({', '.join(keys)})")
    return answer


def check_detection(answer: Any, config: LabelConfig) -> dict[str, Any]:
    payload = _mapping(answer, ("cuboids", "frame-attributes", "initialValueModified"), "cuboids")
    cuboids = payload.get("cuboids")
    if not isinstance(cuboids, list):
        raise _fail("answer.cuboids", f"{cuboids!r} is not a list")
    if len(cuboids) > MAX_CUBOIDS:
        raise _fail("answer.cuboids", f"{len(cuboids)} cuboids, at most {MAX_CUBOIDS} are allowed")
    out = []
    for i, raw in enumerate(cuboids):
        field = f"answer.cuboids[{i}]"
        if not isinstance(raw, Mapping):
            raise _fail(field, f"{raw!r} is not an object")
        extra = set(raw) - set(OBJECT_KEYS)
        if extra:
            raise _fail(f"{field}.{sorted(extra)[0]}", "not a cuboid field")
        label, number = check_label_and_number(raw, field, config)
        obj: dict[str, Any] = {"label": label, "number": number}
        oid = check_object_id(raw, field, required=False)
        if oid is not None:
            obj["object-id"] = oid
        obj.update(check_cuboid(raw, field))
        values = check_own_attributes(raw, field, label, config)
        out.append(attrs.with_attributes(obj, values))
    check_unique(out, "cuboids")
    return {
        "cuboids": out,
        **attrs.frame_part(attrs.check_frame_attributes(payload, config)),
        **initial_value_modified(payload),
    }


def _check_keyframe_cuboid(cuboid: Any, field: str) -> dict[str, Any]:
    if not isinstance(cuboid, Mapping):
        raise _fail(field, f"{cuboid!r} is not an object")
    extra = set(cuboid) - set(CUBOID_KEYS)
    if extra:
        raise _fail(f"{field}.{sorted(extra)[0]}", "not a cuboid field")
    return check_cuboid(cuboid, field)


def check_tracking(answer: Any, config: LabelConfig, frames: int) -> dict[str, Any]:
    payload = _mapping(
        answer,
        ("number-of-frames", "tracks", "frame-attributes", "initialValueModified"),
        '{"number-of-frames", "tracks"}',
    )
    given = check_number_of_frames(payload.get("number-of-frames"), frames)
    tracks = check_tracks(payload.get("tracks"), "cuboid", _check_keyframe_cuboid, config, frames)
    result: dict[str, Any] = {"number-of-frames": given, "tracks": tracks}
    frame_values = check_frame_attributes(payload.get("frame-attributes"), config, frames)
    if frame_values:
        result["frame-attributes"] = frame_values
    result.update(initial_value_modified(payload))
    return result


def decode_labels(data: Any, field: str, count: int) -> np.ndarray:
    """Base64 of zlib-compressed uint8 per point, exactly ``count`` of them."""
    if not isinstance(data, str):
        raise _fail(field, f"{type(data).__name__} is not base64 text")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(field, "not base64") from None
    inflater = zlib.decompressobj()
    try:
        values = inflater.decompress(raw, count + 1)
        if len(values) == count and not inflater.eof:
            values += inflater.decompress(inflater.unconsumed_tail, 1)
    except zlib.error as exc:
        raise _fail(field, f"not zlib-compressed data ({exc})") from None
    if len(values) > count:
        raise _fail(field, f"more than {count:,} labels for the frame's {count:,} points")
    if len(values) < count:
        raise _fail(field, f"{len(values):,} labels for the frame's {count:,} points")
    if not inflater.eof:
        raise _fail(field, "the zlib stream is cut short")
    return np.frombuffer(values, dtype=np.uint8)


def encode_labels(labels: np.ndarray) -> str:
    return base64.b64encode(zlib.compress(np.asarray(labels, dtype=np.uint8).tobytes())).decode()


def check_segmentation(answer: Any, config: LabelConfig, count: int | None) -> dict[str, Any]:
    """``count`` is the frame's point count (None when the frame cannot be read here: the
    answer's own count is used)."""
    payload = _mapping(
        answer, ("point-count", "labels", "initialValueModified"), '{"point-count", "labels"}'
    )
    given = payload.get("point-count")
    if isinstance(given, bool) or not isinstance(given, int) or not 0 <= given <= MAX_POINTS:
        raise _fail(
            "answer.point-count", f"{given!r} is not a number of points from 0 to {MAX_POINTS:,}"
        )
    if count is not None and given != count:
        raise _fail("answer.point-count", f"{given:,} differs from the frame's {count:,} points")
    labels = decode_labels(payload.get("labels"), "answer.labels", given)
    top = int(labels.max(initial=0))
    if top > len(config.labels):
        bad = int(np.flatnonzero(labels > len(config.labels))[0])
        raise _fail(
            "answer.labels",
            f"point {bad} has class {int(labels[bad])}; the label config has {len(config.labels)}"
            " labels (1 to that, 0 for unlabeled)",
        )
    return {"point-count": given, "labels": payload["labels"], **initial_value_modified(payload)}
