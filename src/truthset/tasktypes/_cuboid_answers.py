"""The point cloud answers (what tools/pointcloud.js submits), checked and normalised.

Detection::

    {"cuboids": [{"object-id"?, "label": "Car", "number": 1,
                  "center-x", "center-y", "center-z", "length", "width", "height",
                  "roll", "pitch", "yaw", "label-category-attributes"?}],
     "frame-attributes"?: {...}}

Tracking: ``{"number-of-frames": N, "tracks": [{"object-id", "label", "number",
"label-category-attributes"?, "keyframes": [{"frame": 0, "cuboid": {center-x..yaw}},
{"frame": 7, "outside": true}]}], "frame-attributes"?: {"<frame index>": {...}}}``, the
keyframe rules of the video tracking answer (tasktypes/_video_answers.py).

Segmentation: ``{"point-count": N, "labels": "<base64 of zlib-compressed uint8[N]>"}``,
0 unlabeled, k the label config's label k - 1.

Sizes in metres (> 0), angles in radians (any value: stored in [-pi, pi)). Every error
names the field: ``answer.cuboids[3].length: ...``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
import re
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from truthset.errors import BadInput
from truthset.geometry.cuboids import KEYS as CUBOID_KEYS
from truthset.tasktypes import _attribute_answers as attrs
from truthset.tasktypes._spatial import initial_value_modified
from truthset.tasktypes.base import LabelConfig

MAX_CUBOIDS = 5000
MAX_TRACKS = 2000
MAX_KEYFRAMES = 200_000
MAX_POINTS = 2_000_000
# Larger than any object LiDAR labels (a building side is ~100 m).
MAX_SIZE = 1000.0
MAX_COORDINATE = 1e6
MAX_OBJECT_ID = 128
ATTRIBUTES_KEY = attrs.OBJECT_KEY
OBJECT_KEYS = ("object-id", "label", "number", ATTRIBUTES_KEY, *CUBOID_KEYS)
TRACK_KEYS = ("object-id", "label", "number", ATTRIBUTES_KEY, "keyframes")
_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


def _fail(field: str, message: str) -> BadInput:
    return BadInput(f"{field}: {message}")


def _finite(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(field, f"{value!r} is not a number")
    return float(value)


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


def _object_id(raw: Mapping[str, Any], field: str, required: bool) -> str | None:
    oid = raw.get("object-id")
    if oid is None and not required:
        return None
    if not isinstance(oid, str) or not oid.strip() or len(oid) > MAX_OBJECT_ID:
        raise _fail(
            f"{field}.object-id", f"{oid!r} is not an id of 1 to {MAX_OBJECT_ID} characters"
        )
    return oid


def _label_and_number(raw: Mapping[str, Any], field: str, config: LabelConfig) -> tuple[str, int]:
    label = raw.get("label")
    if label not in config.labels:
        raise _fail(f"{field}.label", f"{label!r} is not in the label list {list(config.labels)}")
    n = raw.get("number")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise _fail(f"{field}.number", f"{n!r} is not a whole number from 1")
    return str(label), n


def _own_attributes(
    raw: Mapping[str, Any], field: str, label: str, config: LabelConfig
) -> dict[str, Any]:
    return attrs.check_values(
        raw.get(ATTRIBUTES_KEY),
        config.attributes_of(label),
        f"{field}.{ATTRIBUTES_KEY}",
        owner=f"label {label!r}",
        max_text=attrs.MAX_LABEL_TEXT,
    )


def _unique_numbers(objects: list[dict[str, Any]], key: str) -> None:
    ids: dict[str, int] = {}
    numbers: dict[tuple[str, int], int] = {}
    for i, obj in enumerate(objects):
        oid = obj.get("object-id")
        if oid is not None:
            if oid in ids:
                raise _fail(
                    f"answer.{key}[{i}].object-id", f"{oid!r} is also {key}[{ids[oid]}]'s id"
                )
            ids[oid] = i
        number = (obj["label"], obj["number"])
        if number in numbers:
            raise _fail(
                f"answer.{key}[{i}].number",
                f"{obj['label']}:{obj['number']} is also {key}[{numbers[number]}]"
                " (a number is unique per label)",
            )
        numbers[number] = i


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
        label, number = _label_and_number(raw, field, config)
        obj: dict[str, Any] = {"label": label, "number": number}
        oid = _object_id(raw, field, required=False)
        if oid is not None:
            obj["object-id"] = oid
        obj.update(check_cuboid(raw, field))
        values = _own_attributes(raw, field, label, config)
        out.append(attrs.with_attributes(obj, values))
    _unique_numbers(out, "cuboids")
    return {
        "cuboids": out,
        **attrs.frame_part(attrs.check_frame_attributes(payload, config)),
        **initial_value_modified(payload),
    }


def _overrides(config: LabelConfig, label: str) -> tuple[Any, ...]:
    return tuple(dataclasses.replace(s, is_required=False) for s in config.attributes_of(label))


def _check_keyframes(
    raw: Any, field: str, label: str, config: LabelConfig, frames: int
) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise _fail(field, f"{raw!r} is not a non-empty list of keyframes")
    out: list[dict[str, Any]] = []
    previous = -1
    for k, kf in enumerate(raw):
        where = f"{field}[{k}]"
        if not isinstance(kf, Mapping):
            raise _fail(where, f"{kf!r} is not an object")
        extra = set(kf) - {"frame", "cuboid", "outside", ATTRIBUTES_KEY}
        if extra:
            raise _fail(
                f"{where}.{sorted(extra)[0]}",
                "not a keyframe field (frame, cuboid, outside, label-category-attributes)",
            )
        frame = kf.get("frame")
        if isinstance(frame, bool) or not isinstance(frame, int):
            raise _fail(f"{where}.frame", f"{frame!r} is not a frame index")
        if not 0 <= frame < frames:
            raise _fail(
                f"{where}.frame", f"{frame} is not a frame of the sequence (0 to {frames - 1})"
            )
        if frame <= previous:
            raise _fail(
                f"{where}.frame",
                f"{frame} does not come after the keyframe before it ({previous}):"
                " keyframes are sorted and one per frame",
            )
        previous = frame
        outside = kf.get("outside", False)
        if not isinstance(outside, bool):
            raise _fail(f"{where}.outside", f"{outside!r} is not true or false")
        if outside == ("cuboid" in kf):
            raise _fail(where, 'a keyframe has either a "cuboid" or "outside": true')
        if outside and k == 0:
            raise _fail(where, 'the first keyframe must place the object (a "cuboid")')
        item: dict[str, Any] = {"frame": frame}
        if outside:
            item["outside"] = True
        else:
            cuboid = kf["cuboid"]
            if not isinstance(cuboid, Mapping):
                raise _fail(f"{where}.cuboid", f"{cuboid!r} is not an object")
            extra = set(cuboid) - set(CUBOID_KEYS)
            if extra:
                raise _fail(f"{where}.cuboid.{sorted(extra)[0]}", "not a cuboid field")
            item["cuboid"] = check_cuboid(cuboid, f"{where}.cuboid")
        values = attrs.check_values(
            kf.get(ATTRIBUTES_KEY),
            _overrides(config, label),
            f"{where}.{ATTRIBUTES_KEY}",
            owner=f"label {label!r}",
            max_text=attrs.MAX_LABEL_TEXT,
        )
        if values:
            item[ATTRIBUTES_KEY] = values
        out.append(item)
    return out


def _check_frame_attributes(
    raw: Any, config: LabelConfig, frames: int
) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _fail("answer.frame-attributes", f"{raw!r} is not an object of frame index -> values")
    if raw and not config.frame_attributes:
        raise _fail("answer.frame-attributes", "the label config has no frameAttributes")
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(raw, key=lambda k: (len(str(k)), str(k))):
        where = f"answer.frame-attributes.{key}"
        if not isinstance(key, str) or not _INDEX.match(key) or int(key) >= frames:
            raise _fail(where, f'not a frame index of the sequence ("0" to "{frames - 1}")')
        values = attrs.check_values(
            raw[key],
            config.frame_attributes,
            where,
            owner=f"frame {key} (frameAttributes)",
            max_text=attrs.MAX_FRAME_TEXT,
        )
        if values:
            out[key] = values
    return out


def check_tracking(answer: Any, config: LabelConfig, frames: int) -> dict[str, Any]:
    payload = _mapping(
        answer,
        ("number-of-frames", "tracks", "frame-attributes", "initialValueModified"),
        '{"number-of-frames", "tracks"}',
    )
    given = payload.get("number-of-frames")
    if isinstance(given, bool) or not isinstance(given, int):
        raise _fail("answer.number-of-frames", f"{given!r} is not a whole number")
    if given != frames:
        raise _fail(
            "answer.number-of-frames", f"{given} differs from the sequence's {frames} frames"
        )
    tracks = payload.get("tracks")
    if not isinstance(tracks, list):
        raise _fail("answer.tracks", f"{tracks!r} is not a list")
    if len(tracks) > MAX_TRACKS:
        raise _fail("answer.tracks", f"{len(tracks)} tracks, at most {MAX_TRACKS} are allowed")
    total = sum(
        len(t["keyframes"])
        for t in tracks
        if isinstance(t, Mapping) and isinstance(t.get("keyframes"), list)
    )
    if total > MAX_KEYFRAMES:
        raise _fail(
            "answer.tracks", f"{total} keyframes in all, at most {MAX_KEYFRAMES} are allowed"
        )
    out = []
    for i, raw in enumerate(tracks):
        field = f"answer.tracks[{i}]"
        if not isinstance(raw, Mapping):
            raise _fail(field, f"{raw!r} is not an object")
        extra = set(raw) - set(TRACK_KEYS)
        if extra:
            raise _fail(
                f"{field}.{sorted(extra)[0]}", f"not a track field ({', '.join(TRACK_KEYS)})"
            )
        oid = _object_id(raw, field, required=True)
        label, number = _label_and_number(raw, field, config)
        track: dict[str, Any] = {"object-id": oid, "label": label, "number": number}
        own = _own_attributes(raw, field, label, config)
        if own:
            track[ATTRIBUTES_KEY] = own
        track["keyframes"] = _check_keyframes(
            raw.get("keyframes"), f"{field}.keyframes", label, config, frames
        )
        out.append(track)
    _unique_numbers(out, "tracks")
    result: dict[str, Any] = {"number-of-frames": given, "tracks": out}
    frame_values = _check_frame_attributes(payload.get("frame-attributes"), config, frames)
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
