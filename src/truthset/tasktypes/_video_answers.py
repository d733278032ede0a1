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
from collections.abc import Mapping, Sequence
from typing import Any

from truthset.errors import BadInput, NotFound
from truthset.geometry.tracks import BOX_KEYS, signed_area
from truthset.tasktypes._spatial import SIZE_TOLERANCE, initial_value_modified, number
from truthset.tasktypes._track_answers import (
    check_frame_attributes,
    check_number_of_frames,
    check_tracks,
)
from truthset.tasktypes._track_answers import fail as _fail
from truthset.tasktypes._track_answers import finite as _finite
from truthset.tasktypes.base import LabelConfig

MAX_VERTICES = 1000
ANSWER_KEYS = (
    "number-of-frames",
    "tracks",
    "frame-attributes",
    "initialValueModified",
    # Written by validation, ignored when a client sends them.
    "sequence-frames",
    "frame-size",
)
MIN_POINTS = {"polygon": 3, "polyline": 2}


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
    frames = facts.number_of_frames
    given = check_number_of_frames(answer.get("number-of-frames"), frames)

    def check_shape(raw: Any, field: str) -> dict[str, Any]:
        return check_geometry(shape, raw, field, facts.size)

    out: dict[str, Any] = {
        "number-of-frames": given,
        "tracks": check_tracks(answer.get("tracks"), shape, check_shape, config, frames),
    }
    frame_values = check_frame_attributes(answer.get("frame-attributes"), config, frames)
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
