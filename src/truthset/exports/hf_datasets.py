"""A job's labels as a Hugging Face `datasets` dataset: one Parquet file whose schema
carries the dataset's features (the `huggingface` schema metadata `datasets` writes
itself), so that `Dataset.from_parquet(path)` or `load_dataset("parquet",
data_files=path)` gives them back typed, with no conversion code.

Columns, per task type:
- every type: `id` (the item id), `source-ref` (or `source` for a text item), and
  `human` (whether people made the label, not the model);
- image types: `image` as the `Image` feature (the file's bytes, read through the
  workspace's allowed roots, and its `source-ref` as the path), decoded by `datasets` on
  access;
- text types: `text` (the item's `source`);
- classification: `label` as `ClassLabel` (the job's label names, class ids unchanged);
  multi-label: `labels` as a list of `ClassLabel`;
- boxes: `width`, `height` and `objects` (`bbox` as [x, y, width, height] in pixels,
  COCO's order, and `category` as `ClassLabel`), the layout of the Hub's detection sets.

Written in row groups of ROW_GROUP items, each handed out as it is complete, so memory
stays flat on any job size. pyarrow writes it (the `hf` extra); `datasets` itself is not
needed to export, only to read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.errors import BadInput
from truthset.exports.formats import Exporter
from truthset.exports.labels import LabeledItem, labeled_items
from truthset.exports.mask_labels import nothing_to_write
from truthset.media.storage import AllowedRoots, open_ref
from truthset.store.models import Job
from truthset.tasktypes import get_task_type
from truthset.workspace import settings_of_session

CLASSIFICATION = ("image-classification", "text-classification")
MULTILABEL = ("image-classification-multilabel", "text-classification-multilabel")
BOXES = ("bounding-box",)
HF_TASK_TYPES = (*CLASSIFICATION, *MULTILABEL, *BOXES)
# Items per Parquet row group: images make rows of a few hundred KB.
ROW_GROUP = 256
# An image larger than this is refused (the export would hold it in memory).
MAX_IMAGE_BYTES = 64 << 20


def _value(dtype: str) -> dict[str, Any]:
    return {"dtype": dtype, "_type": "Value"}


def _class_label(names: list[str]) -> dict[str, Any]:
    return {"names": names, "_type": "ClassLabel"}


def _list(feature: dict[str, Any], length: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"feature": feature, "_type": "List"}
    if length is not None:
        out["length"] = length
    return out


def features_for(task_type: str, names: list[str], *, image: bool) -> dict[str, Any]:
    """The dataset's features as `datasets.Features.to_dict()` writes them."""
    features: dict[str, Any] = {"id": _value("string")}
    if image:
        features["source-ref"] = _value("string")
        features["image"] = {"_type": "Image"}
    else:
        features["source"] = _value("string")
        features["text"] = _value("string")
    if task_type in CLASSIFICATION:
        features["label"] = _class_label(names)
    elif task_type in MULTILABEL:
        features["labels"] = _list(_class_label(names))
    else:
        features["width"] = _value("int32")
        features["height"] = _value("int32")
        features["objects"] = {
            "bbox": _list(_list(_value("float32"), 4)),
            "category": _list(_class_label(names)),
        }
    features["human"] = _value("bool")
    return features


def _arrow_schema(features: dict[str, Any]) -> Any:
    import pyarrow as pa

    def arrow_type(feature: dict[str, Any]) -> Any:
        kind = feature.get("_type")
        if kind == "Value":
            return {
                "string": pa.string(),
                "int32": pa.int32(),
                "float32": pa.float32(),
                "bool": pa.bool_(),
            }[feature["dtype"]]
        if kind == "ClassLabel":
            return pa.int64()
        if kind == "Image":
            return pa.struct([("bytes", pa.binary()), ("path", pa.string())])
        if kind == "List":
            inner = arrow_type(feature["feature"])
            if "length" in feature:
                return pa.list_(inner, feature["length"])
            return pa.list_(inner)
        return pa.struct([(k, arrow_type(v)) for k, v in feature.items()])

    metadata = {"huggingface": orjson.dumps({"info": {"features": features}})}
    return pa.schema([(k, arrow_type(v)) for k, v in features.items()], metadata=metadata)


class _Sink:
    """A write-only file for pyarrow whose bytes are taken out as they come."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.closed = False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.size += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


class _Media:
    """Reads an item's file (its image bytes, or the text of a text `source-ref`)
    through the workspace's allowed roots."""

    def __init__(self, session: Session) -> None:
        settings = settings_of_session(session)
        self.endpoint_url = settings.s3_endpoint_url if settings else None
        roots = [str(settings.media_dir), *settings.allowed_roots] if settings else []
        self.roots = AllowedRoots(roots)

    def read(self, item: LabeledItem, ref: str) -> bytes:
        if not self.roots.allows(ref):
            raise BadInput(
                f"item {item.external_id!r}: {ref!r} is outside the allowed roots and buckets"
            )
        try:
            with open_ref(ref, self.roots, endpoint_url=self.endpoint_url) as fh:
                data = fh.read(MAX_IMAGE_BYTES + 1)
        except Exception as exc:  # noqa: BLE001 - named with the item below
            raise BadInput(f"item {item.external_id!r}: cannot read {ref!r} ({exc})") from None
        if len(data) > MAX_IMAGE_BYTES:
            raise BadInput(f"item {item.external_id!r}: {ref!r} is larger than 64 MB")
        return bytes(data)


def _row(task_type: str, item: LabeledItem, media: _Media, image: bool) -> dict[str, Any]:
    ref = item.data.get("source-ref")
    row: dict[str, Any] = {"id": item.external_id}
    if image:
        if not isinstance(ref, str):
            raise BadInput(f"item {item.external_id!r} has no source-ref image")
        row["source-ref"] = ref
        row["image"] = {"bytes": media.read(item, ref), "path": ref}
    else:
        source = item.data.get("source")
        if not isinstance(source, str) and isinstance(ref, str):
            source = media.read(item, ref).decode("utf-8", errors="replace")
        row["source"] = item.data.get("source")
        row["text"] = source
    value = item.value
    if task_type in CLASSIFICATION:
        row["label"] = int(value)
    elif task_type in MULTILABEL:
        row["labels"] = [int(v) for v in value]
    else:
        size = (value.get("image_size") or [{}])[0] if isinstance(value, dict) else {}
        boxes = value.get("annotations", []) if isinstance(value, dict) else []
        row["width"] = size.get("width")
        row["height"] = size.get("height")
        row["objects"] = {
            "bbox": [[float(b[k]) for k in ("left", "top", "width", "height")] for b in boxes],
            "category": [int(b["class_id"]) for b in boxes],
        }
    row["human"] = item.human
    return row


def export_hf(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    now: float = 0.0,
    labeled_only: bool = True,
    artifact_sink: Any = None,
) -> int:
    """Write the job's labeled items as one Parquet file with Hugging Face features;
    returns how many rows. The job must be of an HF_TASK_TYPES type."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise BadInput(
            "the hf export needs pyarrow: pip install 'truthset[hf]' (or pyarrow)"
        ) from None
    names = list(get_task_type(job.task_type).parse_label_config(job.label_config).labels)
    image = job.task_type.startswith("image-") or job.task_type in BOXES
    schema = _arrow_schema(features_for(job.task_type, names, image=image))
    media = _Media(session)
    count = 0

    def chunks() -> Iterator[bytes]:
        nonlocal count
        sink = _Sink()
        writer = pq.ParquetWriter(sink, schema)
        rows: list[dict[str, Any]] = []

        def flush() -> bytes:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            rows.clear()
            return sink.take()

        for item in labeled_items(session, job):
            rows.append(_row(job.task_type, item, media, image))
            count += 1
            if len(rows) >= ROW_GROUP:
                yield flush()
                if progress:
                    progress(count)
        if rows:
            yield flush()
        writer.close()
        yield sink.take()
        if progress:
            progress(count)

    write(chunks())
    return count


def _missing(session: Session, job: Job) -> str | None:
    return nothing_to_write(session, job, "a Hugging Face dataset", files=False)


HF = Exporter(
    "hf",
    ".parquet",
    "Hugging Face datasets Parquet (Image, ClassLabel and box features; "
    "Dataset.from_parquet reads it)",
    export_hf,
    HF_TASK_TYPES,
    missing=_missing,
)
