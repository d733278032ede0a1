"""Attribute values in worker answers and in labels, for the image object task types.

Answer: each object may carry ``"label-category-attributes": {name: value}`` (the
attributes of its label and the global ones of the label config); the answer may carry
``"frame-attributes": {name: value}`` for the image as a whole.

Label: Ground Truth publishes no image output with attributes (its attributes exist for
video frame and 3D point cloud jobs only), so truthset writes them as those jobs do:
every annotation holds its ``label-category-attributes`` (video frame ``SeqLabel.json``
annotations and 3D point cloud object detection cuboids alike), and the frame attributes
of the image are the metadata's ``dataset-object-attributes``, where 3D point cloud object
detection (one data object per manifest line, annotations inline, as for images) puts
them. Consolidated values are the weighted majority of the workers who gave one (among
the workers whose objects matched, for object attributes); a tie goes to the value of the
first of those workers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from truthset.errors import BadInput
from truthset.tasktypes.base import LabelConfig
from truthset.tasktypes.label_attributes import AttributeSpec

OBJECT_KEY = "label-category-attributes"
FRAME_KEY = "frame-attributes"
# Where the frame attributes of a label go in its metadata.
META_FRAME_KEY = "dataset-object-attributes"
MAX_LABEL_TEXT = 80
MAX_FRAME_TEXT = 1000


def _value(spec: AttributeSpec, value: Any, field: str, max_text: int) -> Any:
    if spec.type == "number":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise BadInput(f"{field}: {value!r} is not a number")
        if spec.minimum is not None and value < spec.minimum:
            raise BadInput(f"{field}: {value!r} is below the minimum {spec.minimum!r}")
        if spec.maximum is not None and value > spec.maximum:
            raise BadInput(f"{field}: {value!r} is above the maximum {spec.maximum!r}")
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if not isinstance(value, str):
        raise BadInput(f"{field}: {value!r} is not text")
    if spec.enum is not None:
        if value not in spec.enum:
            raise BadInput(f"{field}: {value!r} is not one of {list(spec.enum)}")
        return value
    if len(value) > max_text:
        raise BadInput(f"{field}: {len(value)} characters, at most {max_text} are allowed")
    return value


def check_values(
    given: Any,
    specs: Sequence[AttributeSpec],
    field: str,
    *,
    owner: str,
    max_text: int,
) -> dict[str, Any]:
    """The values checked against ``specs``; an empty free text counts as not given.
    ``owner`` says whose attributes they are, for the messages ("label 'Car'")."""
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise BadInput(f"{field}: {given!r} is not an object of attribute values")
    by_name = {s.name: s for s in specs}
    out: dict[str, Any] = {}
    for name, value in given.items():
        spec = by_name.get(name)
        if spec is None:
            known = ", ".join(by_name) if by_name else "none"
            raise BadInput(f"{field}.{name}: not an attribute of {owner} (its attributes: {known})")
        if value is None or (spec.free_text and isinstance(value, str) and not value.strip()):
            continue
        out[name] = _value(spec, value, f"{field}.{name}", max_text)
    for spec in specs:
        if spec.is_required and spec.name not in out:
            raise BadInput(f"{field}.{spec.name}: missing; {owner} requires it")
    return out


def check_object_attributes(
    objects: Sequence[Any], key: str, config: LabelConfig
) -> list[dict[str, Any]]:
    """Per object of ``answer.<key>``, its checked attribute values."""
    out: list[dict[str, Any]] = []
    for i, obj in enumerate(objects):
        if not isinstance(obj, Mapping) or not isinstance(obj.get("label"), str):
            out.append({})  # the geometry validators name this object's problem
            continue
        label = obj["label"]
        out.append(
            check_values(
                obj.get(OBJECT_KEY),
                config.attributes_of(label),
                f"answer.{key}[{i}].{OBJECT_KEY}",
                owner=f"label {label!r}",
                max_text=MAX_LABEL_TEXT,
            )
        )
    return out


def check_frame_attributes(payload: Mapping[str, Any], config: LabelConfig) -> dict[str, Any]:
    return check_values(
        payload.get(FRAME_KEY),
        config.frame_attributes,
        f"answer.{FRAME_KEY}",
        owner="the image (frameAttributes)",
        max_text=MAX_FRAME_TEXT,
    )


def with_attributes(obj: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A stored object with its attribute values (the key only when there are some, so
    that answers without attributes are stored as before)."""
    if values:
        obj[OBJECT_KEY] = dict(values)
    return obj


def frame_part(values: Mapping[str, Any]) -> dict[str, Any]:
    return {FRAME_KEY: dict(values)} if values else {}


# -- consolidation ---------------------------------------------------------------------------


def majority(votes: Sequence[tuple[Any, float]]) -> Any:
    """The value with the most weight; a tie goes to the value given first."""
    totals: dict[Any, float] = {}
    for value, weight in votes:
        totals[value] = totals.get(value, 0.0) + weight
    # dicts keep insertion order and max keeps the first of equal keys: first given wins.
    return max(totals, key=lambda v: totals[v])


def _consolidated(votes: dict[str, list[tuple[Any, float]]]) -> dict[str, Any]:
    return {name: majority(v) for name, v in votes.items() if v}


def consolidate_object_attributes(
    contents: Sequence[Mapping[str, Any]],
    list_keys: Sequence[str],
    clusters: Sequence[Sequence[tuple[str, int]]],
    weights: Mapping[str, float],
) -> list[dict[str, Any]]:
    """Per consolidated object (``clusters[i]``: its matched ``(worker position, object
    index)`` pairs), the majority value of each attribute its workers gave."""
    out = []
    for members in clusters:
        votes: dict[str, list[tuple[Any, float]]] = {}
        for worker, index in sorted(members, key=lambda m: int(m[0])):
            objects = contents[int(worker)].get(list_keys[int(worker)]) or []
            values = (objects[index].get(OBJECT_KEY) if index < len(objects) else None) or {}
            for name, value in values.items():
                votes.setdefault(name, []).append((value, weights.get(worker, 1.0)))
        out.append(_consolidated(votes))
    return out


def consolidate_frame_attributes(
    contents: Sequence[Mapping[str, Any]], weights: Sequence[float]
) -> dict[str, Any]:
    votes: dict[str, list[tuple[Any, float]]] = {}
    for content, weight in zip(contents, weights, strict=True):
        for name, value in (content.get(FRAME_KEY) or {}).items():
            votes.setdefault(name, []).append((value, weight))
    return _consolidated(votes)


def add_to_label(
    value: dict[str, Any],
    meta: dict[str, Any],
    object_values: Sequence[dict[str, Any]],
    frame_values: dict[str, Any],
    config: LabelConfig,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The label value and metadata with the consolidated attributes, in Ground Truth's
    places (see the module docstring); unchanged for a config without attributes."""
    if config.has_label_attributes:
        value = dict(value)
        value["annotations"] = [
            {**annotation, OBJECT_KEY: values}
            for annotation, values in zip(value["annotations"], object_values, strict=True)
        ]
    if config.frame_attributes:
        meta = {**meta, META_FRAME_KEY: frame_values}
    return value, meta


def prior_frame_attributes(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The frame attributes of an earlier label, as an answer's ``frame-attributes``."""
    values = meta.get(META_FRAME_KEY)
    return frame_part(values) if isinstance(values, Mapping) else {}
