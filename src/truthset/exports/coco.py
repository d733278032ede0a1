"""COCO object detection / instance segmentation JSON from a box, polygon or instance
segmentation job.

One JSON document: `images` (one per labeled item: `file_name` is the item's
`source-ref`, `width`/`height` from the label), `annotations` (`bbox` as [x, y, width,
height] in pixels, `area`, `iscrowd` 0, `segmentation` as one flat [x1, y1, x2, y2, ...]
ring per polygon, `score` the consolidated confidence of the object) and `categories`
(ids from 1, in the job's label order: category id = class id + 1, since COCO readers
treat 0 as background). `truthset_id` on each image is the item's id. The labels are
read twice, once for the images and once for the annotations, so memory stays flat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.exports.formats import Exporter
from truthset.exports.labels import CHUNK_BYTES, LabeledItem, labeled_items
from truthset.store.models import Job
from truthset.tasktypes import get_task_type

COCO_TASK_TYPES = ("bounding-box", "polygon", "instance-segmentation")


def export_coco(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    now: float = 0.0,
    labeled_only: bool = True,
    artifact_sink: Any = None,
) -> int:
    """Write the job's labels as one COCO JSON document; returns how many images. The
    job must be of a COCO_TASK_TYPES type (formats.Exporter.check_job)."""
    labels = list(get_task_type(job.task_type).parse_label_config(job.label_config).labels)
    count = 0

    def chunks() -> Iterator[bytes]:
        nonlocal count
        info = {
            "description": f"truthset labeling job {job.name}",
            "date_created": dt.datetime.fromtimestamp(now or 0, dt.UTC).isoformat(),
        }
        yield b'{"info":' + orjson.dumps(info) + b',"images":['
        buf = bytearray()
        for image_id, item in _images(session, job):
            size = item.value["image_size"][0]
            image = {
                "id": image_id,
                "file_name": item.data.get("source-ref", ""),
                "width": size["width"],
                "height": size["height"],
                "truthset_id": item.external_id,
            }
            buf += (b"," if count else b"") + orjson.dumps(image)
            count += 1
            if len(buf) >= CHUNK_BYTES:
                yield bytes(buf)
                buf.clear()
                if progress:
                    progress(count)
        buf += b'],"annotations":['
        n_annotations = 0
        for image_id, item in _images(session, job):
            confidences = [o.get("confidence") for o in item.meta.get("objects", [])]
            for k, ann in enumerate(item.value.get("annotations", [])):
                n_annotations += 1
                out = _annotation(ann, n_annotations, image_id)
                if k < len(confidences) and confidences[k] is not None:
                    out["score"] = confidences[k]
                buf += (b"," if n_annotations > 1 else b"") + orjson.dumps(out)
            if len(buf) >= CHUNK_BYTES:
                yield bytes(buf)
                buf.clear()
        categories = [
            {"id": i + 1, "name": name, "supercategory": "none"} for i, name in enumerate(labels)
        ]
        buf += b'],"categories":' + orjson.dumps(categories) + b"}\n"
        yield bytes(buf)
        if progress:
            progress(count)

    write(chunks())
    return count


def _images(session: Session, job: Job) -> Iterator[tuple[int, LabeledItem]]:
    """(image id from 1, item) for each labeled item with an image size."""
    image_id = 0
    for item in labeled_items(session, job):
        if not isinstance(item.value, dict) or not item.value.get("image_size"):
            continue
        image_id += 1
        yield image_id, item


def _annotation(ann: dict[str, Any], ann_id: int, image_id: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": ann_id,
        "image_id": image_id,
        "category_id": int(ann["class_id"]) + 1,
        "iscrowd": 0,
    }
    if "vertices" in ann:
        xs = [float(v["x"]) for v in ann["vertices"]]
        ys = [float(v["y"]) for v in ann["vertices"]]
        left, top = min(xs), min(ys)
        out["bbox"] = [left, top, max(xs) - left, max(ys) - top]
        out["segmentation"] = [[c for xy in zip(xs, ys, strict=True) for c in xy]]
        out["area"] = _shoelace(xs, ys)
    else:
        box = [float(ann[k]) for k in ("left", "top", "width", "height")]
        out["bbox"] = box
        out["area"] = box[2] * box[3]
    return out


def _shoelace(xs: list[float], ys: list[float]) -> float:
    """The area a polygon encloses."""
    n = len(xs)
    twice = sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))
    return abs(twice) / 2.0


COCO = Exporter(
    "coco",
    ".json",
    "COCO JSON (box, polygon, instance-segmentation jobs)",
    export_coco,
    COCO_TASK_TYPES,
)
