"""Ground Truth's 2020 label category format (``"documentVersion": "2020-03-01"``).

Ground Truth's developer guide (page *Create a Labeling Category Configuration File with
Label Category and Frame Attributes*, ``sms-label-cat-config-attributes``) defines it for
its video frame and 3D point cloud jobs: labels that may carry ``categoryAttributes``,
``categoryGlobalAttributes`` that every label carries, ``frameAttributes`` asked once per
data object, ``annotationType``, ``instructions`` and ``auditLabelAttributeName``. truthset
takes it for its image object task types (boxes, polygons, polylines, keypoints).

Every limit here is the guide's quota table; every error names the path of the offending
field (``labels[2].categoryAttributes[0].enum``) and its value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from truthset.errors import BadInput

DOCUMENT_VERSION_2020 = "2020-03-01"

MAX_LABELS = 30
MAX_LABEL_CHARS = 16
# Per label, its own attributes and the global ones together; and frame attributes.
MAX_ATTRIBUTES = 10
MAX_FREE_TEXT_ATTRIBUTES = 5
MAX_NAME_CHARS = 16
MAX_DESCRIPTION_CHARS = 128
MAX_ENUM_VALUES = 10
MAX_ENUM_VALUE_CHARS = 16
# "Short instructions must be under 255 characters and long instruction must be under 2,048."
MAX_SHORT_INSTRUCTION = 254
MAX_FULL_INSTRUCTION = 2047
# Ground Truth's LabelAttributeName is at most 127 characters.
MAX_AUDIT_ATTRIBUTE_CHARS = 127
ATTRIBUTE_TYPES = ("string", "number")
EDITS_ALLOWED = ("none", "any")
ANNOTATION_TYPES = ("BoundingBox", "Polyline", "Polygon", "Keypoint")

TOP_LEVEL_KEYS = (
    "documentVersion",
    "labels",
    "categoryGlobalAttributes",
    "frameAttributes",
    "annotationType",
    "instructions",
    "auditLabelAttributeName",
)
LABEL_KEYS = ("label", "categoryAttributes", "editsAllowed")
ATTRIBUTE_KEYS = (
    "name",
    "type",
    "description",
    "enum",
    "minimum",
    "maximum",
    "editsAllowed",
    "isRequired",
)
# Keys that only mean something in the 2020 format: a file of the 2018 format (or of no
# version) that has them is refused rather than having them ignored.
ATTRIBUTE_SECTIONS = ("categoryGlobalAttributes", "frameAttributes")


@dataclass(frozen=True)
class AttributeSpec:
    """One label category attribute or frame attribute, as the config defines it."""

    name: str
    type: str
    enum: tuple[str, ...] | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    description: str | None = None
    is_required: bool = False
    edits_allowed: str = "any"

    @property
    def free_text(self) -> bool:
        """A string attribute without ``enum``: the worker types its value."""
        return self.type == "string" and self.enum is None


@dataclass(frozen=True)
class Document2020:
    """The parsed parts of a 2020 file beyond the label names."""

    labels: tuple[str, ...]
    category_attributes: dict[str, tuple[AttributeSpec, ...]]
    global_attributes: tuple[AttributeSpec, ...]
    frame_attributes: tuple[AttributeSpec, ...]
    edits_allowed: dict[str, str]
    annotation_type: str | None
    instructions: dict[str, str] | None
    audit_label_attribute_name: str | None


def _fail(path: str, message: str) -> BadInput:
    return BadInput(f"label config: {path}: {message}")


def _check_keys(obj: Mapping[str, Any], path: str, known: tuple[str, ...]) -> None:
    for key in obj:
        if key in known:
            continue
        if key == "attributes" and "categoryAttributes" in known:
            # The guide has never named a label's attributes `attributes` (neither its
            # first 2020 page nor the current one), so it is not read as an alias.
            raise _fail(
                f"{path}.attributes",
                "not a field of the 2020 format; Ground Truth names a label's attributes"
                " 'categoryAttributes' (and the ones of every label 'categoryGlobalAttributes')",
            )
        where = f"{path}.{key}" if path else str(key)
        raise _fail(where, f"not a field of the 2020 format (known: {', '.join(known)})")


def _text(value: Any, path: str, *, low: int, high: int) -> str:
    if not isinstance(value, str):
        raise _fail(path, f"{value!r} is not text")
    if len(value) < low or len(value) > high or (low and not value.strip()):
        raise _fail(path, f"{value!r} must be text of {low} to {high} characters")
    return value


def _number(value: Any, path: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(path, f"{value!r} is not a number")
    return value


def parse_attribute(raw: Any, path: str, *, frame: bool) -> AttributeSpec:
    """One attribute object; ``frame`` for ``frameAttributes`` (whose description is
    required)."""
    if not isinstance(raw, Mapping):
        raise _fail(path, f"{raw!r} is not an object with 'name' and 'type'")
    _check_keys(raw, path, ATTRIBUTE_KEYS)
    if "name" not in raw:
        raise _fail(f"{path}.name", "missing")
    name = _text(raw["name"], f"{path}.name", low=1, high=MAX_NAME_CHARS)
    kind = raw.get("type")
    if kind not in ATTRIBUTE_TYPES:
        raise _fail(f"{path}.type", f"{kind!r} is not 'string' or 'number'")
    description = raw.get("description")
    if description is None:
        if frame:
            raise _fail(f"{path}.description", "missing; a frame attribute needs a description")
    else:
        description = _text(description, f"{path}.description", low=0, high=MAX_DESCRIPTION_CHARS)
    enum: tuple[str, ...] | None = None
    if "enum" in raw:
        if kind != "string":
            raise _fail(f"{path}.enum", "only a 'string' attribute takes an enum")
        values = raw["enum"]
        if not isinstance(values, list) or not 1 <= len(values) <= MAX_ENUM_VALUES:
            raise _fail(
                f"{path}.enum", f"{values!r} must be a list of 1 to {MAX_ENUM_VALUES} values"
            )
        for i, value in enumerate(values):
            _text(value, f"{path}.enum[{i}]", low=1, high=MAX_ENUM_VALUE_CHARS)
            if value in values[:i]:
                raise _fail(f"{path}.enum[{i}]", f"{value!r} appears twice")
        enum = tuple(values)
    # The guide's schema table asks for minimum and maximum on every number attribute,
    # but every example on the same page leaves them out; a file copied from the guide
    # is taken, and an attribute without them is unbounded on that side.
    bounds: dict[str, int | float | None] = {"minimum": None, "maximum": None}
    for key in bounds:
        if key in raw:
            if kind != "number":
                raise _fail(f"{path}.{key}", "only a 'number' attribute takes a minimum or maximum")
            bounds[key] = _number(raw[key], f"{path}.{key}")
    low, high = bounds["minimum"], bounds["maximum"]
    if low is not None and high is not None and low > high:
        raise _fail(f"{path}.minimum", f"{low!r} is above the maximum {high!r}")
    required = raw.get("isRequired", False)
    if not isinstance(required, bool):
        raise _fail(f"{path}.isRequired", f"{required!r} is not true or false")
    return AttributeSpec(
        name=name,
        type=kind,
        enum=enum,
        minimum=low,
        maximum=high,
        description=description,
        is_required=required,
        edits_allowed=_edits_allowed(raw, path),
    )


def _edits_allowed(raw: Mapping[str, Any], path: str) -> str:
    value = raw.get("editsAllowed", "any")
    if value not in EDITS_ALLOWED:
        raise _fail(f"{path}.editsAllowed", f"{value!r} is not 'none' or 'any'")
    return str(value)


def _attribute_list(raw: Any, path: str, *, frame: bool) -> tuple[AttributeSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _fail(path, f"{raw!r} is not a list of attribute objects")
    specs = tuple(parse_attribute(a, f"{path}[{i}]", frame=frame) for i, a in enumerate(raw))
    seen: dict[str, int] = {}
    for i, spec in enumerate(specs):
        if spec.name in seen:
            raise _fail(f"{path}[{i}].name", f"{spec.name!r} is also {path}[{seen[spec.name]}]")
        seen[spec.name] = i
    return specs


def _check_quota(specs: tuple[AttributeSpec, ...], path: str, what: str) -> None:
    if len(specs) > MAX_ATTRIBUTES:
        raise _fail(path, f"{len(specs)} attributes{what}, at most {MAX_ATTRIBUTES} are allowed")
    free = sum(s.free_text for s in specs)
    if free > MAX_FREE_TEXT_ATTRIBUTES:
        raise _fail(
            path,
            f"{free} free-text attributes (string without enum){what}, at most"
            f" {MAX_FREE_TEXT_ATTRIBUTES} are allowed",
        )


def _instructions(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise _fail(
            "instructions", f"{raw!r} is not an object {{shortInstruction, fullInstruction}}"
        )
    _check_keys(raw, "instructions", ("shortInstruction", "fullInstruction"))
    out = {}
    for key, high in (
        ("shortInstruction", MAX_SHORT_INSTRUCTION),
        ("fullInstruction", MAX_FULL_INSTRUCTION),
    ):
        if key not in raw:
            raise _fail(f"instructions.{key}", "missing")
        value = raw[key]
        if not isinstance(value, str):
            raise _fail(f"instructions.{key}", f"{value!r} is not text")
        if len(value) > high:
            raise _fail(
                f"instructions.{key}",
                f"{len(value)} characters; it must be under {high + 1} characters",
            )
        out[key] = value
    return out


def parse_document_2020(raw: Mapping[str, Any]) -> Document2020:
    """Validate a whole 2020 file (``raw["documentVersion"]`` already checked)."""
    _check_keys(raw, "", TOP_LEVEL_KEYS)
    entries = raw.get("labels")
    if not isinstance(entries, list):
        raise _fail("labels", 'must be a list of {"label": ...} objects')
    if not 1 <= len(entries) <= MAX_LABELS:
        raise _fail("labels", f"{len(entries)} labels; the 2020 format takes 1 to {MAX_LABELS}")
    global_attributes = _attribute_list(
        raw.get("categoryGlobalAttributes"), "categoryGlobalAttributes", frame=False
    )
    _check_quota(global_attributes, "categoryGlobalAttributes", "")
    global_names = {s.name: i for i, s in enumerate(global_attributes)}
    names: list[str] = []
    own: dict[str, tuple[AttributeSpec, ...]] = {}
    edits: dict[str, str] = {}
    for i, entry in enumerate(entries):
        path = f"labels[{i}]"
        if not isinstance(entry, Mapping):
            raise _fail(path, f"{entry!r} is not an object with a string 'label'")
        _check_keys(entry, path, LABEL_KEYS)
        if "label" not in entry:
            raise _fail(f"{path}.label", "missing")
        name = _text(entry["label"], f"{path}.label", low=1, high=MAX_LABEL_CHARS)
        if name in names:
            raise _fail(f"{path}.label", f"{name!r} is also labels[{names.index(name)}]")
        names.append(name)
        specs = _attribute_list(
            entry.get("categoryAttributes"), f"{path}.categoryAttributes", frame=False
        )
        for j, spec in enumerate(specs):
            if spec.name in global_names:
                raise _fail(
                    f"{path}.categoryAttributes[{j}].name",
                    f"{spec.name!r} is also categoryGlobalAttributes[{global_names[spec.name]}];"
                    " a label's attribute and a global one cannot share a name",
                )
        _check_quota(
            global_attributes + specs,
            f"{path}.categoryAttributes",
            f" for label {name!r} (its own and the global ones)",
        )
        own[name] = specs
        edits[name] = _edits_allowed(entry, path)
    frame_attributes = _attribute_list(raw.get("frameAttributes"), "frameAttributes", frame=True)
    _check_quota(frame_attributes, "frameAttributes", "")
    annotation_type = raw.get("annotationType")
    if annotation_type is not None and annotation_type not in ANNOTATION_TYPES:
        raise _fail(
            "annotationType", f"{annotation_type!r} is not one of {', '.join(ANNOTATION_TYPES)}"
        )
    instructions = _instructions(raw["instructions"]) if "instructions" in raw else None
    audit = raw.get("auditLabelAttributeName")
    if audit is not None:
        audit = _text(audit, "auditLabelAttributeName", low=1, high=MAX_AUDIT_ATTRIBUTE_CHARS)
    return Document2020(
        labels=tuple(names),
        category_attributes=own,
        global_attributes=global_attributes,
        frame_attributes=frame_attributes,
        edits_allowed=edits,
        annotation_type=annotation_type,
        instructions=instructions,
        audit_label_attribute_name=audit,
    )


def refuse_2020_keys(raw: Mapping[str, Any]) -> None:
    """A file not marked 2020 must not carry attributes: they would be ignored."""
    for key in ATTRIBUTE_SECTIONS:
        if key in raw:
            raise _fail(
                key,
                f'belongs to the 2020 format; give "documentVersion": "{DOCUMENT_VERSION_2020}"'
                " to use attributes",
            )
    for i, entry in enumerate(raw.get("labels") or []):
        if isinstance(entry, Mapping):
            for key in ("categoryAttributes", "attributes"):
                if key in entry:
                    raise _fail(
                        f"labels[{i}].{key}",
                        f"label attributes belong to the 2020 format; give"
                        f' "documentVersion": "{DOCUMENT_VERSION_2020}" and name them'
                        " 'categoryAttributes'",
                    )
