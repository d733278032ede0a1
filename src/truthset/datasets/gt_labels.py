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


class ImportedLabel(NamedTuple):
    # A named tuple, not a dataclass: a big import's checking process pickles one per
    # labeled line to the importer, and frozen dataclasses unpickle ~10x slower.
    attribute: str
    output_type: str
    # complete (human-annotated) | auto (machine) | failed (failure-reason, no label)
    status: str
    # The label's value and its metadata without the common keys (class-name,
    # confidence, class-map ...), as JSON text: serialised in the checking process.
    value: str | None
    meta: str
    confidence: float | None
    created_at: float
    job_name: str | None
    # (class id, class name) pairs the label names, for the label-config check.
    classes: tuple[tuple[int, str], ...]
    # The label list a value carries itself (a text span's entity labels), if any.
    value_labels: list[Any] | None = None
    # The location of the file a value names (a segmentation mask), if any.
    file_ref: str | None = None


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
# Day -> its UNIX seconds at midnight: the dates of one manifest are few, and strptime was
# the largest single cost of reading a million labels.
_DAYS: dict[str, float] = {}


def parse_creation_date(value: Any) -> float | None:
    """Ground Truth's `2018-10-18T22:18:13.527256` (UTC, no zone) as UNIX seconds."""
    if not isinstance(value, str):
        return None
    found = _DATE.fullmatch(value)
    if found is None:
        return None
    hour, minute, second = int(found[4]), int(found[5]), int(found[6])
    if hour > 23 or minute > 59 or second > 60:
        return None
    day = value[:10]
    midnight = _DAYS.get(day)
    if midnight is None:
        try:
            date = datetime.date(int(found[1]), int(found[2]), int(found[3]))
        except ValueError:
            return None
        if len(_DAYS) > 10_000:
            _DAYS.clear()
        midnight = _DAYS[day] = float(calendar.timegm(date.timetuple()))
    frac = float(found[7]) if found[7] else 0.0
    return midnight + hour * 3600 + minute * 60 + second + frac


def read_label(obj: dict[str, Any], attr: str, *, now: float) -> ImportedLabel:
    """The label under `attr` of a line (whose `<attr>-metadata` is a Ground Truth one)."""
    meta_all = obj[f"{attr}-metadata"]
    # Interned: the same few strings on every line, so that pickling a batch of labels to
    # the importer sends each once.
    output_type = sys.intern(str(meta_all["type"]).lower())
    attr = sys.intern(attr)
    human = meta_all.get("human-annotated", "yes")
    if human not in ("yes", "no"):
        raise LabelLineError(
            f"{attr}-metadata.human-annotated must be 'yes' or 'no', got {human!r}"
        )
    job_name = meta_all.get("job-name")
    if job_name is not None:
        if not isinstance(job_name, str):
            raise LabelLineError(f"{attr}-metadata.job-name must be a string")
        job_name = sys.intern(job_name)
    created = parse_creation_date(meta_all.get("creation-date"))
    if "creation-date" in meta_all and created is None:
        raise LabelLineError(
            f"{attr}-metadata.creation-date {meta_all['creation-date']!r} is not a "
            "Ground Truth date (2018-10-18T22:18:13.527256)"
        )
    meta = {k: v for k, v in meta_all.items() if k not in COMMON_META}
    if attr not in obj:
        if "failure-reason" not in meta_all:
            raise LabelLineError(f"has {attr}-metadata but no {attr!r} and no failure-reason")
        return ImportedLabel(
            attr, output_type, "failed", None, dumps(meta), None, created or now, job_name, ()
        )
    value = obj[attr]
    classes = _classes(output_type, attr, value, meta)
    value_labels = None
    if output_type == "groundtruth/text-span":
        found = value["annotations"].get("labels")
        value_labels = found if isinstance(found, list) and found else None
    return ImportedLabel(
        attribute=attr,
        output_type=output_type,
        status="complete" if human == "yes" else "auto",
        value=dumps(value),
        meta=dumps(meta),
        confidence=_confidence(output_type, meta),
        created_at=created if created is not None else now,
        job_name=job_name,
        classes=classes,
        value_labels=value_labels,
        file_ref=value if attr.endswith("-ref") and isinstance(value, str) else None,
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


def _classes(
    output_type: str, attr: str, value: Any, meta: dict[str, Any]
) -> tuple[tuple[int, str], ...]:
    kind = output_type.split("/", 1)[1]
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
            if isinstance(ann, dict) and "class_id" in ann:
                cid = _class_id(ann["class_id"], f"{attr}.annotations[{i}].class_id")
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


def _confidence(output_type: str, meta: dict[str, Any]) -> float | None:
    """One confidence per label (the review queue's order): the label's own, else the
    lowest of its parts (classes, objects, entities), as Ground Truth gives them."""
    own = _number(meta.get("confidence"))
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
