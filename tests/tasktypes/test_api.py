"""The HTTP path for a spatial type: the next task names the tool, a bad answer is a 400
naming the field, and a chained job's task carries the earlier label."""

from fastapi.testclient import TestClient

from tasktypes.conftest import write_image
from truthset.api.tokens import issue_token
from truthset.server.app import create_app
from truthset.workforce.service import create_user


def test_bounding_box_job_over_http(engine):
    ws = engine.ws
    ref = write_image(ws.settings.media_dir / "api.png", 64, 48)
    manifest = ws.settings.media_dir / "api.manifest"
    manifest.write_text(f'{{"id": "a", "source-ref": "{ref}"}}\n')
    with ws.db.session_scope() as s:
        admin = {"Authorization": f"Bearer {issue_token(s, create_user(s, 'boss', role='admin'))}"}
        worker = {"Authorization": f"Bearer {issue_token(s, create_user(s, 'wa', teams=['t']))}"}
    box = {"label": "bird", "left": 10, "top": 10, "width": 20, "height": 20}
    size = {"width": 64, "height": 48}
    with TestClient(create_app(ws)) as c:
        r = c.post(
            "/api/datasets/d/imports", json={"source": str(manifest), "wait": True}, headers=admin
        )
        assert r.status_code < 300, r.text
        r = c.post(
            "/api/jobs",
            json={
                "name": "boxes",
                "task_type": "bounding-box",
                "labels": ["bird"],
                "dataset": "d",
                "teams": ["t"],
            },
            headers=admin,
        )
        assert r.status_code < 300, r.text
        task = c.post("/api/jobs/boxes/next", headers=worker).json()
        assert task["ui_module"] == "tools/bbox.js" and task["prior_label"] is None
        url = f"/api/assignments/{task['assignment_id']}/submit"
        far = {**box, "left": 60}
        r = c.post(
            url,
            json={"answer": {"boundingBoxes": [far], "inputImageProperties": size}},
            headers=worker,
        )
        assert r.status_code == 400
        assert r.json()["error"] == "bad_input"
        assert (
            "boundingBoxes[0].width: left 60 + width 20 is outside the image" in r.json()["detail"]
        )
        r = c.post(
            url,
            json={"answer": {"boundingBoxes": [box], "inputImageProperties": size}},
            headers=worker,
        )
        assert r.status_code == 200, r.text

        r = c.post(
            "/api/jobs",
            json={
                "name": "verify",
                "task_type": "label-verification",
                "labels": ["good", "bad"],
                "input_job": "boxes",
                "label_attribute": "verify-boxes",
                "teams": ["t"],
            },
            headers=admin,
        )
        assert r.status_code < 300, r.text
        task = c.post("/api/jobs/verify/next", headers=worker).json()
        prior = task["prior_label"]
        assert prior["attribute"] == "boxes" and prior["task_type"] == "bounding-box"
        assert prior["value"]["annotations"] == [
            {"class_id": 0, **{k: box[k] for k in ("left", "top", "width", "height")}}
        ]
        r = c.post(
            f"/api/assignments/{task['assignment_id']}/submit",
            json={"answer": {"label": "good", "comment": "tight box"}},
            headers=worker,
        )
        assert r.status_code == 200, r.text
