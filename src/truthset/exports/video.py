"""Video frame labels as MOT Challenge CSV and as COCO with tracks.

Both read the label value every video frame job stores, Ground Truth's SeqLabel document
(`tasktypes/video_objects.py`; a label imported from Ground Truth as a `-ref` URI is read
from there), one entry per frame with the frame's shapes.

- **MOT** (`mot`, box jobs: `video-object-tracking`, or `video-object-detection`, whose
  objects carry ids too), a zip: `<sequence>.txt` per sequence (item), one line per box
  and frame, `frame,id,bb_left,bb_top,bb_width,bb_height,conf,-1,-1,-1` as the MOT
  Challenge's files: frames from 1 (the frame's index in the sequence + 1), pixel
  coordinates from 1 (`bb_left = left + 1`, as the devkit and motmetrics read them), ids
  whole numbers from 1 per sequence in order of first appearance, `conf` the track's
  consolidated confidence (1 when unknown), lines by frame then id. `tracks.csv` maps
  each sequence's ids to `object-id`, `object-name` and label; `sequences.csv` maps each
  file to the item's `source-ref`.
- **COCO for video** (`coco-video`, boxes, polygons, polylines or keypoints): one JSON
  document with `videos` (one per sequence: `name`, `file_name` = the sequence file,
  `width`, `height`, `length`), `images` (one per frame: `video_id`, `frame_id` from 0 as
  CocoVID readers count, `file_name` = the frame's reference, `frame-no` as the sequence
  file writes it), `annotations` (`image_id`, `video_id`, `track_id` (from 1, unique in
  the document), `instance_id` the same, `object-id` and `object-name`, `category_id` =
  class id + 1 as in the image COCO export, `bbox` [x, y, w, h], `area`, `iscrowd` 0,
  `segmentation` one ring for a polygon, `keypoints` [x, y, 2] for a keypoint,
  `polyline` [x1, y1, ...] for a polyline (COCO has no line type), `attributes` the
  label-category attributes) and `categories`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

import orjson
from sqlalchemy.orm import Session

from truthset.errors import AppError, BadInput
from truthset.exports.archives import ZipSink
from truthset.exports.formats import Exporter
from truthset.exports.labels import CHUNK_BYTES, LabeledItem, file_name, labeled_items
from truthset.exports.mask_labels import nothing_to_write
from truthset.geometry.tracks import ANNOTATION_TYPE_SHAPE, SHAPE_LIST_KEY
from truthset.store.models import Job
from truthset.tasktypes import get_task_type

VIDEO_TASK_TYPES = ("video-object-detection", "video-object-tracking")
SEQ_KEYS = ("tracking-annotations", "detection-annotations")
MAX_SEQLABEL_BYTES = 256 << 20


def shape_of_job(job: Job) -> str:
    config = get_task_type(job.task_type).parse_label_config(job.label_config)
    return ANNOTATION_TYPE_SHAPE[config.annotation_type or "BoundingBox"]


def seqlabel_of(item: LabeledItem) -> Mapping[str, Any]:
    """The item's SeqLabel document: the label value, or the file a `-ref` URI names."""
    value = item.value
    if isinstance(value, str):
        from truthset.media.storage import read_document

        value = orjson.loads(read_document(value, "SeqLabel.json", limit=MAX_SEQLABEL_BYTES))
    if not isinstance(value, Mapping):
        raise BadInput(f"item {item.external_id!r}: its label is not a SeqLabel document")
    return value


def frame_entries(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    for key in SEQ_KEYS:
        entries = document.get(key)
        if isinstance(entries, list):
            return [e for e in entries if isinstance(e, Mapping)]
    return []


class SequenceFacts:
    """The item's sequence as the exports need it: each frame's index by name, its
    reference, the frame size; from the sequence file when it can be read, else from the
    label alone (indexes in the label's order, no size)."""

    def __init__(self, item: LabeledItem, entries: list[Mapping[str, Any]]):
        from truthset.media import sequences
        from truthset.media.info import UnreadableMedia, image_size

        self.refs: dict[str, str] = {}
        self.index: dict[str, int] = {}
        self.size: tuple[int, int] | None = None
        self.length = len(entries)
        ref = item.data.get("source-ref")
        try:
            seq = sequences.load_sequence(str(ref)) if isinstance(ref, str) else None
        except (AppError, OSError):  # moved or unreadable: the label is enough
            seq = None
        if seq is not None:
            self.length = seq.number_of_frames
            for frame in seq.frames:
                self.index[frame.frame] = frame.index
                self.refs[frame.frame] = frame.ref
            try:
                self.size = image_size(seq.frames[0].ref)
            except UnreadableMedia:
                self.size = None
        for position, entry in enumerate(entries):
            name = str(entry.get("frame", position))
            self.index.setdefault(name, position)

    def index_of(self, entry: Mapping[str, Any], position: int) -> int:
        return self.index.get(str(entry.get("frame", position)), position)


def _track_confidences(meta: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for track in meta.get("tracks") or []:
        if isinstance(track, Mapping) and isinstance(track.get("confidence"), int | float):
            out[str(track.get("object-id"))] = float(track["confidence"])
    return out


def _bbox(shape: str, obj: Mapping[str, Any]) -> tuple[float, float, float, float]:
    if shape == "box":
        return float(obj["left"]), float(obj["top"]), float(obj["width"]), float(obj["height"])
    if shape == "keypoint":
        return float(obj["x"]), float(obj["y"]), 0.0, 0.0
    xs = [float(v["x"]) for v in obj["vertices"]]
    ys = [float(v["y"]) for v in obj["vertices"]]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def _num(value: float) -> int | float:
    r = round(value, 2)
    return int(r) if r.is_integer() else r


def _unique_name(item: LabeledItem, taken: set[str]) -> str:
    name, n = file_name(item.external_id), 1
    while name in taken:
        n += 1
        name = f"{file_name(item.external_id)}-{n}"
    taken.add(name)
    return name


# -- MOT -----------------------------------------------------------------------------------


def mot_lines(
    item: LabeledItem, shape: str = "box"
) -> tuple[list[str], list[tuple[int, str, str, str]]]:
    """The item's MOT lines and its (id, object-id, object-name, label) rows."""
    document = seqlabel_of(item)
    entries = frame_entries(document)
    facts = SequenceFacts(item, entries)
    names = {str(k): v for k, v in (item.meta.get("class-map") or {}).items()}
    confidences = _track_confidences(item.meta)
    ids: dict[str, int] = {}
    tracks: list[tuple[int, str, str, str]] = []
    rows: list[tuple[int, int, str]] = []
    for position, entry in enumerate(entries):
        frame = facts.index_of(entry, position) + 1
        for obj in entry.get(SHAPE_LIST_KEY[shape]) or []:
            object_id = str(obj.get("object-id") or f"{position}-{len(rows)}")
            if object_id not in ids:
                ids[object_id] = len(ids) + 1
                label = names.get(str(obj.get("class-id")), "")
                tracks.append((ids[object_id], object_id, str(obj.get("object-name", "")), label))
            left, top, width, height = _bbox(shape, obj)
            conf = confidences.get(object_id, 1.0)
            rows.append(
                (
                    frame,
                    ids[object_id],
                    f"{frame},{ids[object_id]},{_num(left + 1)},{_num(top + 1)},"
                    f"{_num(width)},{_num(height)},{_num(conf)},-1,-1,-1",
                )
            )
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows], tracks


def _csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def export_mot(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    **_: Any,
) -> int:
    """The zip of MOT files; returns how many sequences."""
    count = 0

    def chunks() -> Iterator[bytes]:
        nonlocal count
        sink = ZipSink()
        taken: set[str] = set()
        tracks: list[list[Any]] = [["sequence", "id", "object-id", "object-name", "label"]]
        refs: list[list[Any]] = [["sequence", "file", "source-ref"]]
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for item in labeled_items(session, job):
                name = _unique_name(item, taken)
                lines, item_tracks = mot_lines(item)
                archive.writestr(f"{name}.txt", "".join(f"{line}\n" for line in lines))
                tracks.extend([name, *t] for t in item_tracks)
                refs.append([name, f"{name}.txt", item.data.get("source-ref", "")])
                count += 1
                if sink.pending >= CHUNK_BYTES:
                    yield sink.take()
                    if progress:
                        progress(count)
            archive.writestr("tracks.csv", _csv(tracks))
            archive.writestr("sequences.csv", _csv(refs))
        yield sink.take()
        if progress:
            progress(count)

    write(chunks())
    return count


def _mot_missing(session: Session, job: Job) -> str | None:
    if shape_of_job(job) != "box":
        return (
            f"the mot format is for boxes; job {job.name!r} draws "
            f"{shape_of_job(job)}s (export it as coco-video)"
        )
    return nothing_to_write(session, job, "MOT")


# -- COCO for video --------------------------------------------------------------------------


def _annotation(
    shape: str, obj: Mapping[str, Any], base: dict[str, Any], score: float | None
) -> dict[str, Any]:
    left, top, width, height = _bbox(shape, obj)
    out = {**base, "bbox": [_num(left), _num(top), _num(width), _num(height)], "iscrowd": 0}
    if shape == "polygon":
        ring = [c for v in obj["vertices"] for c in (_num(float(v["x"])), _num(float(v["y"])))]
        xs, ys = ring[0::2], ring[1::2]
        area = 0.5 * abs(
            sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs)))  # shoelace
        )
        out["segmentation"] = [ring]
        out["area"] = _num(area)
    elif shape == "polyline":
        out["polyline"] = [
            c for v in obj["vertices"] for c in (_num(float(v["x"])), _num(float(v["y"])))
        ]
        out["area"] = 0
    elif shape == "keypoint":
        out["keypoints"] = [_num(float(obj["x"])), _num(float(obj["y"])), 2]
        out["num_keypoints"] = 1
        out["area"] = 0
    else:
        out["area"] = _num(width * height)
    attributes = obj.get("label-category-attributes")
    if attributes:
        out["attributes"] = attributes
    if score is not None:
        out["score"] = score
    return out


def export_coco_video(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    now: float = 0.0,
    **_: Any,
) -> int:
    """One COCO JSON document of every labeled sequence; returns how many sequences."""
    shape = shape_of_job(job)
    labels = list(get_task_type(job.task_type).parse_label_config(job.label_config).labels)
    categories = [{"id": i + 1, "name": n, "supercategory": "none"} for i, n in enumerate(labels)]
    info = {
        "description": f"truthset labeling job {job.name} (video)",
        "date_created": dt.datetime.fromtimestamp(now or 0, dt.UTC).isoformat(),
    }
    count = 0

    def chunks() -> Iterator[bytes]:
        nonlocal count
        videos, images = bytearray(), bytearray()
        # The annotations wait on disk while the images are collected (memory stays flat).
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=CHUNK_BYTES * 8)  # noqa: SIM115
        image_id = track_base = annotation_id = 0
        taken: set[str] = set()
        yield b'{"info":' + orjson.dumps(info) + b',"categories":' + orjson.dumps(categories)
        for item in labeled_items(session, job):
            count += 1
            entries = frame_entries(seqlabel_of(item))
            facts = SequenceFacts(item, entries)
            size = facts.size
            video: dict[str, Any] = {
                "id": count,
                "name": _unique_name(item, taken),
                "file_name": item.data.get("source-ref"),
                "length": facts.length,
            }
            if size is not None:
                video["width"], video["height"] = size
            videos += (b"," if len(videos) else b"") + orjson.dumps(video)
            confidences = _track_confidences(item.meta)
            tracks: dict[str, int] = {}
            for position, entry in enumerate(entries):
                image_id += 1
                index = facts.index_of(entry, position)
                name = str(entry.get("frame", ""))
                image: dict[str, Any] = {
                    "id": image_id,
                    "video_id": count,
                    "frame_id": index,
                    "file_name": facts.refs.get(name, name),
                    "frame-no": entry.get("frame-no"),
                }
                if size is not None:
                    image["width"], image["height"] = size
                images += (b"," if len(images) else b"") + orjson.dumps(image)
                for obj in entry.get(SHAPE_LIST_KEY[shape]) or []:
                    object_id = str(obj.get("object-id") or f"{image_id}-{annotation_id}")
                    if object_id not in tracks:
                        tracks[object_id] = track_base + len(tracks) + 1
                    annotation_id += 1
                    class_id = int(obj.get("class-id", 0))
                    base = {
                        "id": annotation_id,
                        "image_id": image_id,
                        "video_id": count,
                        "track_id": tracks[object_id],
                        "instance_id": tracks[object_id],
                        "category_id": class_id + 1,
                        "object-id": object_id,
                        "object-name": obj.get("object-name"),
                    }
                    row = _annotation(shape, obj, base, confidences.get(object_id))
                    spool.write((b"," if spool.tell() else b"") + orjson.dumps(row))
            track_base += len(tracks)
            if progress:
                progress(count)
        yield b',"videos":[' + bytes(videos) + b'],"images":['
        for start in range(0, len(images), CHUNK_BYTES):
            yield bytes(images[start : start + CHUNK_BYTES])
        yield b'],"annotations":['
        spool.seek(0)
        while block := spool.read(CHUNK_BYTES):
            yield block
        yield b"]}\n"
        spool.close()

    write(chunks())
    return count


def _coco_missing(session: Session, job: Job) -> str | None:
    return nothing_to_write(session, job, "COCO")


MOT = Exporter(
    "mot",
    ".zip",
    "MOT Challenge CSV per sequence (frame,id,bb_left,bb_top,bb_width,bb_height,conf), zipped",
    export_mot,
    task_types=VIDEO_TASK_TYPES,
    missing=_mot_missing,
)
COCO_VIDEO = Exporter(
    "coco-video",
    ".json",
    "COCO for video: one image per frame, track_id and video_id on annotations",
    export_coco_video,
    task_types=VIDEO_TASK_TYPES,
    missing=_coco_missing,
)
