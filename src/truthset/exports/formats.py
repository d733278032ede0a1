"""The export formats the server supports, by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from truthset.errors import BadInput
from truthset.exports.archives import export_voc, export_yolo
from truthset.exports.coco import COCO_TASK_TYPES, export_coco
from truthset.exports.conll import export_conll
from truthset.exports.groundtruth import export_groundtruth


@dataclass(frozen=True)
class Exporter:
    name: str
    suffix: str
    description: str
    export: Callable[..., int]
    # The task types it can express; None: every type.
    task_types: tuple[str, ...] | None = None

    def check_job(self, job: Any) -> None:
        """Refuse, before any run starts, a job this format cannot express."""
        if self.task_types is not None and job.task_type not in self.task_types:
            raise BadInput(
                f"the {self.name} format is for {', '.join(self.task_types)} jobs; "
                f"job {job.name!r} is {job.task_type}"
            )


EXPORTERS: dict[str, Exporter] = {
    "groundtruth": Exporter(
        "groundtruth", ".manifest", "Ground Truth output (augmented) manifest", export_groundtruth
    ),
    "coco": Exporter(
        "coco",
        ".json",
        "COCO JSON (box, polygon, instance-segmentation jobs)",
        export_coco,
        COCO_TASK_TYPES,
    ),
    "yolo": Exporter(
        "yolo",
        ".zip",
        "YOLO label files, classes.txt and images.txt, zipped (box jobs)",
        export_yolo,
        ("bounding-box",),
    ),
    "voc": Exporter(
        "voc",
        ".zip",
        "Pascal VOC annotation XML per image, zipped (box jobs)",
        export_voc,
        ("bounding-box",),
    ),
    "conll": Exporter(
        "conll",
        ".conll",
        "CoNLL BIO tags, one token per line (named-entity jobs)",
        export_conll,
        ("named-entity-recognition",),
    ),
}


def get_exporter(name: str) -> Exporter:
    try:
        return EXPORTERS[name]
    except KeyError:
        raise BadInput(f"unknown export format {name!r}; known: {', '.join(EXPORTERS)}") from None


def list_exporters() -> list[dict[str, Any]]:
    return [
        {
            "name": e.name,
            "suffix": e.suffix,
            "description": e.description,
            "task_types": list(e.task_types) if e.task_types is not None else None,
        }
        for e in EXPORTERS.values()
    ]
