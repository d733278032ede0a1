"""The Hugging Face export read back with `datasets` itself: an imported Ground Truth
job's labels as ClassLabel (class ids unchanged), multi-labels as a list of ClassLabel,
boxes as `objects`, images as the Image feature decoded to the very pixels, and the
text of text items; a job of another type is refused before anything is written."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from exports.mask_jobs import export
from support import write_manifest
from truthset.datasets.importer import import_source
from truthset.errors import BadInput
from truthset.workspace import Workspace

datasets = pytest.importorskip("datasets")

DATE = "2020-10-18T22:18:13.527256"
NAMES = ["cat", "dog", "bird"]


def meta(kind: str, human: str = "yes", **extra: Any) -> dict[str, Any]:
    return {
        **extra,
        "type": f"groundtruth/{kind}",
        "job-name": "labeling-job/animals",
        "human-annotated": human,
        "creation-date": DATE,
    }


def images(ws: Workspace, n: int) -> list[tuple[str, np.ndarray]]:
    """n small RGB images in the media folder: (source-ref, pixels)."""
    out = []
    rng = np.random.default_rng(7)
    for i in range(n):
        pixels = rng.integers(0, 255, (6 + i, 9, 3), dtype=np.uint8)
        path = ws.settings.media_dir / f"img-{i}.png"
        Image.fromarray(pixels).save(path)
        out.append((str(path), pixels))
    return out


def import_lines(ws: Workspace, lines: list[dict[str, Any]], dataset: str) -> str:
    path = write_manifest(ws.settings.media_dir / f"{dataset}.manifest", lines)
    with ws.db.session_scope() as s:
        result = import_source(s, dataset, str(path), allowed_roots=ws.allowed_roots)
    (summary,) = result.labels.values()
    return str(summary["job"])


def load(tmp_path: Path, body: bytes) -> Any:
    path = tmp_path / "job.parquet"
    path.write_bytes(body)
    return datasets.Dataset.from_parquet(str(path))


def test_image_classification_loads_as_image_and_class_label(ws, tmp_path):
    # Class ids out of the label order's first-seen order: they must come back unchanged.
    refs = images(ws, 4)
    class_ids = [2, 0, 1, 2]
    lines = [
        {
            "source-ref": ref,
            "id": f"a{i}",
            "animal": cid,
            "animal-metadata": meta(
                "image-classification",
                human="no" if i == 3 else "yes",
                **{"class-name": NAMES[cid], "confidence": 0.9},
            ),
        }
        for i, ((ref, _), cid) in enumerate(zip(refs, class_ids, strict=True))
    ]
    job = import_lines(ws, lines, "pics")
    n, body = export(ws, job, "hf")
    assert n == 4
    ds = load(tmp_path, body)
    features = ds.features
    assert isinstance(features["label"], datasets.ClassLabel)
    assert features["label"].names == NAMES
    assert isinstance(features["image"], datasets.Image)
    assert ds["id"] == ["a0", "a1", "a2", "a3"]
    assert ds["label"] == class_ids
    assert [features["label"].int2str(c) for c in ds["label"]] == ["bird", "cat", "dog", "bird"]
    assert ds["human"] == [True, True, True, False]
    for row, (ref, pixels) in zip(ds, refs, strict=True):
        assert row["source-ref"] == ref
        assert np.array_equal(np.asarray(row["image"].convert("RGB")), pixels)


def test_boxes_load_as_objects_with_class_labels(ws, tmp_path):
    refs = images(ws, 2)
    boxes = [
        [{"class_id": 1, "left": 1, "top": 2, "width": 3, "height": 4}],
        [
            {"class_id": 0, "left": 0, "top": 0, "width": 5, "height": 5},
            {"class_id": 2, "left": 4.5, "top": 1, "width": 2, "height": 3},
        ],
    ]
    lines = [
        {
            "source-ref": ref,
            "boxes": {
                "annotations": anns,
                "image_size": [{"width": 9, "height": pixels.shape[0], "depth": 3}],
            },
            "boxes-metadata": meta(
                "object-detection",
                **{
                    "class-map": {"0": "cat", "1": "dog", "2": "bird"},
                    "objects": [{"confidence": 0.8} for _ in anns],
                },
            ),
        }
        for (ref, pixels), anns in zip(refs, boxes, strict=True)
    ]
    job = import_lines(ws, lines, "boxes")
    _n, body = export(ws, job, "hf")
    ds = load(tmp_path, body)
    category = ds.features["objects"]["category"]
    assert category.feature.names == NAMES
    assert ds["width"] == [9, 9]
    assert ds["height"] == [6, 7]
    assert ds[1]["objects"]["bbox"] == [[0.0, 0.0, 5.0, 5.0], [4.5, 1.0, 2.0, 3.0]]
    assert ds[1]["objects"]["category"] == [0, 2]
    assert ds[0]["objects"] == {"bbox": [[1.0, 2.0, 3.0, 4.0]], "category": [1]}


def test_text_multilabel_loads_as_text_and_a_list_of_class_labels(ws, tmp_path):
    lines = [
        {
            "source": text,
            "tags": ids,
            "tags-metadata": meta(
                "text-classification-multilabel",
                **{"class-map": {str(c): NAMES[c] for c in ids}, "confidence-map": {}},
            ),
        }
        for text, ids in (("a cat and a dog", [0, 1]), ("a bird", [2]))
    ]
    job = import_lines(ws, lines, "texts")
    _n, body = export(ws, job, "hf")
    ds = load(tmp_path, body)
    assert ds.features["labels"].feature.names == NAMES
    assert ds["text"] == ["a cat and a dog", "a bird"]
    assert ds["labels"] == [[0, 1], [2]]


def test_another_task_type_is_refused_before_writing(ws):
    lines = [
        {
            "source": "Alice met Bob",
            "ner": {
                "annotations": {
                    "entities": [{"label": "person", "startOffset": 0, "endOffset": 5}],
                    "labels": [{"label": "person"}],
                }
            },
            "ner-metadata": meta("text-span", entities=[{"confidence": 0.9}]),
        }
    ]
    job = import_lines(ws, lines, "spans")
    with pytest.raises(BadInput, match="hf format is for"):
        export(ws, job, "hf")


def test_an_image_outside_the_allowed_roots_names_the_item(ws, tmp_path):
    outside = tmp_path / "elsewhere.png"
    Image.fromarray(np.zeros((2, 2, 3), dtype=np.uint8)).save(outside)
    line = {
        "source-ref": str(outside),
        "id": "far",
        "animal": 0,
        "animal-metadata": meta("image-classification", **{"class-name": "cat"}),
    }
    other = {**line, "id": "near", "source-ref": images(ws, 1)[0][0], "animal": 1}
    other["animal-metadata"] = meta("image-classification", **{"class-name": "dog"})
    path = write_manifest(ws.settings.media_dir / "far.manifest", [line, other])
    with ws.db.session_scope() as s:
        result = import_source(
            s, "far", str(path), allowed_roots=[*ws.allowed_roots, str(tmp_path)]
        )
    job = result.labels["animal"]["job"]
    with pytest.raises(BadInput, match="'far'.*outside the allowed roots"):
        export(ws, job, "hf")


def test_the_export_is_written_in_row_groups(ws, tmp_path, monkeypatch):
    """Memory stays flat: one row group per ROW_GROUP items, each handed out whole."""
    import pyarrow.parquet as pq

    from truthset.exports import hf_datasets

    monkeypatch.setattr(hf_datasets, "ROW_GROUP", 2)
    refs = images(ws, 5)
    lines = [
        {
            "source-ref": ref,
            "animal": i % 3,
            "animal-metadata": meta("image-classification", **{"class-name": NAMES[i % 3]}),
        }
        for i, (ref, _) in enumerate(refs)
    ]
    job = import_lines(ws, lines, "groups")
    _n, body = export(ws, job, "hf")
    assert pq.ParquetFile(io.BytesIO(body)).num_row_groups == 3
    assert load(tmp_path, body)["label"] == [0, 1, 2, 0, 1]
