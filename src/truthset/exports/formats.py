"""The export formats the server supports, by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from truthset.errors import BadInput
from truthset.exports.groundtruth import export_groundtruth


@dataclass(frozen=True)
class Exporter:
    name: str
    suffix: str
    description: str
    export: Callable[..., int]


EXPORTERS: dict[str, Exporter] = {
    "groundtruth": Exporter(
        "groundtruth", ".manifest", "Ground Truth output (augmented) manifest", export_groundtruth
    ),
}


def get_exporter(name: str) -> Exporter:
    try:
        return EXPORTERS[name]
    except KeyError:
        raise BadInput(f"unknown export format {name!r}; known: {', '.join(EXPORTERS)}") from None


def list_exporters() -> list[dict[str, Any]]:
    return [
        {"name": e.name, "suffix": e.suffix, "description": e.description}
        for e in EXPORTERS.values()
    ]
