"""Automated labeling of a bounding-box job with a built-in detector: people label the
validation images, the mean-IoU threshold is certified on them, and the detector's boxes
become machine labels on the other images it scores high enough."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from sqlalchemy import select, text

from support import autolabel_iteration, write_manifest
from truthset.datasets.importer import import_source
from truthset.errors import BadInput
from truthset.exports.groundtruth import export_groundtruth
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import counters, create_job, get_job
from truthset.store.models import User
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task
from truthset.workforce.service import create_user

pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")


def iterate(ws) -> dict:
    return autolabel_iteration(ws, "faces")


def test_the_detector_labels_the_images_it_is_sure_of(ws):
    from truthset.learning.models.detection import HaarCascadeDetector

    folder = ws.settings.media_dir / "photos"
    folder.mkdir(parents=True)
    Image.fromarray(skdata.astronaut()).save(folder / "face.png")
    Image.fromarray(skdata.coffee()).save(folder / "cup.png")
    face = HaarCascadeDetector(kind="face").fit().predict_one(str(folder / "face.png"))
    rows = [
        {
            "id": f"{'face' if i % 2 else 'cup'}-{i}",
            "source-ref": str(folder / ("face.png" if i % 2 else "cup.png")),
        }
        for i in range(80)
    ]
    manifest = write_manifest(ws.settings.media_dir / "photos.manifest", rows)
    with ws.db.session_scope() as s:
        import_source(s, "photos", str(manifest), allowed_roots=ws.allowed_roots)
        create_user(s, "w", role="worker", teams=["t"])
        create_job(
            s,
            JobCreate(
                name="faces",
                task_type="bounding-box",
                label_config=["face", "other"],
                dataset="photos",
                workers_per_item=1,
                teams=["t"],
                settings={"auto_label": {"detector": "face", "target_iou": 0.6}},
            ),
        )
    first = iterate(ws)
    # 20% of 80 for validation: with 16 images, a perfect mean IoU certifies > 0.6.
    assert first["waiting_for"] == 16 and first["auto_labeled"] == 0
    # People label the validation images (and nothing else is offered to them yet).
    seen = []
    while True:
        with ws.db.session_scope() as s:
            user = s.scalar(select(User).where(User.name == "w"))
            t = lease_next_task(s, get_job(s, "faces"), user)
            if t is None:
                break
            seen.append(t.item_external_id)
            boxes = face["boundingBoxes"] if t.item_external_id.startswith("face") else []
            answer = {"boundingBoxes": boxes, "inputImageProperties": face["inputImageProperties"]}
            if t.item_external_id.startswith("cup"):
                answer["inputImageProperties"] = {"width": 600, "height": 400}
            submit_answer(s, t.assignment_id, user, answer)
    assert len(seen) == 16
    second = iterate(ws)
    assert second["threshold"] is not None and second["accuracy_interval"][0] >= 0.6
    faces_left = sum(1 for r in rows if r["id"].startswith("face") and r["id"] not in seen)
    assert second["auto_labeled"] == faces_left > 0
    with ws.db.session_scope(write=False) as s:
        job = get_job(s, "faces")
        c = counters(s, job.id)
        out: list[bytes] = []
        export_groundtruth(s, job, lambda chunks: out.extend(chunks), now=0.0)
        waiting = s.execute(
            text(
                "SELECT count(*) FROM tasks WHERE job_id = :j AND status = 'open' AND priority > 0"
            ),
            {"j": job.id},
        ).scalar_one()
    assert c["machine_labeled"] == faces_left
    # The cups (no face found) go to people now.
    assert waiting == 80 - 16 - faces_left
    lines = [json.loads(x) for x in b"".join(out).decode().splitlines()]
    machine = [x for x in lines if x.get("faces-metadata", {}).get("human-annotated") == "no"]
    assert len(machine) == faces_left and all(x["id"].startswith("face") for x in machine)
    box = face["boundingBoxes"][0]
    (annotation,) = machine[0]["faces"]["annotations"]
    assert {k: annotation[k] for k in ("left", "top", "width", "height")} == {
        k: box[k] for k in ("left", "top", "width", "height")
    }
    assert machine[0]["faces-metadata"]["class-map"] == {str(annotation["class_id"]): "face"}
    assert 0 < machine[0]["faces-metadata"]["objects"][0]["confidence"] <= 1


def test_box_settings_are_checked(ws, setup_factory):
    setup_factory(ws, n_items=2, n_workers=1)
    with (
        ws.db.session_scope() as s,
        pytest.raises(BadInput, match="needs settings.auto_label.detector"),
    ):
        create_job(
            s,
            JobCreate(
                name="b",
                task_type="bounding-box",
                label_config=["face"],
                dataset="texts",
                settings={"auto_label": True},
            ),
        )
    with ws.db.session_scope() as s, pytest.raises(BadInput, match="detector is for bounding-box"):
        create_job(
            s,
            JobCreate(
                name="c",
                task_type="text-classification",
                label_config=["a", "b"],
                dataset="texts",
                settings={"auto_label": {"detector": "face"}},
            ),
        )
