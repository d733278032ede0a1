"""The point cloud viewer's routes: frames, points as float32, camera images, fitting, and
who may read them (issue 14)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from pointcloud_scenes import CAR, camera, scene, write_bin, write_pcd
from support import bearer, job_over_items
from truthset.api.tokens import issue_token
from truthset.geometry import cuboids
from truthset.media.point_clouds import clear_cache
from truthset.workforce.service import create_team, create_user

ANY_MEDIA = {
    "template": {"html": '<crowd-form><crowd-input name="note"></crowd-input></crowd-form>'}
}


@pytest.fixture
def world(ws):
    clear_cache()
    media = ws.settings.media_dir
    truth = scene(seed=3)
    write_bin(media / "frame.bin", truth.points)
    write_pcd(media / "frame.pcd", truth.points)
    Image.new("RGB", (1280, 720), "gray").save(media / "cam0.jpg")
    meta = {
        "format": "binary/xyzi",
        "unix-timestamp": 100.5,
        "ego-vehicle-pose": {
            "position": {"x": 0, "y": 0, "z": 0},
            "heading": {"qx": 0, "qy": 0, "qz": 0, "qw": 1},
        },
        "prefix": str(media) + "/",
        "images": [{"image-path": "cam0.jpg", **camera()}],
    }
    for i in range(2):
        write_bin(media / f"seq{i}.bin", truth.points[: 1000 * (i + 1)])
    (media / "seq.json").write_text(
        json.dumps(
            {
                "seq-no": 1,
                "prefix": str(media) + "/",
                "frames": [
                    {"frame-no": i, "frame": f"seq{i}.bin", "unix-timestamp": i * 0.1}
                    for i in range(2)
                ],
            }
        )
    )
    items = [
        {"source-ref": str(media / "frame.bin"), "source-ref-metadata": meta},
        {"source-ref": str(media / "frame.pcd"), "source-ref-metadata": {"unix-timestamp": 1}},
        {"source-ref": str(media / "seq.json")},
    ]
    with ws.db.session_scope() as s:
        create_team(s, "ours")
        create_team(s, "theirs")
    job_over_items(ws, "pc", items, ["x"], teams=("ours",), task_type="custom", settings=ANY_MEDIA)
    from sqlalchemy import text

    with ws.db.session_scope() as s:
        ids = [r[0] for r in s.execute(text("SELECT id FROM items ORDER BY id")).all()]
        tokens = {
            "admin": issue_token(s, create_user(s, "admin", role="admin")),
            "reviewer": issue_token(s, create_user(s, "rev", role="reviewer", teams=["ours"])),
            "outsider": issue_token(s, create_user(s, "out", role="reviewer", teams=["theirs"])),
            "worker": issue_token(s, create_user(s, "w", role="worker", teams=["ours"])),
        }
    return truth, ids, {k: bearer(v) for k, v in tokens.items()}


def test_frames_points_and_images(client, world):
    truth, ids, h = world
    info = client.get(f"/api/items/{ids[0]}/pointcloud", headers=h["admin"])
    assert info.status_code == 200, info.text
    (frame,) = info.json()["frames"]
    assert frame["point-count"] == len(truth.points) and frame["unix-timestamp"] == 100.5
    assert frame["bounds"]["min"] == pytest.approx(truth.points[:, :3].min(axis=0), abs=1e-5)
    assert frame["ego-vehicle-pose"]["heading"]["qw"] == 1
    (image,) = frame["images"]
    assert (image["width"], image["height"], image["fx"]) == (1280, 720, 800)
    assert info.headers["cache-control"].startswith("private")

    points = client.get(f"/api/items/{ids[0]}/pointcloud/frames/0/points", headers=h["admin"])
    assert points.status_code == 200
    assert points.headers["content-type"] == "application/octet-stream"
    assert int(points.headers["x-point-count"]) == len(truth.points)
    got = np.frombuffer(points.content, dtype="<f4").reshape(-1, 4)
    np.testing.assert_array_equal(got, truth.points)
    again = client.get(
        f"/api/items/{ids[0]}/pointcloud/frames/0/points",
        headers={**h["admin"], "If-None-Match": points.headers["etag"]},
    )
    assert again.status_code == 304
    preview = client.get(
        f"/api/items/{ids[0]}/pointcloud/frames/0/points?stride=10", headers=h["admin"]
    )
    np.testing.assert_array_equal(
        np.frombuffer(preview.content, dtype="<f4").reshape(-1, 4), truth.points[::10]
    )
    assert preview.headers["etag"] != points.headers["etag"]

    img = client.get(f"/api/items/{ids[0]}/pointcloud/frames/0/images/0", headers=h["admin"])
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"

    pcd = client.get(f"/api/items/{ids[1]}/pointcloud/frames/0/points", headers=h["admin"])
    np.testing.assert_allclose(
        np.frombuffer(pcd.content, dtype="<f4").reshape(-1, 4), truth.points, atol=1e-6
    )
    seq = client.get(f"/api/items/{ids[2]}/pointcloud", headers=h["admin"]).json()["frames"]
    assert [f["point-count"] for f in seq] == [1000, 2000]
    assert [f["frame-no"] for f in seq] == [0, 1]


def test_errors_name_what_is_wrong(client, world):
    _truth, ids, h = world
    for url, status, words in [
        (f"/api/items/{ids[0]}/pointcloud/frames/1/points", 404, "no frame 1"),
        (f"/api/items/{ids[0]}/pointcloud/frames/0/points?stride=0", 400, "stride"),
        (f"/api/items/{ids[0]}/pointcloud/frames/0/points?stride=x", 400, "stride"),
        (f"/api/items/{ids[0]}/pointcloud/frames/0/images/3", 404, "no camera 3"),
    ]:
        r = client.get(url, headers=h["admin"])
        assert r.status_code == status, (url, r.text)
        assert words in r.json()["detail"]


def test_access_follows_media(client, world):
    _truth, ids, h = world
    url = f"/api/items/{ids[0]}/pointcloud"
    assert client.get(url, headers=h["reviewer"]).status_code == 200
    # Another team's reviewer, and a worker never assigned the item, see nothing.
    assert client.get(url, headers=h["outsider"]).status_code == 404
    assert client.get(url, headers=h["worker"]).status_code == 404
    assert client.get(url + "/frames/0/points", headers=h["worker"]).status_code == 404
    assert client.get(url).status_code == 401
    # Once assigned one of the item's tasks, the worker may read it.
    task = client.post("/api/jobs/pc/next", headers=h["worker"]).json()
    leased = task["item"]["media_url"].replace("/media", "/pointcloud")
    assert client.get(leased, headers=h["worker"]).status_code == 200
    assert client.get(leased + "/frames/0/points?stride=50", headers=h["worker"]).status_code == 200


def test_fit_and_ground(client, world):
    truth, ids, h = world
    guess = CAR.copy()
    guess[:3] += [0.3, -0.25, 0.4]
    guess[3:6] *= 1.2
    guess[8] += 0.15
    url = f"/api/items/{ids[0]}/pointcloud/frames/0"
    r = client.post(
        url + "/fit",
        json={"cuboid": cuboids.to_json(guess), "mode": "estimate-yaw"},
        headers=h["admin"],
    )
    assert r.status_code == 200, r.text
    fitted = cuboids.from_json(r.json()["cuboid"])
    assert cuboids.iou_3d(fitted, CAR) > 0.85 and r.json()["point-count"] > 500
    lifted = CAR.copy()
    lifted[2] += 2
    r = client.post(url + "/ground", json={"cuboid": cuboids.to_json(lifted)}, headers=h["admin"])
    assert r.json()["cuboid"]["center-z"] == pytest.approx(CAR[2], abs=0.05)
    far = CAR.copy()
    far[:2] = [500, 500]
    r = client.post(url + "/fit", json={"cuboid": cuboids.to_json(far)}, headers=h["admin"])
    assert r.status_code == 400 and "0 points inside" in r.json()["detail"]
    bad = cuboids.to_json(CAR)
    bad["length"] = -1
    r = client.post(url + "/fit", json={"cuboid": bad}, headers=h["admin"])
    assert r.status_code == 400 and r.json()["detail"].startswith("cuboid.length")
    r = client.post(
        url + "/fit", json={"cuboid": cuboids.to_json(CAR), "mode": "x"}, headers=h["admin"]
    )
    assert r.status_code == 400 and r.json()["detail"].startswith("mode")


def test_frames_on_s3(ws, client):
    """A sequence file and its frames in a real S3 bucket (SeaweedFS), read through
    media/storage; a frame outside the server's roots is refused."""
    import dataclasses
    import os
    import uuid

    from conftest import require
    from truthset.media.storage import s3_client

    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    bucket = f"pc-{uuid.uuid4().hex[:10]}"
    s3 = s3_client()
    s3.create_bucket(Bucket=bucket)
    truth = scene(seed=9, ground_points=1000, per_object=100)
    from truthset.media.point_clouds import encode_binary

    for i in range(2):
        s3.put_object(Bucket=bucket, Key=f"lidar/f{i}.bin", Body=encode_binary(truth.points[i:]))
    document = {
        "prefix": f"s3://{bucket}/lidar/",
        "frames": [{"frame-no": i, "frame": f"f{i}.bin", "unix-timestamp": i} for i in range(2)],
    }
    s3.put_object(Bucket=bucket, Key="lidar/seq.json", Body=json.dumps(document).encode())
    ws.settings = dataclasses.replace(ws.settings, allowed_roots=(f"s3://{bucket}/lidar",))
    clear_cache()
    with ws.db.session_scope() as s:
        create_team(s, "ours")
    job_over_items(
        ws,
        "s3pc",
        [{"source-ref": f"s3://{bucket}/lidar/seq.json"}],
        ["Car"],
        teams=("ours",),
        task_type="point-cloud-object-tracking",
        label_attribute="s3pc-ref",
    )
    from sqlalchemy import text

    with ws.db.session_scope() as s:
        (item_id,) = s.execute(text("SELECT id FROM items")).one()
        admin = bearer(issue_token(s, create_user(s, "admin", role="admin")))
    frames = client.get(f"/api/items/{item_id}/pointcloud", headers=admin).json()["frames"]
    assert [f["point-count"] for f in frames] == [len(truth.points), len(truth.points) - 1]
    r = client.get(f"/api/items/{item_id}/pointcloud/frames/1/points", headers=admin)
    np.testing.assert_array_equal(
        np.frombuffer(r.content, dtype="<f4").reshape(-1, 4), truth.points[1:]
    )
    ws.settings = dataclasses.replace(ws.settings, allowed_roots=(f"s3://{bucket}/other",))
    r = client.get(f"/api/items/{item_id}/pointcloud", headers=admin)
    assert r.status_code in (400, 403) and "outside the allowed roots" in r.json()["detail"]
