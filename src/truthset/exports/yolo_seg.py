"""YOLO segmentation label files (Ultralytics' format) from a polygon or instance
segmentation job, zipped and streamed as `archives.py`'s YOLO boxes are.

`labels/<item id>.txt` holds one line per polygon, `class x1 y1 x2 y2 ...`: the class id
(from 0, the job's label order) and each vertex divided by the image's width and height,
6 decimals, clamped to [0, 1] (a vertex may lie up to the tools' tolerance outside the
image; YOLO readers drop such points). An instance is its consolidated outline. An
image without polygons has an empty file (a background image for YOLO). `classes.txt`
names a class per line (line = class id) and `images.txt` maps each label file to the
item's `source-ref`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from truthset.exports.archives import zip_export
from truthset.exports.formats import Exporter
from truthset.exports.labels import LabeledItem, file_name
from truthset.exports.mask_labels import nothing_to_write
from truthset.store.models import Job

YOLO_SEG_TASK_TYPES = ("polygon", "instance-segmentation")


def polygon_line(class_id: int, vertices: list[dict[str, Any]], width: float, height: float) -> str:
    """`class x1 y1 ...` of one polygon, normalised to the image and clamped to [0, 1]."""
    coords = []
    for v in vertices:
        coords.append(f"{min(max(float(v['x']) / width, 0.0), 1.0):.6f}")
        coords.append(f"{min(max(float(v['y']) / height, 0.0), 1.0):.6f}")
    return f"{class_id} " + " ".join(coords)


def export_yolo_seg(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    **_: Any,
) -> int:
    """A zip of YOLO segmentation label files; returns how many images."""
    sources: list[str] = []

    def files_for(item: LabeledItem, _names: list[str]) -> list[tuple[str, bytes]]:
        size = item.value["image_size"][0]
        width, height = float(size["width"]), float(size["height"])
        lines = [
            polygon_line(int(ann["class_id"]), ann["vertices"], width, height)
            for ann in item.value.get("annotations", [])
            if len(ann.get("vertices") or []) >= 3
        ]
        name = f"labels/{file_name(item.external_id)}.txt"
        sources.append(f"{name}\t{item.data.get('source-ref', '')}")
        return [(name, ("\n".join(lines) + "\n" if lines else "").encode())]

    def extra(names: list[str]) -> list[tuple[str, bytes]]:
        return [
            ("classes.txt", ("\n".join(names) + "\n").encode()),
            ("images.txt", ("\n".join(sources) + "\n").encode()),
        ]

    return zip_export(session, job, write, files_for, extra, progress)


YOLO_SEG = Exporter(
    "yolo-seg",
    ".zip",
    "YOLO segmentation label files (class and normalised polygon), zipped (polygon, "
    "instance-segmentation jobs)",
    export_yolo_seg,
    YOLO_SEG_TASK_TYPES,
    missing=lambda session, job: nothing_to_write(session, job, "YOLO segmentation"),
)
