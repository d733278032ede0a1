"""The contract every task type implements, built-in or plugin."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from truthset.errors import BadInput

GT_DOCUMENT_VERSION = "2018-11-28"


@dataclass(frozen=True)
class LabelConfig:
    """A validated Ground Truth label category file; label order defines class ids."""

    labels: tuple[str, ...]
    raw: dict[str, Any]
    short_names: dict[str, str] = field(default_factory=dict)

    def class_id(self, label: str) -> int:
        return self.labels.index(label)


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


def parse_gt_label_config(raw: Any, *, min_labels: int) -> LabelConfig:
    """Validate Ground Truth's label category file, accepted as is."""
    if isinstance(raw, list):  # a bare list of names is accepted for convenience
        raw = {"document-version": GT_DOCUMENT_VERSION, "labels": [{"label": x} for x in raw]}
    if not isinstance(raw, dict):
        raise BadInput("label config must be a JSON object with a 'labels' list")
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
