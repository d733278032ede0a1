"""Reading Ground Truth's labels out of an output manifest line.

A labeled line carries, per label attribute, `<attr>` (the label) and `<attr>-metadata`
(whose `type` is `groundtruth/...`); a line labeled by chained jobs carries several. A line
whose labeling failed has only the metadata, with `failure-reason`. This module turns each
pair into an `ImportedLabel` (no database: it runs in the import's checking process too)
and knows, per output type, which class ids and names the label uses, so that the importer
can check them against the label config instead of renumbering anything.
"""

from __future__ import annotations

import calendar
import datetime
import math
import re
import sys
from typing import Any, NamedTuple

import orjson

# The metadata keys every output type has; the rest is the label's own (kept in the label).
COMMON_META = ("type", "job-name", "human-annotated", "creation-date")
# Keys that end in -metadata but are not labels: a 3D frame's point-cloud description.
NOT_LABELS = frozenset({"source-ref", "source"})


class LabelLineError(ValueError):
    """A label attribute of a line that cannot be read as a label."""


class LabelShape(NamedTuple):
    """What a label shares with the labels of many other lines: the label config is
    checked once per shape, not once per line (a million-line manifest of four classes
    has a handful of shapes)."""

    attribute: str
    output_type: str
    job_name: str | None
    # (class id, class name) pairs the label names, for the label-config check.
    classes: tuple[tuple[int, str], ...]
    # The label list a value carries itself (a text span's entity labels) as JSON text.
    value_labels: str | None = None


# A line's label as `read_label` gives it: (shape, status, value JSON, meta JSON,
# confidence, created at, file ref). The status is complete (human-annotated), auto
# (machine) or failed (failure-reason, no label); value and meta (the metadata without the
# common keys: class-name, confidence, class-map ...) are JSON text, serialised where the
# line is read; the file ref is the location a value names (a segmentation mask), or None.
# A plain tuple: named tuples cost ~2 us each to make, once per labeled line.
ImportedLabel = tuple[LabelShape, str, str | None, str, float | None, float, str | None]

# Shapes met so far, so that a label's shape is looked up rather than made again (a
# manifest has a handful; the bound is for one with a new class map on every line).
_SHAPES: dict[tuple[Any, ...], LabelShape] = {}


def _shape(
    attr: str,
    output_type: str,
    job_name: str | None,
    classes: tuple[tuple[int, str], ...],
    value_labels: str | None,
) -> LabelShape:
    key = (attr, output_type, job_name, classes, value_labels)
    found = _SHAPES.get(key)
    if found is None:
        if len(_SHAPES) > 10_000:
            _SHAPES.clear()
        # Interned: the same strings on every line, pickled once per batch to the importer.
        name = None if job_name is None else sys.intern(job_name)
        found = _SHAPES[key] = LabelShape(
            sys.intern(attr), output_type, name, classes, value_labels
        )
    return found


def labeled_attributes(obj: dict[str, Any]) -> list[str]:
    """The label attributes of a manifest line: keys `<attr>-metadata` holding an object
    whose `type` is a Ground Truth output type (`groundtruth/...`, `groundTruth/custom`)."""
    found = []
    for key, meta in obj.items():
        if not key.endswith("-metadata") or type(meta) is not dict:
            continue
        attr = key[: -len("-metadata")]
        kind = meta.get("type")
        if attr in NOT_LABELS or attr.endswith("-prediction") or not isinstance(kind, str):
            continue  # a prediction (`<attr>-prediction`) is what a tool starts from
        if kind.lower().startswith("groundtruth/"):
            found.append(attr)
    return found


_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?Z?")
# What follows a date's minute (`13.527256`, `13`, `13.5Z`), its seconds.
_SECONDS = re.compile(r"\d\d(\.\d{1,9})?Z?")
# `2018-10-18T22:18:` -> its UNIX seconds: the minutes of one manifest are few next to its
# lines, and parsing the whole date was the largest single cost of reading a label.
_MINUTES: dict[str, float] = {}


def parse_creation_date(value: Any) -> float | None:
    """Ground Truth's `2018-10-18T22:18:13.527256` (UTC, no zone) as UNIX seconds."""
    if type(value) is not str:
        return None
    minute = _MINUTES.get(value[:17])
    if minute is None:
        minute = _minute(value)
        if minute is None:
            return None
    if _SECONDS.fullmatch(value, 17) is None:
        return None
    tail = value[17:].rstrip("Z")
    seconds = int(tail[:2])
    if seconds > 60:
        return None
    # Whole seconds, then the fraction: the same float as adding up the parts in order.
    return minute + seconds + float(tail[2:]) if len(tail) > 2 else minute + seconds


def _minute(value: str) -> float | None:
    """The UNIX seconds of a date's minute (cached), None when it is no date."""
    found = _DATE.fullmatch(value)
    if found is None:
        return None
    hour, minute = int(found[4]), int(found[5])
    if hour > 23 or minute > 59:
        return None
    try:
        date = datetime.date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return None
    if len(_MINUTES) > 100_000:
        _MINUTES.clear()
    seconds = float(calendar.timegm(date.timetuple())) + hour * 3600 + minute * 60
    _MINUTES[value[:17]] = seconds
    return seconds


# Output type as a line writes it -> (its lower-case form, the part after `groundtruth/`):
# a manifest names a few, on every line.
_TYPES: dict[str, tuple[str, str]] = {}
_MISSING = object()


def _type_names(raw: Any) -> tuple[str, str]:
    text = str(raw)
    found = _TYPES.get(text)
    if found is None:
        lower = sys.intern(text.lower())
        found = (lower, sys.intern(lower.split("/", 1)[1] if "/" in lower else lower))
        if len(_TYPES) > 1000:
            _TYPES.clear()
        _TYPES[text] = found
    return found


def read_label(obj: dict[str, Any], attr: str, *, now: float) -> ImportedLabel:
    """The label under `attr` of a line (whose `<attr>-metadata` is a Ground Truth one).

    On the import's hot path (once per labeled line of a big manifest): plain lookups, no
    keyword calls; the common keys' checks come first and fail with the key named."""
    meta_all = obj[attr + "-metadata"]
    output_type, kind = _type_names(meta_all["type"])
    human = meta_all.get("human-annotated", "yes")
    if human != "yes" and human != "no":
        raise LabelLineError(
            f"{attr}-metadata.human-annotated must be 'yes' or 'no', got {human!r}"
        )
    job_name = meta_all.get("job-name")
    if job_name is not None and type(job_name) is not str:
        raise LabelLineError(f"{attr}-metadata.job-name must be a string")
    date = meta_all.get("creation-date", _MISSING)
    if date is _MISSING:
        created = now
    else:
        found_date = parse_creation_date(date)
        if found_date is None:
            raise LabelLineError(
                f"{attr}-metadata.creation-date {date!r} is not a "
                "Ground Truth date (2018-10-18T22:18:13.527256)"
            )
        created = found_date
    # The metadata without the common keys, in the line's order (copy and pop: cheaper
    # than a filtering comprehension on every line).
    meta = meta_all.copy()
    for key in COMMON_META:
        meta.pop(key, None)
    if attr not in obj:
        if "failure-reason" not in meta_all:
            raise LabelLineError(f"has {attr}-metadata but no {attr!r} and no failure-reason")
        shape = _shape(attr, output_type, job_name, (), None)
        return (shape, "failed", None, dumps(meta), None, created, None)
    value = obj[attr]
    classes = _classes(kind, attr, value, meta)
    value_labels = None
    if kind == "text-span":
        found = value["annotations"].get("labels")
        value_labels = dumps(found) if isinstance(found, list) and found else None
    return (
        _shape(attr, output_type, job_name, classes, value_labels),
        "complete" if human == "yes" else "auto",
        dumps(value),
        dumps(meta),
        _confidence(meta),
        created,
        value if type(value) is str and attr.endswith("-ref") else None,
    )


def _class_id(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise LabelLineError(f"{where} must be a class id, got {value!r}")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise LabelLineError(f"{where} must be a class id (a whole number >= 0), got {value!r}")


def _class_map(meta: dict[str, Any], attr: str, key: str = "class-map") -> list[tuple[int, str]]:
    found = meta.get(key)
    if found is None and key == "class-map" and "class_map" in meta:
        key = "class_map"  # Ground Truth's 3D point cloud detection output spells it so
        found = meta[key]
    if found is None:
        return []
    if not isinstance(found, dict):
        raise LabelLineError(f"{attr}-metadata.{key} must be an object of class id -> name")
    pairs = []
    for cid, name in found.items():
        if isinstance(name, dict):  # internal-color-map: {"class-name", "hex-color"}
            name = name.get("class-name")
        if not isinstance(name, str):
            raise LabelLineError(f"{attr}-metadata.{key}[{cid!r}] must name a class")
        pairs.append((_class_id(cid, f"{attr}-metadata.{key} key {cid!r}"), name))
    return pairs


def _classes(kind: str, attr: str, value: Any, meta: dict[str, Any]) -> tuple[tuple[int, str], ...]:
    """The (class id, name) pairs of a label; `kind` is its output type after the slash."""
    if kind in ("image-classification", "text-classification", "label-verification"):
        name = meta.get("class-name")
        if not isinstance(name, str):
            raise LabelLineError(f"{attr}-metadata.class-name must be the class's name")
        return ((_class_id(value, attr), name),)
    if kind.endswith("-multilabel"):
        if not isinstance(value, list):
            raise LabelLineError(f"{attr} must be a list of class ids")
        pairs = dict(_class_map(meta, attr))
        for i, cid in enumerate(value):
            cid = _class_id(cid, f"{attr}[{i}]")
            if cid not in pairs:
                raise LabelLineError(f"{attr}[{i}]: class id {cid} is not in the class-map")
        return tuple(sorted(pairs.items()))
    if kind == "semantic-segmentation":
        if not isinstance(value, str) or not value:
            raise LabelLineError(f"{attr} must be the location of the mask file")
        return tuple(sorted(_class_map(meta, attr, "internal-color-map")))
    if kind == "text-span":
        annotations = value.get("annotations") if isinstance(value, dict) else None
        if not isinstance(annotations, dict) or not isinstance(annotations.get("entities"), list):
            raise LabelLineError(f"{attr} must be {{'annotations': {{'entities': [...]}}}}")
        labels = annotations.get("labels") or []
        names = [x.get("label") for x in labels if isinstance(x, dict)]
        return tuple((i, n) for i, n in enumerate(names) if isinstance(n, str))
    if isinstance(value, dict) and "annotations" in value:
        used = dict(_class_map(meta, attr))
        for i, ann in enumerate(value.get("annotations") or []):
            # Boxes say class_id; 3D cuboids (and video objects) say class-id.
            field = "class_id" if isinstance(ann, dict) and "class_id" in ann else "class-id"
            if isinstance(ann, dict) and field in ann:
                cid = _class_id(ann[field], f"{attr}.annotations[{i}].{field}")
                if used and cid not in used:
                    raise LabelLineError(
                        f"{attr}.annotations[{i}]: class id {cid} is not in the class-map"
                    )
        return tuple(sorted(used.items()))
    return tuple(sorted(_class_map(meta, attr)))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _confidence(meta: dict[str, Any]) -> float | None:
    """One confidence per label (the review queue's order): the label's own, else the
    lowest of its parts (classes, objects, entities), as Ground Truth gives them."""
    own = meta.get("confidence")
    if type(own) is float and math.isfinite(own):
        return own  # the usual case, without _number's checks
    own = _number(own)
    if own is not None:
        return own
    parts: list[float | None] = []
    for key in ("confidence-map", "internal-color-map"):
        found = meta.get(key)
        if isinstance(found, dict):
            parts.extend(
                _number(v.get("confidence") if isinstance(v, dict) else v) for v in found.values()
            )
    for key in ("objects", "entities"):
        found = meta.get(key)
        if isinstance(found, list):
            parts.extend(_number(o.get("confidence")) for o in found if isinstance(o, dict))
    known = [p for p in parts if p is not None]
    return min(known) if known else None


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
