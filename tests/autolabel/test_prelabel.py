"""Pre-labeling a bounding-box job with a built-in detector: the boxes reach the worker as
the task's prediction, and the time report sees them."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from support import Setup, bearer, wait_run, write_manifest
from truthset.datasets.importer import import_source
from truthset.jobs.service import get_job

pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")


def _photo_job(ws) -> Setup:
    folder = ws.settings.media_dir / "photos"
    folder.mkdir(parents=True)
    rows = []
    for name in ("astronaut", "coffee"):
        Image.fromarray(getattr(skdata, name)()).save(folder / f"{name}.png")
        rows.append({"id": name, "source-ref": str(folder / f"{name}.png")})
    manifest = write_manifest(ws.settings.media_dir / "photos.manifest", rows)
    setup = Setup(ws, n_items=0, n_workers=1)
    with ws.db.session_scope() as s:
        import_source(s, "photos", str(manifest), allowed_roots=ws.allowed_roots)
    setup.job(
        "boxes",
        task_type="bounding-box",
        label_config=["face", "car"],
        dataset="photos",
        workers_per_item=1,
    )
    return setup


def test_detector_boxes_become_the_workers_prediction(ws, client):
    from truthset.runs.executor import run_pending

    setup = _photo_job(ws)
    admin = bearer(setup.admin_token)
    r = client.post("/api/jobs/boxes/prelabel", headers=admin, json={"detector": "face"})
    assert r.status_code == 202, r.json()
    run_id = r.json()["id"]
    run_pending(ws.db, ws.settings)
    run = wait_run(client, run_id, admin)
    assert run["state"] == "succeeded", run
    assert run["result"]["items"] == 2 and run["result"]["label"] == "face"
    worker = bearer(setup.worker_tokens["w00"])
    seen = {}
    for _ in range(2):
        task = client.post("/api/jobs/boxes/next", headers=worker).json()
        seen[task["item"]["id"]] = task["prediction"]
        boxes = task["prediction"]["boundingBoxes"]
        answer = {
            "boundingBoxes": boxes,
            "inputImageProperties": task["prediction"]["inputImageProperties"],
        }
        done = client.post(
            f"/api/assignments/{task['assignment_id']}/submit",
            headers=worker,
            json={"answer": answer, "time_spent": 3.0},
        )
        assert done.status_code == 200, done.json()
    # The astronaut's face is found (about where it is: x 170-260, y 70-170 of 512x512);
    # the coffee cup has none.
    (face,) = seen["astronaut"]["boundingBoxes"]
    assert face["label"] == "face" and 140 < face["left"] + face["width"] / 2 < 280
    assert 60 < face["top"] + face["height"] / 2 < 200
    assert seen["astronaut"]["inputImageProperties"] == {"height": 512, "width": 512}
    assert seen["coffee"]["boundingBoxes"] == []
    report = client.get("/api/jobs/boxes/prelabeling", headers=admin).json()
    assert report["with_prediction"]["answers"] == 2
    assert report["with_prediction"]["kept_unchanged"] == 2
    # A second run finds nothing left to do: predictions are not replaced.
    r = client.post("/api/jobs/boxes/prelabel", headers=admin, json={"detector": "face"})
    run_pending(ws.db, ws.settings)
    assert wait_run(client, r.json()["id"], admin)["result"]["items"] == 0
    with ws.db.session_scope(write=False) as s:
        assert get_job(s, "boxes").label_attribute == "boxes"


def test_prelabel_requests_are_checked(ws, client):
    setup = _photo_job(ws)
    setup.job("texts")  # a text job
    admin = bearer(setup.admin_token)
    r = client.post("/api/jobs/texts/prelabel", headers=admin, json={"detector": "face"})
    assert r.status_code == 400 and "bounding-box job" in r.json()["detail"]
    r = client.post("/api/jobs/boxes/prelabel", headers=admin, json={"detector": "yolo"})
    assert r.status_code == 400 and "'yolo' is not one of face, cat-face" in r.json()["detail"]
    r = client.post("/api/jobs/boxes/prelabel", headers=admin, json={"detector": "cat-face"})
    assert r.status_code == 400 and "label 'cat' is not a label" in r.json()["detail"]
    worker = bearer(setup.worker_tokens["w00"])
    r = client.post("/api/jobs/boxes/prelabel", headers=worker, json={"detector": "face"})
    assert r.status_code == 403
    assert json.loads(r.text)["error"] == "forbidden"


def test_prelabel_from_the_cli(ws):
    from typer.testing import CliRunner

    from truthset.cli.main import app

    _photo_job(ws)
    data = ["--data-dir", str(ws.settings.data_dir)]
    r = CliRunner().invoke(app, ["job", "prelabel", "boxes", "--detector", "face", *data])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["items"] == 2
    r = CliRunner().invoke(app, ["job", "prelabel", "boxes", "--detector", "cat-face", *data])
    assert r.exit_code == 2 and "label 'cat' is not a label of job 'boxes'" in r.output
