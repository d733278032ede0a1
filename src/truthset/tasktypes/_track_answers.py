"""The tracking answer both frame-sequence types take (video objects, point-cloud cuboids):
tracks of keyframes over a sequence, checked and normalised field by field.

```
{"number-of-frames": N,
 "tracks": [{"object-id", "label", "number", "label-category-attributes"?,
             "keyframes": [{"frame": 0, <shape>: {...}, "label-category-attributes"?},
                           {"frame": 7, "outside": true}]}],
 "frame-attributes": {"<frame index>": {...}}}
```

Only the shape under ``<shape>`` differs between the types (``box`` / ``polygon`` /
``polyline`` / ``keypoint`` in pixels, ``cuboid`` in metres): each passes its own
``check_shape(raw, field)``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from truthset.errors import BadInput
from truthset.tasktypes import _attribute_answers as attrs
from truthset.tasktypes.base import LabelConfig

ATTRIBUTES_KEY = attrs.OBJECT_KEY
MAX_TRACKS = 2000
MAX_KEYFRAMES = 200_000
MAX_OBJECT_ID = 128
TRACK_KEYS = ("object-id", "label", "number", ATTRIBUTES_KEY, "keyframes")
INDEX = re.compile(r"^(0|[1-9][0-9]*)$")

ShapeCheck = Callable[[Any, str], dict[str, Any]]


def fail(field: str, message: str) -> BadInput:
    return BadInput(f"{field}: {message}")


def finite(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise fail(field, f"{value!r} is not a number")
    return float(value)


def check_object_id(raw: Mapping[str, Any], field: str, *, required: bool) -> str | None:
    oid = raw.get("object-id")
    if oid is None and not required:
        return None
    if not isinstance(oid, str) or not oid.strip() or len(oid) > MAX_OBJECT_ID:
        raise fail(f"{field}.object-id", f"{oid!r} is not an id of 1 to {MAX_OBJECT_ID} characters")
    return oid


def check_label_and_number(
    raw: Mapping[str, Any], field: str, config: LabelConfig
) -> tuple[str, int]:
    label = raw.get("label")
    if label not in config.labels:
        raise fail(f"{field}.label", f"{label!r} is not in the label list {list(config.labels)}")
    n = raw.get("number")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise fail(f"{field}.number", f"{n!r} is not a whole number from 1")
    return str(label), n


def check_own_attributes(
    raw: Mapping[str, Any], field: str, label: str, config: LabelConfig
) -> dict[str, Any]:
    return attrs.check_values(
        raw.get(ATTRIBUTES_KEY),
        config.attributes_of(label),
        f"{field}.{ATTRIBUTES_KEY}",
        owner=f"label {label!r}",
        max_text=attrs.MAX_LABEL_TEXT,
    )


def check_unique(objects: list[dict[str, Any]], key: str) -> None:
    """Object ids unique, and numbers unique per label (``car:1`` names one object)."""
    ids: dict[str, int] = {}
    numbers: dict[tuple[str, int], int] = {}
    for i, obj in enumerate(objects):
        oid = obj.get("object-id")
        if oid is not None:
            if oid in ids:
                raise fail(
                    f"answer.{key}[{i}].object-id", f"{oid!r} is also {key}[{ids[oid]}]'s id"
                )
            ids[oid] = i
        number = (obj["label"], obj["number"])
        if number in numbers:
            raise fail(
                f"answer.{key}[{i}].number",
                f"{obj['label']}:{obj['number']} is also {key}[{numbers[number]}]"
                " (a number is unique per label)",
            )
        numbers[number] = i


def check_number_of_frames(given: Any, frames: int) -> int:
    if isinstance(given, bool) or not isinstance(given, int):
        raise fail("answer.number-of-frames", f"{given!r} is not a whole number")
    if given != frames:
        raise fail(
            "answer.number-of-frames", f"{given} differs from the sequence's {frames} frames"
        )
    return given


def _overrides(config: LabelConfig, label: str) -> tuple[Any, ...]:
    """A keyframe's attributes override some of the track's: none is required there."""
    return tuple(dataclasses.replace(s, is_required=False) for s in config.attributes_of(label))


def check_keyframes(
    raw: Any,
    field: str,
    shape: str,
    check_shape: ShapeCheck,
    label: str,
    config: LabelConfig,
    frames: int,
) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise fail(field, f"{raw!r} is not a non-empty list of keyframes")
    out: list[dict[str, Any]] = []
    previous = -1
    for k, kf in enumerate(raw):
        where = f"{field}[{k}]"
        if not isinstance(kf, Mapping):
            raise fail(where, f"{kf!r} is not an object")
        extra = set(kf) - {"frame", shape, "outside", ATTRIBUTES_KEY}
        if extra:
            raise fail(
                f"{where}.{sorted(extra)[0]}",
                f"not a keyframe field (frame, {shape}, outside, {ATTRIBUTES_KEY})",
            )
        frame = kf.get("frame")
        if isinstance(frame, bool) or not isinstance(frame, int):
            raise fail(f"{where}.frame", f"{frame!r} is not a frame index")
        if not 0 <= frame < frames:
            raise fail(
                f"{where}.frame", f"{frame} is not a frame of the sequence (0 to {frames - 1})"
            )
        if frame <= previous:
            raise fail(
                f"{where}.frame",
                f"{frame} does not come after the keyframe before it ({previous}):"
                " keyframes are sorted and one per frame",
            )
        previous = frame
        outside = kf.get("outside", False)
        if not isinstance(outside, bool):
            raise fail(f"{where}.outside", f"{outside!r} is not true or false")
        if outside == (shape in kf):
            raise fail(where, f'a keyframe has either a {shape!r} or "outside": true')
        if outside and k == 0:
            raise fail(where, f"the first keyframe must place the object (a {shape!r})")
        item: dict[str, Any] = {"frame": frame}
        if outside:
            item["outside"] = True
        else:
            item[shape] = check_shape(kf[shape], f"{where}.{shape}")
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


def check_tracks(
    tracks: Any, shape: str, check_shape: ShapeCheck, config: LabelConfig, frames: int
) -> list[dict[str, Any]]:
    """``answer.tracks`` checked: limits, each track's fields and keyframes, ids and
    numbers unique."""
    if not isinstance(tracks, list):
        raise fail("answer.tracks", f"{tracks!r} is not a list")
    if len(tracks) > MAX_TRACKS:
        raise fail("answer.tracks", f"{len(tracks)} tracks, at most {MAX_TRACKS} are allowed")
    total = sum(
        len(t["keyframes"])
        for t in tracks
        if isinstance(t, Mapping) and isinstance(t.get("keyframes"), list)
    )
    if total > MAX_KEYFRAMES:
        raise fail(
            "answer.tracks", f"{total} keyframes in all, at most {MAX_KEYFRAMES} are allowed"
        )
    out = []
    for i, raw in enumerate(tracks):
        field = f"answer.tracks[{i}]"
        if not isinstance(raw, Mapping):
            raise fail(field, f"{raw!r} is not an object")
        extra = set(raw) - set(TRACK_KEYS)
        if extra:
            raise fail(
                f"{field}.{sorted(extra)[0]}", f"not a track field ({', '.join(TRACK_KEYS)})"
            )
        oid = check_object_id(raw, field, required=True)
        label, number = check_label_and_number(raw, field, config)
        track: dict[str, Any] = {"object-id": oid, "label": label, "number": number}
        own = check_own_attributes(raw, field, label, config)
        if own:
            track[ATTRIBUTES_KEY] = own
        track["keyframes"] = check_keyframes(
            raw.get("keyframes"), f"{field}.keyframes", shape, check_shape, label, config, frames
        )
        out.append(track)
    check_unique(out, "tracks")
    return out


def check_frame_attributes(raw: Any, config: LabelConfig, frames: int) -> dict[str, dict[str, Any]]:
    """``answer.frame-attributes``: values per frame index (``"0"``, ``"57"``...)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise fail("answer.frame-attributes", f"{raw!r} is not an object of frame index -> values")
    if raw and not config.frame_attributes:
        raise fail("answer.frame-attributes", "the label config has no frameAttributes")
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(raw, key=lambda k: (len(str(k)), str(k))):
        where = f"answer.frame-attributes.{key}"
        if not isinstance(key, str) or not INDEX.match(key):
            raise fail(where, 'not a frame index ("0", "57"...)')
        if int(key) >= frames:
            raise fail(where, f"not a frame of the sequence (0 to {frames - 1})")
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
