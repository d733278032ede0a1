"""COCO JSON from a box, polygon, instance or semantic segmentation job.

One JSON document: `images` (one per labeled item: `file_name` is the item's
`source-ref`, `width`/`height` from the label, or from the mask for semantic
segmentation), `annotations` and `categories` (ids from 1, in the job's label order:
category id = class id + 1, since COCO readers treat 0 as background; for semantic
segmentation the mask's class k, 0 being the background, is category k). `truthset_id`
on each image is the item's id.

- Boxes, polygons, instance segmentation: `bbox` as [x, y, width, height] in pixels,
  `area`, `iscrowd` 0, `segmentation` as one flat [x1, y1, x2, y2, ...] ring per polygon
  (an instance is traced to its outline when consolidated), `score` the consolidated
  confidence of the object.
- Semantic segmentation: one annotation per class present in an image's mask, its
  pixels as COCO's compressed RLE (`{"counts": "...", "size": [height, width]}`,
  `exports/rle.py`), `area` the pixel count and `bbox` their extent, `iscrowd` 0 (a
  class region, as COCO-Stuff writes it), `score` the mask's confidence.

The labels are read twice, once for the images and once for the annotations, so memory
stays flat.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson
from PIL import Image
from sqlalchemy.orm import Session

from truthset.errors import BadInput
from truthset.exports import rle
from truthset.exports.formats import Exporter
from truthset.exports.labels import CHUNK_BYTES, LabeledItem, labeled_items
from truthset.exports.mask_labels import class_mask, labeled_masks, nothing_to_write
from truthset.store.models import Job
from truthset.tasktypes import get_task_type

COCO_TASK_TYPES = ("bounding-box", "polygon", "instance-segmentation", "semantic-segmentation")
SEMANTIC = "semantic-segmentation"


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
    semantic = job.task_type == SEMANTIC
    count = 0

    def images() -> Iterator[dict[str, Any]]:
        nonlocal count
        for image in _semantic_images(session, job) if semantic else _object_images(session, job):
            count += 1
            yield image

    def annotations() -> Iterator[dict[str, Any]]:
        if semantic:
            return _semantic_annotations(session, job, len(labels))
        return _object_annotations(session, job)

    info = {
        "description": f"truthset labeling job {job.name}",
        "date_created": dt.datetime.fromtimestamp(now or 0, dt.UTC).isoformat(),
    }
    categories = [
        {"id": i + 1, "name": name, "supercategory": "none"} for i, name in enumerate(labels)
    ]
    write(_document(info, images(), annotations, categories, progress, lambda: count))
    return count


def _document(
    info: dict[str, Any],
    images: Iterable[dict[str, Any]],
    annotations: Callable[[], Iterable[dict[str, Any]]],
    categories: list[dict[str, Any]],
    progress: Callable[[int], None] | None,
    count: Callable[[], int],
) -> Iterator[bytes]:
    """The document in chunks of about CHUNK_BYTES: images first, then annotations (read
    after the images, a second walk), then categories."""
    yield b'{"info":' + orjson.dumps(info) + b',"images":['
    buf = bytearray()
    for section, rows in ((b"", images), (b'],"annotations":[', None)):
        buf += section
        first = True
        for row in rows if rows is not None else annotations():
            buf += (b"" if first else b",") + orjson.dumps(row)
            first = False
            if len(buf) >= CHUNK_BYTES:
                yield bytes(buf)
                buf.clear()
                if progress:
                    progress(count())
    buf += b'],"categories":' + orjson.dumps(categories) + b"}\n"
    yield bytes(buf)
    if progress:
        progress(count())


def _object_items(session: Session, job: Job) -> Iterator[tuple[int, LabeledItem]]:
    """(image id from 1, item) for each labeled item with an image size."""
    image_id = 0
    for item in labeled_items(session, job):
        if not isinstance(item.value, dict) or not item.value.get("image_size"):
            continue
        image_id += 1
        yield image_id, item


def _object_images(session: Session, job: Job) -> Iterator[dict[str, Any]]:
    for image_id, item in _object_items(session, job):
        size = item.value["image_size"][0]
        yield _image(image_id, item.data, size["width"], size["height"], item.external_id)


def _object_annotations(session: Session, job: Job) -> Iterator[dict[str, Any]]:
    n_annotations = 0
    for image_id, item in _object_items(session, job):
        confidences = [o.get("confidence") for o in item.meta.get("objects", [])]
        for k, ann in enumerate(item.value.get("annotations", [])):
            n_annotations += 1
            out = _annotation(ann, n_annotations, image_id)
            if k < len(confidences) and confidences[k] is not None:
                out["score"] = confidences[k]
            yield out


def _image(
    image_id: int, data: dict[str, Any], width: Any, height: Any, external_id: str
) -> dict[str, Any]:
    return {
        "id": image_id,
        "file_name": data.get("source-ref", ""),
        "width": width,
        "height": height,
        "truthset_id": external_id,
    }


def _semantic_images(session: Session, job: Job) -> Iterator[dict[str, Any]]:
    """An image per mask, its size read from the PNG's header (nothing decoded)."""
    for image_id, mask in enumerate(labeled_masks(session, job), start=1):
        try:
            with Image.open(io.BytesIO(mask.png)) as im:
                width, height = im.size
        except Exception as exc:  # noqa: BLE001 - PIL raises several types for a bad file
            raise BadInput(
                f"item {mask.external_id!r}: its mask is not a readable PNG ({exc})"
            ) from None
        yield _image(image_id, mask.data, width, height, mask.external_id)


def _semantic_annotations(session: Session, job: Job, n_labels: int) -> Iterator[dict[str, Any]]:
    """One RLE annotation per class present in each mask, classes in id order."""
    ann_id = 0
    for image_id, mask in enumerate(labeled_masks(session, job), start=1):
        classes = class_mask(mask, n_labels)
        confidence = _mask_confidence(mask.meta)
        for class_id, segmentation, area, box in rle.encode_classes(classes):
            ann_id += 1
            out: dict[str, Any] = {
                "id": ann_id,
                "image_id": image_id,
                "category_id": class_id,
                "iscrowd": 0,
                "segmentation": segmentation,
                "area": float(area),
                "bbox": box,
            }
            if confidence is not None:
                out["score"] = confidence
            yield out


def _mask_confidence(meta: dict[str, Any]) -> float | None:
    """The mask's confidence: Ground Truth repeats one per image on every class."""
    for entry in (meta.get("internal-color-map") or {}).values():
        if isinstance(entry, dict) and isinstance(entry.get("confidence"), int | float):
            return float(entry["confidence"])
    return None


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


def _missing(session: Session, job: Job) -> str | None:
    return nothing_to_write(session, job, "COCO", files=job.task_type == SEMANTIC)


COCO = Exporter(
    "coco",
    ".json",
    "COCO JSON (box, polygon, instance-segmentation jobs; semantic masks as RLE)",
    export_coco,
    COCO_TASK_TYPES,
    missing=_missing,
)
