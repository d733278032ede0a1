"""Ground Truth's ``editsAllowed`` in adjustment and verification jobs, checked on the
server against the earlier label the job started from.

The 2020 label-category format puts ``editsAllowed: "none" | "any"`` on each label and on
each attribute; a job whose every label says ``"none"`` is a verification job. In a job
chained on an earlier label (``auditLabelAttributeName``, truthset's input job):

- an object of a label that allows no edits stays as it was: not removed, not relabeled,
  not moved or reshaped on any frame, present on the same frames; no new object of that
  label is added (nor an object relabeled into it);
- an attribute that allows no edits keeps, on every object of the earlier label and every
  frame it was on, the value it had (a frame attribute: on every frame that had one).

The tools show such objects locked; this check is what holds when an answer comes from
elsewhere (the API, an edited draft). Each type turns its answer into an ``EditView``:
objects by identity (a track's ``object-id``; a detection cuboid's label and number),
each with its flat geometry and attributes per frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from truthset.errors import BadInput
from truthset.tasktypes._attribute_answers import OBJECT_KEY as ATTRIBUTES_KEY
from truthset.tasktypes.base import LabelConfig

# Geometries are compared to this (pixels, metres, radians): Ground Truth writes two
# decimals, and a tool hands back what it was given; a deliberate edit is far larger.
TOLERANCE = 0.01


@dataclass(frozen=True)
class EditObject:
    label: str
    # frame index -> the geometry there, flattened (numbers in a fixed order).
    frames: dict[int, np.ndarray]
    # frame index -> the object's attribute values there.
    attributes: dict[int, Mapping[str, Any]]


@dataclass(frozen=True)
class EditView:
    """An answer (or the earlier label as an answer) as the edit check sees it."""

    objects: dict[str, EditObject]
    # frame index ("0" for a single frame) -> the frame's attribute values.
    frame_attributes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def locked_labels(config: LabelConfig) -> frozenset[str]:
    return frozenset(label for label, v in config.edits_allowed.items() if v == "none")


def has_edit_rules(config: LabelConfig) -> bool:
    """Whether the config restricts edits at all (nothing to check otherwise)."""
    if locked_labels(config):
        return True
    specs = [*config.global_attributes, *config.frame_attributes]
    for own in config.category_attributes.values():
        specs.extend(own)
    return any(spec.edits_allowed == "none" for spec in specs)


def _rule(label: str) -> str:
    return f"label {label!r} allows no edits in this job (editsAllowed: none)"


def check_edits(answer: EditView, prior: EditView, config: LabelConfig, *, noun: str) -> None:
    """Raise BadInput naming the object, frame and attribute of the first edit the config
    does not allow. ``noun`` names the objects in messages ("track", "cuboid")."""
    locked = locked_labels(config)
    for key, before in prior.objects.items():
        after = answer.objects.get(key)
        if before.label in locked:
            _check_unchanged(key, before, after, noun)
        if after is not None:
            _check_attributes(key, before, after, config, noun)
    for key, new in answer.objects.items():
        old = prior.objects.get(key)
        if new.label in locked and (old is None or old.label != new.label):
            what = "added" if old is None else f"relabeled from {old.label!r}"
            raise BadInput(f"answer: {noun} {key} ({new.label}) was {what}; {_rule(new.label)}")
    _check_frame_attributes(answer, prior, config)


def _check_unchanged(key: str, before: EditObject, after: EditObject | None, noun: str) -> None:
    label = before.label
    if after is None:
        raise BadInput(f"answer: {noun} {key} ({label}) was removed; {_rule(label)}")
    if after.label != label:
        raise BadInput(
            f"answer: {noun} {key} ({label}) was relabeled {after.label!r}; {_rule(label)}"
        )
    if set(after.frames) != set(before.frames):
        gone = sorted(set(before.frames) - set(after.frames))
        new = sorted(set(after.frames) - set(before.frames))
        where = f"no longer on frame {gone[0]}" if gone else f"now also on frame {new[0]}"
        raise BadInput(f"answer: {noun} {key} ({label}) is {where}; {_rule(label)}")
    for frame, geometry in before.frames.items():
        mine = after.frames[frame]
        if mine.shape != geometry.shape or not np.allclose(mine, geometry, rtol=0, atol=TOLERANCE):
            raise BadInput(
                f"answer: {noun} {key} ({label}) was moved or reshaped on frame {frame}; "
                f"{_rule(label)}"
            )


def _check_attributes(
    key: str, before: EditObject, after: EditObject, config: LabelConfig, noun: str
) -> None:
    fixed = [s.name for s in config.attributes_of(before.label) if s.edits_allowed == "none"]
    if not fixed:
        return
    for frame, values in before.attributes.items():
        mine = after.attributes.get(frame)
        if mine is None:
            continue  # the object left that frame: the label's own rule says if it may
        for name in fixed:
            if mine.get(name) != values.get(name):
                raise BadInput(
                    f"answer: {noun} {key} ({before.label}) frame {frame}: attribute {name!r} "
                    f"was {values.get(name)!r}, now {mine.get(name)!r}; it allows no edits in "
                    "this job (editsAllowed: none)"
                )


def _check_frame_attributes(answer: EditView, prior: EditView, config: LabelConfig) -> None:
    fixed = [s.name for s in config.frame_attributes if s.edits_allowed == "none"]
    for frame, values in prior.frame_attributes.items():
        mine = answer.frame_attributes.get(frame) or {}
        for name in fixed:
            if mine.get(name) != values.get(name):
                raise BadInput(
                    f"answer.frame-attributes[{frame}]: {name!r} was {values.get(name)!r}, now "
                    f"{mine.get(name)!r}; it allows no edits in this job (editsAllowed: none)"
                )


# -- answers as edit views --------------------------------------------------------------------


def _frame_values(content: Mapping[str, Any], *, per_frame: bool) -> dict[str, Mapping[str, Any]]:
    values = content.get("frame-attributes")
    if not isinstance(values, Mapping) or not values:
        return {}
    if not per_frame:  # one frame: the values themselves
        return {"0": values}
    return {str(k): v for k, v in values.items() if isinstance(v, Mapping)}


def tracks_view(
    content: Mapping[str, Any] | None,
    expand: Any,
    flatten: Any,
) -> EditView:
    """Tracks (``{"tracks": [{"object-id", "label", "keyframes", ...}]}``) by object id;
    ``expand(track)`` gives the frames it is on (geometry/tracks.FrameShape), ``flatten``
    a geometry's numbers."""
    if not isinstance(content, Mapping):
        return EditView({})
    objects: dict[str, EditObject] = {}
    for k, track in enumerate(content.get("tracks") or []):
        key = str(track.get("object-id") or f"{track.get('label')}:{track.get('number', k)}")
        shapes = expand(track)
        objects[key] = EditObject(
            str(track.get("label")),
            {s.frame: flatten(s.geometry) for s in shapes},
            {s.frame: s.attributes for s in shapes},
        )
    return EditView(objects, _frame_values(content, per_frame=True))


def objects_view(content: Mapping[str, Any] | None, list_key: str, flatten: Any) -> EditView:
    """One frame's objects (``{list_key: [{"label", "number", <geometry>, ...}]}``) by
    label and number (``Car:1``, as Ground Truth names them), all on frame 0."""
    if not isinstance(content, Mapping):
        return EditView({})
    objects: dict[str, EditObject] = {}
    for obj in content.get(list_key) or []:
        key = f"{obj.get('label')}:{obj.get('number')}"
        objects[key] = EditObject(
            str(obj.get("label")),
            {0: flatten(obj)},
            {0: dict(obj.get(ATTRIBUTES_KEY) or {})},
        )
    return EditView(objects, _frame_values(content, per_frame=False))
