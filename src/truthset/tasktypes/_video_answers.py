"""The video object answer (what tools/video.js submits), checked and normalised.

```
{"number-of-frames": 300,
 "tracks": [{"object-id": "<uuid>", "label": "car", "number": 1,
             "label-category-attributes": {...},
             "keyframes": [{"frame": 0, "box": {"left", "top", "width", "height"},
                            "label-category-attributes": {...}},
                           {"frame": 120, "outside": true}]}],
 "frame-attributes": {"0": {...}}}
```

The geometry key is the label config's shape (``box``, ``polygon`` / ``polyline``
``{"points": [[x, y], ...]}``, ``keypoint`` ``{"x", "y"}``), in pixels of the frame; frames
are 0-based indexes into the sequence's sorted frames. Every error names the field
(``answer.tracks[2].keyframes[5].box.width: ...``). The normalised answer adds what the
label needs and the consolidator cannot look up (it sees answers, not the item): the
sequence's ``frame-no`` and ``frame`` per index (``sequence-frames``) and the frame size
when it can be read (``frame-size``).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from truthset.errors import BadInput, NotFound
from truthset.geometry.tracks import ATTRIBUTES_KEY, BOX_KEYS, signed_area
from truthset.tasktypes import _attribute_answers as attrs
from truthset.tasktypes._spatial import SIZE_TOLERANCE, initial_value_modified, number
from truthset.tasktypes.base import LabelConfig

MAX_TRACKS = 2000
MAX_KEYFRAMES = 200_000
MAX_VERTICES = 1000
MAX_OBJECT_ID = 128
ANSWER_KEYS = (
    "number-of-frames",
    "tracks",
    "frame-attributes",
    "initialValueModified",
    # Written by validation, ignored when a client sends them.
    "sequence-frames",
    "frame-size",
)
TRACK_KEYS = ("object-id", "label", "number", ATTRIBUTES_KEY, "keyframes")
MIN_POINTS = {"polygon": 3, "polyline": 2}
_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


@dataclasses.dataclass(frozen=True)
class SequenceFacts:
    """What validation knows of the item's sequence: frame names and, when its first
    frame can be read, the frame size."""

    frames: list[list[Any]]  # [frame-no as the file gives it, frame name] per index
    size: tuple[int, int] | None

    @property
    def number_of_frames(self) -> int:
        return len(self.frames)


def sequence_facts(item: Mapping[str, Any]) -> SequenceFacts:
    """The item's sequence file (its ``source-ref``), read through media.sequences."""
    from truthset.media.info import UnreadableMedia, image_size
    from truthset.media.sequences import load_sequence

    ref = item.get("source-ref")
    if not isinstance(ref, str):
        raise BadInput("item: a video frame item needs a 'source-ref' naming its sequence file")
    try:
        sequence = load_sequence(ref)
    except (BadInput, NotFound) as exc:
        raise BadInput(f"item: its sequence file cannot be read: {exc}") from None
    size: tuple[int, int] | None = None
    if sequence.frames:
        try:
            size = image_size(sequence.frames[0].ref)
        except (UnreadableMedia, BadInput, NotFound):
            size = None
    frames = [
        [f.frame_no_given if f.frame_no_given is not None else f.frame_no, f.frame]
        for f in sequence.frames
    ]
    return SequenceFacts(frames=frames, size=size)


def _fail(field: str, message: str) -> BadInput:
    return BadInput(f"{field}: {message}")


def _finite(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(field, f"{value!r} is not a number")
    return float(value)


def _within(value: float, limit: float | None, field: str, what: str) -> None:
    shown = number(value)
    if value < -SIZE_TOLERANCE:
        raise _fail(field, f"{shown!r} is outside the frame (below 0)")
    if limit is not None and value > limit + SIZE_TOLERANCE:
        raise _fail(field, f"{shown!r} is outside the frame (its {what} is {limit:g})")


def check_geometry(
    shape: str, raw: Any, field: str, size: tuple[int, int] | None
) -> dict[str, Any]:
    """One keyframe's geometry, normalised (ints stay ints)."""
    width, height = size if size is not None else (None, None)
    if not isinstance(raw, Mapping):
        raise _fail(field, f"{raw!r} is not an object")
    if shape == "box":
        extra = set(raw) - set(BOX_KEYS)
        if extra:
            raise _fail(f"{field}.{sorted(extra)[0]}", "not a box field (left, top, width, height)")
        values = {k: _finite(raw.get(k), f"{field}.{k}") for k in BOX_KEYS}
        for k in ("width", "height"):
            if values[k] <= 0:
                raise _fail(f"{field}.{k}", f"{raw[k]!r} must be positive")
        _within(values["left"], width, f"{field}.left", "width")
        _within(values["top"], height, f"{field}.top", "height")
        _within(values["left"] + values["width"], width, f"{field}.width", "width; left + width")
        _within(values["top"] + values["height"], height, f"{field}.height", "height; top + height")
        return {k: number(raw[k]) for k in BOX_KEYS}
    if shape == "keypoint":
        extra = set(raw) - {"x", "y"}
        if extra:
            raise _fail(f"{field}.{sorted(extra)[0]}", "not a keypoint field (x, y)")
        x, y = _finite(raw.get("x"), f"{field}.x"), _finite(raw.get("y"), f"{field}.y")
        _within(x, width, f"{field}.x", "width")
        _within(y, height, f"{field}.y", "height")
        return {"x": number(raw["x"]), "y": number(raw["y"])}
    points = raw.get("points")
    if set(raw) - {"points"}:
        raise _fail(f"{field}.{sorted(set(raw) - {'points'})[0]}", "not a field (only points)")
    if not isinstance(points, list):
        raise _fail(f"{field}.points", f"{points!r} is not a list of [x, y] pairs")
    low = MIN_POINTS[shape]
    if not low <= len(points) <= MAX_VERTICES:
        raise _fail(
            f"{field}.points", f"{len(points)} points; a {shape} takes {low} to {MAX_VERTICES}"
        )
    out = []
    for n, p in enumerate(points):
        where = f"{field}.points[{n}]"
        if not isinstance(p, list | tuple) or len(p) != 2:
            raise _fail(where, f"{p!r} is not an [x, y] pair")
        x, y = _finite(p[0], f"{where}[0]"), _finite(p[1], f"{where}[1]")
        _within(x, width, f"{where}[0]", "width")
        _within(y, height, f"{where}[1]", "height")
        out.append([number(p[0]), number(p[1])])
    if shape == "polygon":
        import numpy as np

        if abs(signed_area(np.asarray(out, dtype=float))) <= 1e-9:
            raise _fail(f"{field}.points", "the polygon has no area (its points are on one line)")
    return {"points": out}


def _overrides(config: LabelConfig, label: str) -> tuple[Any, ...]:
    """A keyframe's attributes override some of the track's: none is required there."""
    return tuple(dataclasses.replace(s, is_required=False) for s in config.attributes_of(label))


def _check_keyframes(
    raw: Any, field: str, shape: str, label: str, config: LabelConfig, facts: SequenceFacts
) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise _fail(field, f"{raw!r} is not a non-empty list of keyframes")
    out: list[dict[str, Any]] = []
    previous = -1
    for k, kf in enumerate(raw):
        where = f"{field}[{k}]"
        if not isinstance(kf, Mapping):
            raise _fail(where, f"{kf!r} is not an object")
        extra = set(kf) - {"frame", shape, "outside", ATTRIBUTES_KEY}
        if extra:
            raise _fail(
                f"{where}.{sorted(extra)[0]}",
                f"not a keyframe field (frame, {shape}, outside, {ATTRIBUTES_KEY})",
            )
        frame = kf.get("frame")
        if isinstance(frame, bool) or not isinstance(frame, int):
            raise _fail(f"{where}.frame", f"{frame!r} is not a frame index")
        if not 0 <= frame < facts.number_of_frames:
            raise _fail(
                f"{where}.frame",
                f"{frame} is not a frame of the sequence (0 to {facts.number_of_frames - 1})",
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
        if outside == (shape in kf):
            raise _fail(where, f'a keyframe has either a {shape!r} or "outside": true')
        if outside and k == 0:
            raise _fail(where, f"the first keyframe must place the object (a {shape!r})")
        item: dict[str, Any] = {"frame": frame}
        if outside:
            item["outside"] = True
        else:
            item[shape] = check_geometry(shape, kf[shape], f"{where}.{shape}", facts.size)
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


def _check_track(
    raw: Any, field: str, shape: str, config: LabelConfig, facts: SequenceFacts
) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise _fail(field, f"{raw!r} is not an object")
    extra = set(raw) - set(TRACK_KEYS)
    if extra:
        raise _fail(f"{field}.{sorted(extra)[0]}", f"not a track field ({', '.join(TRACK_KEYS)})")
    oid = raw.get("object-id")
    if not isinstance(oid, str) or not oid.strip() or len(oid) > MAX_OBJECT_ID:
        raise _fail(
            f"{field}.object-id", f"{oid!r} is not an id of 1 to {MAX_OBJECT_ID} characters"
        )
    label = raw.get("label")
    if label not in config.labels:
        raise _fail(f"{field}.label", f"{label!r} is not in the label list {list(config.labels)}")
    n = raw.get("number")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise _fail(f"{field}.number", f"{n!r} is not a whole number from 1")
    own = attrs.check_values(
        raw.get(ATTRIBUTES_KEY),
        config.attributes_of(str(label)),
        f"{field}.{ATTRIBUTES_KEY}",
        owner=f"label {label!r}",
        max_text=attrs.MAX_LABEL_TEXT,
    )
    track: dict[str, Any] = {"object-id": oid, "label": label, "number": n}
    if own:
        track[ATTRIBUTES_KEY] = own
    track["keyframes"] = _check_keyframes(
        raw.get("keyframes"), f"{field}.keyframes", shape, str(label), config, facts
    )
    return track


def _check_frame_attributes(
    raw: Any, config: LabelConfig, facts: SequenceFacts
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
        if not isinstance(key, str) or not _INDEX.match(key):
            raise _fail(where, 'not a frame index ("0", "57"...)')
        if int(key) >= facts.number_of_frames:
            raise _fail(where, f"not a frame of the sequence (0 to {facts.number_of_frames - 1})")
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


def check_answer(
    answer: Any, shape: str, config: LabelConfig, facts: SequenceFacts
) -> dict[str, Any]:
    """The answer checked against the label config and the sequence, normalised."""
    if not isinstance(answer, Mapping):
        raise BadInput(
            'answer must be an object {"number-of-frames", "tracks"},'
            f" got {type(answer).__name__}"
        )
    extra = set(answer) - set(ANSWER_KEYS)
    if extra:
        raise _fail(
            f"answer.{sorted(extra)[0]}",
            "not a field of a video answer (number-of-frames, tracks, frame-attributes)",
        )
    given = answer.get("number-of-frames")
    if isinstance(given, bool) or not isinstance(given, int):
        raise _fail("answer.number-of-frames", f"{given!r} is not a whole number")
    if given != facts.number_of_frames:
        raise _fail(
            "answer.number-of-frames",
            f"{given} differs from the sequence's {facts.number_of_frames} frames",
        )
    tracks = answer.get("tracks")
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
    out_tracks = []
    ids: dict[str, int] = {}
    numbers: dict[tuple[str, int], int] = {}
    for i, raw in enumerate(tracks):
        track = _check_track(raw, f"answer.tracks[{i}]", shape, config, facts)
        oid = track["object-id"]
        if oid in ids:
            raise _fail(f"answer.tracks[{i}].object-id", f"{oid!r} is also tracks[{ids[oid]}]'s id")
        ids[oid] = i
        key = (track["label"], track["number"])
        if key in numbers:
            raise _fail(
                f"answer.tracks[{i}].number",
                f"{track['label']}:{track['number']} is also tracks[{numbers[key]}]"
                " (a number is unique per label)",
            )
        numbers[key] = i
        out_tracks.append(track)
    out: dict[str, Any] = {"number-of-frames": given, "tracks": out_tracks}
    frame_values = _check_frame_attributes(answer.get("frame-attributes"), config, facts)
    if frame_values:
        out["frame-attributes"] = frame_values
    out.update(initial_value_modified(answer))
    out["sequence-frames"] = facts.frames
    if facts.size is not None:
        out["frame-size"] = {"width": facts.size[0], "height": facts.size[1]}
    return out


def frame_size_of(contents: Sequence[Mapping[str, Any]]) -> tuple[int, int] | None:
    for content in contents:
        size = content.get("frame-size")
        if isinstance(size, Mapping):
            return int(size["width"]), int(size["height"])
    return None
