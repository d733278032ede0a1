"""Pre-labeling with your own ONNX model (settings.prelabel.onnx), end to end on SQLite:
the job's settings name a tiny model built by the test, the prelabel run writes its
predictions into the items, the worker's tool gets them, the report counts the time."""

from __future__ import annotations

import base64
import io
import json
import os
import uuid
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import make_workspace, require
from onnx_models_support import (
    box_detector,
    bright_rectangles,
    colour_classifier,
    sam_decoder,
    sam_encoder,
)
from support import Setup, bearer, require_module, wait_run, write_manifest
from truthset.autolabel import repository
from truthset.autolabel.prelabel import plan_onnx_predictions
from truthset.cli.main import app
from truthset.datasets.importer import import_source
from truthset.errors import BadInput
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import create_job, get_job
from truthset.media.storage import s3_client

require_module("onnxruntime")
require_module("onnx")

# Where the bright rectangle of each image is (left, top, width, height), 100 x 60.
RECTS = {"a": (30, 10, 40, 30), "b": (5, 5, 20, 20), "c": (60, 25, 35, 30), "d": (10, 30, 50, 20)}


def _near(box, rect, tol=2.0) -> bool:
    keys = ("left", "top", "width", "height")
    return all(abs(box[k] - v) <= tol for k, v in zip(keys, rect, strict=True))


def _save_model(ws, name: str, data: bytes) -> str:
    path = ws.settings.media_dir / "models" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def _images(ws, dataset: str, images: dict[str, np.ndarray], extra=None) -> None:
    folder = ws.settings.media_dir / dataset
    folder.mkdir(parents=True)
    rows = []
    for name, pixels in images.items():
        Image.fromarray(pixels).save(folder / f"{name}.png")
        rows.append(
            {"id": name, "source-ref": str(folder / f"{name}.png"), **(extra or {}).get(name, {})}
        )
    manifest = write_manifest(ws.settings.media_dir / f"{dataset}.manifest", rows)
    with ws.db.session_scope() as s:
        import_source(s, dataset, str(manifest), allowed_roots=ws.allowed_roots)


def _create(ws, name: str, task_type: str, labels, dataset: str, onnx: dict) -> None:
    with ws.db.session_scope() as s:
        create_job(
            s,
            JobCreate(
                name=name,
                task_type=task_type,
                label_config=labels,
                dataset=dataset,
                workers_per_item=1,
                teams=["crew"],
                settings={"prelabel": {"onnx": onnx}},
            ),
        )


def _prelabel(ws, client, admin, job: str) -> dict:
    from truthset.runs.executor import run_pending

    r = client.post(f"/api/jobs/{job}/prelabel", headers=admin, json={"detector": "onnx"})
    assert r.status_code == 202, r.json()
    run_pending(ws.db, ws.settings)
    run = wait_run(client, r.json()["id"], admin)
    assert run["state"] == "succeeded", run
    return run["result"]


def test_yolo_model_boxes_reach_the_tool_and_the_report_counts_the_time(ws, client, monkeypatch):
    from truthset.autolabel import prelabel

    # Two items a batch: the run's report adds the batches up.
    monkeypatch.setattr(prelabel, "ONNX_BATCH", 2)
    setup = Setup(ws, n_items=0, n_workers=1)
    _images(ws, "rects", {k: bright_rectangles(100, 60, [r]) for k, r in RECTS.items()})
    path = _save_model(ws, "yolo.onnx", box_detector("yolo"))
    _create(
        ws,
        "boxes",
        "bounding-box",
        ["rect", "dim"],
        "rects",
        {"path": path, "kind": "yolo", "labels": {"0": "dim", "1": "rect"}},
    )
    admin = bearer(setup.admin_token)
    worker = bearer(setup.worker_tokens["w00"])
    # The first task is leased before pre-labeling: it is answered without a prediction.
    first = client.post("/api/jobs/boxes/next", headers=worker).json()
    assert first["prediction"] is None
    result = _prelabel(ws, client, admin, "boxes")
    assert result["items"] == 3 and result["kind"] == "yolo" and result["boxes"] == 3
    # Class 2 is not mapped: one box per image dropped, and said so.
    assert result["dropped_classes"] == {"2": 3} and result["unreadable"] == 0
    assert result["processed"] == 3 and result["ms_per_item"] > 0
    empty = {"boundingBoxes": [], "inputImageProperties": {"width": 100, "height": 60}}
    r = client.post(
        f"/api/assignments/{first['assignment_id']}/submit",
        headers=worker,
        json={"answer": empty, "time_spent": 12.0},
    )
    assert r.status_code == 200, r.json()
    for n in range(3):
        task = client.post("/api/jobs/boxes/next", headers=worker).json()
        prediction = task["prediction"]
        (box,) = prediction["boundingBoxes"]
        assert box["label"] == "rect" and _near(box, RECTS[task["item"]["id"]]), (task, box)
        answer = prediction if n < 2 else {**prediction, "boundingBoxes": []}
        r = client.post(
            f"/api/assignments/{task['assignment_id']}/submit",
            headers=worker,
            json={"answer": answer, "time_spent": 4.0},
        )
        assert r.status_code == 200, r.json()
    report = client.get("/api/jobs/boxes/prelabeling", headers=admin).json()
    assert report["with_prediction"]["answers"] == 3
    assert report["with_prediction"]["kept_unchanged"] == 2
    assert report["without_prediction"]["answers"] == 1
    assert report["median_time_saved"] == pytest.approx(8.0)
    # Nothing is left to pre-label: predictions are not replaced.
    assert _prelabel(ws, client, admin, "boxes")["items"] == 0


def test_ssd_model_and_classifier_predictions(ws, client):
    setup = Setup(ws, n_items=0, n_workers=1)
    _images(ws, "rects", {k: bright_rectangles(100, 60, [r]) for k, r in RECTS.items()})
    ssd = _save_model(ws, "ssd.onnx", box_detector("ssd", box_format="yxyx"))
    _create(
        ws,
        "ssd",
        "bounding-box",
        ["rect"],
        "rects",
        {
            "path": ssd,
            "kind": "ssd",
            "inputs": {"resize": "letterbox"},
            "outputs": {"classes": "classes", "box_format": "yxyx", "normalized": True},
            "labels": [None, "rect"],
        },
    )
    admin = bearer(setup.admin_token)
    result = _prelabel(ws, client, admin, "ssd")
    assert result["items"] == 4 and result["boxes"] == 4
    colours = {"red": (220, 10, 10), "green": (10, 220, 10), "blue": (10, 10, 220)}
    _images(
        ws,
        "colours",
        {k: bright_rectangles(30, 20, [(0, 0, 30, 20)], c) for k, c in colours.items()},
    )
    classifier = _save_model(ws, "colours.onnx", colour_classifier())
    _create(
        ws,
        "colours",
        "image-classification",
        ["blue", "green", "red"],
        "colours",
        {"path": classifier, "kind": "classify", "labels": ["red", "green", "blue"]},
    )
    result = _prelabel(ws, client, admin, "colours")
    assert result["items"] == 3 and result["classified"] == 3
    worker = bearer(setup.worker_tokens["w00"])
    seen = {}
    for _ in range(3):
        task = client.post("/api/jobs/colours/next", headers=worker).json()
        seen[task["item"]["id"]] = task["prediction"]
        client.post(
            f"/api/assignments/{task['assignment_id']}/submit",
            headers=worker,
            json={"answer": task["prediction"], "time_spent": 1.0},
        )
    assert seen == {name: {"label": name} for name in colours}


def test_prompted_segmenter_masks_for_instance_and_semantic_segmentation(ws, client):
    setup = Setup(ws, n_items=0, n_workers=1)
    rects = [(10, 10, 30, 20), (70, 40, 40, 30)]
    image = bright_rectangles(120, 80, rects)
    # The item carries boxes (as a bounding-box job's output would): the prompts.
    prompts = {
        "boundingBoxes": [
            {"label": "left", "left": 5, "top": 5, "width": 40, "height": 30},
            {"label": "right", "left": 65, "top": 35, "width": 50, "height": 40},
        ]
    }
    _images(ws, "scene", {"s": image}, extra={"s": {"boxes": prompts}})
    encoder = _save_model(ws, "encoder.onnx", sam_encoder(128))
    decoder = _save_model(ws, "decoder.onnx", sam_decoder(128))
    sam = {
        "path": encoder,
        "decoder_path": decoder,
        "kind": "sam",
        "inputs": {"scale": 1 / 255, "mean": 0, "std": 1},
    }
    _create(
        ws,
        "outlines",
        "instance-segmentation",
        ["left", "right"],
        "scene",
        {**sam, "boxes_from": "boxes"},
    )
    admin = bearer(setup.admin_token)
    result = _prelabel(ws, client, admin, "outlines")
    assert result["items"] == 1 and result["masks"] == 2
    worker = bearer(setup.worker_tokens["w00"])
    task = client.post("/api/jobs/outlines/next", headers=worker).json()
    polygons = task["prediction"]["polygons"]
    assert sorted(p["label"] for p in polygons) == ["left", "right"]
    for p in polygons:
        xs = [v["x"] for v in p["vertices"]]
        ys = [v["y"] for v in p["vertices"]]
        left, top, width, height = rects[0] if p["label"] == "left" else rects[1]
        assert abs(min(xs) - left) <= 4 and abs(max(xs) - (left + width)) <= 4
        assert abs(min(ys) - top) <= 4 and abs(max(ys) - (top + height)) <= 4
    r = client.post(
        f"/api/assignments/{task['assignment_id']}/submit",
        headers=worker,
        json={"answer": task["prediction"], "time_spent": 2.0},
    )
    assert r.status_code == 200, r.json()
    # Semantic segmentation, prompted by the whole image: one class mask of both objects.
    _create(ws, "classes-ref", "semantic-segmentation", ["object"], "scene", sam)
    result = _prelabel(ws, client, admin, "classes-ref")
    assert result["items"] == 1 and result["masks"] == 1
    task = client.post("/api/jobs/classes-ref/next", headers=worker).json()
    png = base64.b64decode(task["prediction"]["labeledImage"]["pngImageData"])
    mask = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    on = (mask != 255).any(axis=2)
    truth = np.zeros((80, 120), bool)
    for left, top, width, height in rects:
        truth[top : top + height, left : left + width] = True
    assert (on & truth).sum() / (on | truth).sum() > 0.8
    assert list(task["prediction"]["labelMappings"]) == ["object"]


def test_bad_configurations_are_refused_naming_the_field(ws, client, tmp_path):
    setup = Setup(ws, n_items=0, n_workers=1)
    _images(ws, "rects", {"a": bright_rectangles(100, 60, [RECTS["a"]])})
    good = _save_model(ws, "yolo.onnx", box_detector("yolo"))
    outside = tmp_path / "elsewhere" / "yolo.onnx"
    outside.parent.mkdir()
    outside.write_bytes(box_detector("yolo"))
    junk = _save_model(ws, "junk.onnx", b"not a model at all")
    cases = [
        ({"path": str(outside), "kind": "yolo"}, "settings.prelabel.onnx.path: ", "outside"),
        ({"path": good + ".missing", "kind": "yolo"}, "settings.prelabel.onnx.path: ", "no such"),
        ({"path": "models/yolo.onnx", "kind": "yolo"}, "settings.prelabel.onnx.path: ", "absolute"),
        ({"path": junk, "kind": "yolo"}, "settings.prelabel.onnx.path: ", "not an ONNX model"),
        ({"path": good, "kind": "classify"}, "settings.prelabel.onnx.kind: ", "yolo or ssd"),
        ({"path": good, "kind": "detr"}, "settings.prelabel.onnx.kind: ", "must be one of"),
        (
            {"path": good, "kind": "yolo", "outputs": {"name": "output1"}},
            "settings.prelabel.onnx.outputs.name: ",
            "no output 'output1' (its outputs: output0)",
        ),
        (
            {"path": good, "kind": "yolo", "treshold": 0.3},
            "settings.prelabel.onnx.treshold: ",
            "not a setting",
        ),
    ]
    for onnx, field, words in cases:
        with pytest.raises(BadInput) as err:
            _create(ws, "bad", "bounding-box", ["rect"], "rects", onnx)
        assert str(err.value).startswith(field) and words in str(err.value), (onnx, str(err.value))
    # Through the API the same check is a 400 with the JSON error.
    admin = bearer(setup.admin_token)
    body = {
        "name": "bad",
        "task_type": "bounding-box",
        "label_config": ["rect"],
        "dataset": "rects",
        "workers_per_item": 1,
        "teams": ["crew"],
        "settings": {"prelabel": {"onnx": {"path": str(outside), "kind": "yolo"}}},
    }
    r = client.post("/api/jobs", headers=admin, json=body)
    assert r.status_code == 400 and r.json()["error"] == "bad_input", r.json()
    assert "settings.prelabel.onnx.path" in r.json()["detail"]
    # A label the job does not have is refused when pre-labeling starts.
    _create(
        ws,
        "boxes",
        "bounding-box",
        ["rect"],
        "rects",
        {"path": good, "kind": "yolo", "labels": {"1": "car"}},
    )
    r = client.post("/api/jobs/boxes/prelabel", headers=admin, json={"detector": "onnx"})
    assert r.status_code == 400
    assert r.json()["detail"].startswith("settings.prelabel.onnx.labels.1: 'car' is not a label")
    # A job without a model says how to give it one.
    setup.job("plain", task_type="bounding-box", label_config=["rect"], dataset="rects")
    r = client.post("/api/jobs/plain/prelabel", headers=admin, json={"detector": "onnx"})
    assert r.status_code == 400 and "set settings.prelabel.onnx" in r.json()["detail"]


def test_multilabel_classifier_and_the_cli(ws):
    Setup(ws, n_items=0, n_workers=1)
    # Sigmoid of 10 x each channel's mean: yellow is red and green (0.9998 each), and its
    # little blue (10/255: 0.60) stays under the 0.7 threshold.
    colours = {"yellow": (220, 220, 10), "cyan": (10, 220, 220)}
    _images(
        ws,
        "colours",
        {k: bright_rectangles(30, 20, [(0, 0, 30, 20)], c) for k, c in colours.items()},
    )
    path = _save_model(ws, "colours.onnx", colour_classifier())
    _create(
        ws,
        "tags",
        "image-classification-multilabel",
        ["green", "blue", "red"],
        "colours",
        {
            "path": path,
            "kind": "classify",
            "labels": ["red", "green", "blue"],
            "score_threshold": 0.7,
        },
    )
    data = ["--data-dir", str(ws.settings.data_dir)]
    r = CliRunner().invoke(app, ["job", "prelabel", "tags", "--detector", "onnx", *data])
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert result["items"] == 2 and result["classified"] == 2
    with ws.db.session_scope(write=False) as s:
        job = get_job(s, "tags")
        items = [json.loads(d) for _, d in repository.open_unstarted_items(s, job.id)]
    # In the job's label order, as the answer check keeps them.
    assert {i["id"]: i["tags-prediction"] for i in items} == {
        "yellow": {"labels": ["green", "red"]},
        "cyan": {"labels": ["green", "blue"]},
    }


@pytest.fixture
def bucket() -> Iterator[str]:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    name = f"onnx-{uuid.uuid4().hex[:10]}"
    client = s3_client()
    client.create_bucket(Bucket=name)
    yield name
    # SeaweedFS gives every bucket volumes of its own: buckets left behind use them up.
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=name, Delete={"Objects": keys})
    client.delete_bucket(Bucket=name)


@pytest.mark.s3
def test_a_model_on_s3_inside_the_allowed_roots(tmp_path, monkeypatch, bucket):
    monkeypatch.setenv("TRUTHSET_ALLOWED_ROOTS", f"s3://{bucket}/models")
    ws = make_workspace(tmp_path)
    try:
        Setup(ws, n_items=0, n_workers=1)
        _images(ws, "rects", {"a": bright_rectangles(100, 60, [RECTS["a"]])})
        for key in ("models/yolo.onnx", "other/yolo.onnx"):
            s3_client().put_object(Bucket=bucket, Key=key, Body=box_detector("yolo"))
        inside = {
            "path": f"s3://{bucket}/models/yolo.onnx",
            "kind": "yolo",
            "labels": {"1": "rect"},
        }
        _create(ws, "boxes", "bounding-box", ["rect"], "rects", inside)
        with ws.db.session_scope(write=False) as s:
            predictions, report = plan_onnx_predictions(s, get_job(s, "boxes"), "rect")
        (prediction,) = predictions.values()
        (box,) = prediction["boundingBoxes"]
        assert _near(box, RECTS["a"]) and report["boxes"] == 1
        outside = {**inside, "path": f"s3://{bucket}/other/yolo.onnx"}
        with pytest.raises(BadInput, match=r"^settings\.prelabel\.onnx\.path: .* is outside"):
            _create(ws, "outside", "bounding-box", ["rect"], "rects", outside)
        missing = {**inside, "path": f"s3://{bucket}/models/none.onnx"}
        with pytest.raises(BadInput, match=r"^settings\.prelabel\.onnx\.path: .*does not exist"):
            _create(ws, "missing", "bounding-box", ["rect"], "rects", missing)
    finally:
        ws.close()
