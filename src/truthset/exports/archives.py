"""Formats that are a folder of files per image (YOLO, Pascal VOC), delivered as one zip
archive streamed as it is written: each file goes out when it is complete, so memory
stays flat on any job size.

- **YOLO** (`yolo`, box jobs): `labels/<item id>.txt` with one line per box, `class
  x_center y_center width height` normalised to the image size (0-1), `classes.txt` (one
  name per line, line = class id), and `images.txt` mapping each label file to the
  item's `source-ref`.
- **Pascal VOC** (`voc`, box jobs): `Annotations/<item id>.xml` per image: `filename`
  (the source-ref), `size`, and one `object` per box with `name`, `pose` Unspecified,
  `truncated` and `difficult` 0, and `bndbox` in 1-based pixel coordinates
  (`xmin = left + 1`, `xmax = left + width`), as the VOC devkit reads them.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy.orm import Session

from truthset.exports.formats import Exporter
from truthset.exports.labels import LabeledItem, file_name, labeled_items
from truthset.exports.mask_labels import nothing_to_write
from truthset.store.models import Job
from truthset.tasktypes import get_task_type


class ZipSink:
    """A write-only file for zipfile whose bytes are taken out as they come."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.pending = 0  # bytes written since the last take

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        self.pending += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        out, self.parts, self.pending = b"".join(self.parts), [], 0
        return out


def zip_export(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    files_for: Callable[[LabeledItem, list[str]], list[tuple[str, bytes]]],
    extra: Callable[[list[str]], list[tuple[str, bytes]]],
    progress: Callable[[int], None] | None,
) -> int:
    names = list(get_task_type(job.task_type).parse_label_config(job.label_config).labels)
    count = 0

    def chunks() -> Iterator[bytes]:
        nonlocal count
        sink = ZipSink()
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for item in labeled_items(session, job):
                if not isinstance(item.value, dict) or not item.value.get("image_size"):
                    continue
                for name, data in files_for(item, names):
                    archive.writestr(name, data)
                count += 1
                if sink.size and len(sink.parts) > 256:
                    yield sink.take()
                    if progress:
                        progress(count)
            for name, data in extra(names):
                archive.writestr(name, data)
        yield sink.take()
        if progress:
            progress(count)

    write(chunks())
    return count


def export_yolo(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    **_: Any,
) -> int:
    """A zip of YOLO label files for a box job; returns how many images."""
    sources: list[str] = []

    def files_for(item: LabeledItem, _names: list[str]) -> list[tuple[str, bytes]]:
        size = item.value["image_size"][0]
        width, height = float(size["width"]), float(size["height"])
        lines = []
        for box in item.value.get("annotations", []):
            left, top = float(box["left"]), float(box["top"])
            w, h = float(box["width"]), float(box["height"])
            lines.append(
                f"{int(box['class_id'])} {(left + w / 2) / width:.6f} "
                f"{(top + h / 2) / height:.6f} {w / width:.6f} {h / height:.6f}"
            )
        name = f"labels/{file_name(item.external_id)}.txt"
        sources.append(f"{name}\t{item.data.get('source-ref', '')}")
        return [(name, ("\n".join(lines) + "\n" if lines else "").encode())]

    def extra(names: list[str]) -> list[tuple[str, bytes]]:
        return [
            ("classes.txt", ("\n".join(names) + "\n").encode()),
            ("images.txt", ("\n".join(sources) + "\n").encode()),
        ]

    return zip_export(session, job, write, files_for, extra, progress)


def export_voc(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    **_: Any,
) -> int:
    """A zip of Pascal VOC annotation files for a box job; returns how many images."""

    def files_for(item: LabeledItem, names: list[str]) -> list[tuple[str, bytes]]:
        size = item.value["image_size"][0]
        objects = []
        for box in item.value.get("annotations", []):
            left, top = float(box["left"]), float(box["top"])
            right, bottom = left + float(box["width"]), top + float(box["height"])
            class_id = int(box["class_id"])
            name = names[class_id] if 0 <= class_id < len(names) else str(class_id)
            objects.append(
                f"<object><name>{escape(name)}</name><pose>Unspecified</pose>"
                "<truncated>0</truncated><difficult>0</difficult><bndbox>"
                f"<xmin>{round(left) + 1}</xmin><ymin>{round(top) + 1}</ymin>"
                f"<xmax>{round(right)}</xmax><ymax>{round(bottom)}</ymax></bndbox></object>"
            )
        xml = (
            "<annotation><folder>truthset</folder>"
            f"<filename>{escape(str(item.data.get('source-ref', '')))}</filename>"
            f"<size><width>{int(size['width'])}</width><height>{int(size['height'])}</height>"
            f"<depth>{int(size.get('depth', 3))}</depth></size><segmented>0</segmented>"
            + "".join(objects)
            + "</annotation>\n"
        )
        return [(f"Annotations/{file_name(item.external_id)}.xml", xml.encode())]

    return zip_export(session, job, write, files_for, lambda _names: [], progress)


YOLO = Exporter(
    "yolo",
    ".zip",
    "YOLO label files, classes.txt and images.txt, zipped (box jobs)",
    export_yolo,
    ("bounding-box",),
    missing=lambda session, job: nothing_to_write(session, job, "YOLO"),
)
VOC = Exporter(
    "voc",
    ".zip",
    "Pascal VOC annotation XML per image, zipped (box jobs)",
    export_voc,
    ("bounding-box",),
    missing=lambda session, job: nothing_to_write(session, job, "Pascal VOC"),
)
