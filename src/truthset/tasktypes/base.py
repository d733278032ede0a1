"""The contract every task type implements, built-in or plugin."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from truthset.errors import BadInput
from truthset.tasktypes.label_attributes import (
    DOCUMENT_VERSION_2020,
    AttributeSpec,
    parse_document_2020,
    refuse_2020_keys,
)

GT_DOCUMENT_VERSION = "2018-11-28"


@dataclass(frozen=True)
class LabelConfig:
    """A validated Ground Truth label category file; label order defines class ids.

    ``raw`` is the file as given. The 2020 format's parts are parsed into the other
    fields (empty for the 2018 format): each label's own ``categoryAttributes``, the
    ``categoryGlobalAttributes`` every label has, the ``frameAttributes`` asked once per
    data object, and the rest of the file.
    """

    labels: tuple[str, ...]
    raw: dict[str, Any]
    short_names: dict[str, str] = field(default_factory=dict)
    document_version: str = GT_DOCUMENT_VERSION
    category_attributes: dict[str, tuple[AttributeSpec, ...]] = field(default_factory=dict)
    global_attributes: tuple[AttributeSpec, ...] = ()
    frame_attributes: tuple[AttributeSpec, ...] = ()
    edits_allowed: dict[str, str] = field(default_factory=dict)
    annotation_type: str | None = None
    instructions: dict[str, str] | None = None
    audit_label_attribute_name: str | None = None

    def class_id(self, label: str) -> int:
        return self.labels.index(label)

    def attributes_of(self, label: str) -> tuple[AttributeSpec, ...]:
        """The attributes an object of ``label`` may carry: the global ones first."""
        return self.global_attributes + self.category_attributes.get(label, ())

    @property
    def has_label_attributes(self) -> bool:
        return bool(self.global_attributes) or any(self.category_attributes.values())

    @property
    def has_attributes(self) -> bool:
        return self.has_label_attributes or bool(self.frame_attributes)


@dataclass(frozen=True)
class WorkerAnswer:
    worker_id: int
    content: dict[str, Any]
    # Per-worker weight in (0, 1] (estimated skill); 1.0 when nothing is known yet.
    weight: float = 1.0


@dataclass(frozen=True)
class Consolidation:
    """A label: the value of the label attribute and its type-specific metadata keys."""

    value: Any
    meta: dict[str, Any]
    confidence: float | None
    method: str
    # Bytes of a file that is the label's value (a PNG mask for semantic segmentation);
    # exports write it out and set the label attribute to its location.
    artifact: bytes | None = None


@runtime_checkable
class TaskType(Protocol):
    name: str
    # What the item holds: "text" (inline `source`), "image" or "audio" (`source-ref`).
    media: str
    # The browser tool that renders it, relative to the static tools folder.
    ui_module: str
    # `type` in the output manifest metadata.
    output_type: str
    # Whether the automated-labeling loop supports it.
    supports_auto_labeling: bool

    def parse_label_config(self, raw: Any) -> LabelConfig: ...

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]: ...

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation: ...


def parse_gt_label_config(
    raw: Any, *, min_labels: int, with_attributes: bool = False
) -> LabelConfig:
    """Validate Ground Truth's label category file, accepted as is: the 2018 format
    (``document-version``) or the 2020 one (``"documentVersion": "2020-03-01"``).

    ``with_attributes``: the task type takes label category and frame attributes; for
    the others a file that defines some is refused rather than having them ignored.
    """
    if isinstance(raw, list):  # a bare list of names is accepted for convenience
        raw = {"document-version": GT_DOCUMENT_VERSION, "labels": [{"label": x} for x in raw]}
    if not isinstance(raw, dict):
        raise BadInput("label config must be a JSON object with a 'labels' list")
    if "documentVersion" in raw:
        return _parse_2020(raw, min_labels=min_labels, with_attributes=with_attributes)
    refuse_2020_keys(raw)
    entries = raw.get("labels")
    if not isinstance(entries, list):
        raise BadInput("label config: 'labels' must be a list of {\"label\": ...} objects")
    names: list[str] = []
    short: dict[str, str] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("label"), str):
            raise BadInput(f"label config: labels[{i}] must be an object with a string 'label'")
        name = entry["label"]
        if not name.strip():
            raise BadInput(f"label config: labels[{i}].label is empty")
        if len(name) > 256:
            raise BadInput(f"label config: labels[{i}].label is longer than 256 characters")
        if name in names:
            raise BadInput(f"label config: label {name!r} appears twice")
        names.append(name)
        if isinstance(entry.get("shortDisplayName"), str):
            short[name] = entry["shortDisplayName"]
    if len(names) < min_labels:
        raise BadInput(f"label config: this task type needs at least {min_labels} labels")
    return LabelConfig(labels=tuple(names), raw=raw, short_names=short)


_NO_ATTRIBUTES = (
    "this task type takes no attributes (the image object types do: boxes, polygons,"
    " polylines, keypoints)"
)


def _parse_2020(raw: dict[str, Any], *, min_labels: int, with_attributes: bool) -> LabelConfig:
    version = raw["documentVersion"]
    if version != DOCUMENT_VERSION_2020:
        raise BadInput(
            f"label config: documentVersion: {version!r} is not {DOCUMENT_VERSION_2020!r}"
            f' (the 2018 format names its version "document-version")'
        )
    doc = parse_document_2020(raw)
    if len(doc.labels) < min_labels:
        raise BadInput(f"label config: this task type needs at least {min_labels} labels")
    if not with_attributes:
        for key, present in (
            ("categoryGlobalAttributes", doc.global_attributes),
            ("frameAttributes", doc.frame_attributes),
        ):
            if present:
                raise BadInput(f"label config: {key}: {_NO_ATTRIBUTES}")
        for i, label in enumerate(doc.labels):
            if doc.category_attributes.get(label):
                raise BadInput(f"label config: labels[{i}].categoryAttributes: {_NO_ATTRIBUTES}")
    return LabelConfig(
        labels=doc.labels,
        raw=raw,
        document_version=DOCUMENT_VERSION_2020,
        category_attributes=doc.category_attributes,
        global_attributes=doc.global_attributes,
        frame_attributes=doc.frame_attributes,
        edits_allowed=doc.edits_allowed,
        annotation_type=doc.annotation_type,
        instructions=doc.instructions,
        audit_label_attribute_name=doc.audit_label_attribute_name,
    )


def class_names(meta: Mapping[str, Any], config: LabelConfig) -> dict[int, str]:
    """Class id to name: the label's ``class-map``, else the label config's order."""
    names = dict(enumerate(config.labels))
    for key, name in (meta.get("class-map") or {}).items():
        names[int(key)] = str(name)
    return names
