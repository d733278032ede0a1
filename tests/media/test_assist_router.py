"""The assisted segmentation routes: the mask of a known object, access, bad input."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image
from sqlalchemy import text

from segmentation_scenes import extreme_points, iou, scene
from support import bearer, job_over_items
from truthset.api.tokens import issue_token
from truthset.media import assist
from truthset.workforce.service import create_team, create_user

CORNER = {"point": {"x": 1, "y": 1}}


def _decode_rle(answer: dict) -> np.ndarray:
    mask = np.zeros((answer["height"], answer["width"]), bool)
    x, y, w, h = answer["rle"]["box"]
    flat = np.zeros(w * h, bool)
    pos, on = 0, False
    for n in answer["rle"]["counts"]:
        flat[pos : pos + n] = on
        pos, on = pos + n, not on
    assert pos == w * h
    mask[y : y + h, x : x + w] = flat.reshape(h, w)
    return mask


def _setup(ws, task_type="semantic-segmentation"):
    sc = scene(3, 320)
    Image.fromarray(sc.image).save(ws.settings.media_dir / "scene.png")
    with ws.db.session_scope() as s:
        create_team(s, "t")
    job_over_items(
        ws,
        "seg",
        [{"source-ref": str(ws.settings.media_dir / "scene.png")}],
        ["thing"],
        task_type=task_type,
        label_attribute="seg-ref",
    )
    with ws.db.session_scope() as s:
        item = s.execute(text("SELECT id FROM items")).scalar_one()
        worker = issue_token(s, create_user(s, "w", role="worker", teams=["t"]))
        stranger = issue_token(s, create_user(s, "z", role="worker", teams=["t"]))
    assist.clear_cache()
    return sc, item, bearer(worker), bearer(stranger)


def _points(sc):
    return [{"x": x, "y": y} for x, y in extreme_points(sc.mask)]


def test_four_points_give_the_objects_mask_to_the_assigned_worker(ws, client):
    sc, item, worker, stranger = _setup(ws)
    url = f"/api/items/{item}/assist/extreme-points"
    body = {"extreme_points": _points(sc), "png": True, "polygons": True}
    # Not yet assigned: the item is as unknown as its media is.
    assert client.post(url, json=body, headers=worker).status_code == 404
    assert client.post("/api/jobs/seg/next", headers=worker).is_success
    r = client.post(url, json=body, headers=worker)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["width"], answer["height"]) == (320, 320)
    assert answer["method"] == "grabcut"
    mask = _decode_rle(answer)
    assert answer["area"] == int(mask.sum())
    assert iou(mask, sc.mask) >= 0.9
    png = np.asarray(Image.open(io.BytesIO(base64.b64decode(answer["png"])))).astype(bool)
    assert np.array_equal(png, mask)
    assert answer["polygons"] and len(answer["polygons"][0]) >= 3
    # Another worker of the team, never assigned this item, gets nothing.
    r = client.post(url, json=body, headers=stranger)
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_clicks_change_the_mask_and_grow_finds_the_region(ws, client):
    sc, item, worker, _ = _setup(ws)
    client.post("/api/jobs/seg/next", headers=worker)
    ys, xs = np.nonzero(sc.mask)
    inside = {"x": float(np.median(xs)), "y": float(np.median(ys))}
    url = f"/api/items/{item}/assist/extreme-points"
    r = client.post(url, json={"extreme_points": _points(sc), "negative": [inside]}, headers=worker)
    assert r.status_code == 200, r.text
    assert not _decode_rle(r.json())[int(inside["y"]), int(inside["x"])]
    r = client.post(f"/api/items/{item}/assist/grow", json={"point": inside}, headers=worker)
    assert r.status_code == 200, r.text
    grown = _decode_rle(r.json())
    assert r.json()["method"] == "superpixel-grow" and grown[int(inside["y"]), int(inside["x"])]
    assert iou(grown, sc.mask) >= 0.5


def test_bad_input_is_refused_by_name(ws, client):
    sc, item, worker, _ = _setup(ws)
    client.post("/api/jobs/seg/next", headers=worker)
    url = f"/api/items/{item}/assist/extreme-points"
    pts = _points(sc)
    r = client.post(url, json={"extreme_points": pts[:3]}, headers=worker)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "extreme_points"
    outside = [*pts[:3], {"x": 400, "y": 10}]
    r = client.post(url, json={"extreme_points": outside}, headers=worker)
    assert r.status_code == 400
    assert r.json() == {
        "error": "bad_input",
        "detail": "extreme_points[3]: (400, 10) is outside the 320 x 320 image",
    }
    r = client.post(url, json={"extreme_points": pts, "positive": [pts[0]] * 101}, headers=worker)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "positive"
    r = client.post(url, json={"extreme_points": pts, "extra": 1}, headers=worker)
    assert r.status_code == 422
    r = client.post(
        f"/api/items/{item}/assist/grow", json={"point": {"x": -1, "y": 3}}, headers=worker
    )
    assert r.status_code == 400 and r.json()["detail"].startswith("point: (-1, 3) is outside")
    r = client.post(
        f"/api/items/{item}/assist/grow",
        json={"point": {"x": 1, "y": 3}, "tolerance": 300},
        headers=worker,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "tolerance"
    assert (
        client.post(
            "/api/items/999/assist/grow", json={"point": {"x": 1, "y": 1}}, headers=worker
        ).status_code
        == 404
    )


def test_text_items_and_missing_files_are_clear_errors(ws, client):
    with ws.db.session_scope() as s:
        create_team(s, "t")
        admin = bearer(issue_token(s, create_user(s, "a", role="admin")))
    job_over_items(ws, "txt", [{"source": "hello"}], ["x", "y"])
    with ws.db.session_scope() as s:
        item = s.execute(text("SELECT id FROM items")).scalar_one()
    r = client.post(
        f"/api/items/{item}/assist/grow", json={"point": {"x": 1, "y": 1}}, headers=admin
    )
    assert r.status_code == 400 and "inline text" in r.json()["detail"]
    sc, item, _, _ = _setup_more(ws)
    (ws.settings.media_dir / "scene2.png").unlink()
    r = client.post(
        f"/api/items/{item}/assist/grow", json={"point": {"x": 1, "y": 1}}, headers=admin
    )
    assert r.status_code == 404 and "missing" in r.json()["detail"]


def _setup_more(ws):
    sc = scene(5, 64)
    Image.fromarray(sc.image).save(ws.settings.media_dir / "scene2.png")
    job_over_items(
        ws,
        "seg2",
        [{"source-ref": str(ws.settings.media_dir / "scene2.png")}],
        ["thing"],
        task_type="semantic-segmentation",
        label_attribute="seg2-ref",
    )
    with ws.db.session_scope() as s:
        item = s.execute(text("SELECT max(id) FROM items")).scalar_one()
    return sc, item, None, None


def test_clicks_are_in_the_turned_image_of_an_exif_rotated_jpeg(ws, client):
    # Stored 200 wide, 120 high, with orientation 6 (a quarter turn): browsers show it
    # 120 wide and 200 high, and the worker's clicks are in that image.
    stored = np.zeros((120, 200, 3), np.uint8)
    stored[20:60, 100:180] = (230, 60, 40)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = ws.settings.media_dir / "turned.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    with ws.db.session_scope() as s:
        create_team(s, "t")
        admin = bearer(issue_token(s, create_user(s, "a", role="admin")))
    job_over_items(
        ws,
        "turn",
        [{"source-ref": str(path)}],
        ["thing"],
        task_type="semantic-segmentation",
        label_attribute="turn-ref",
    )
    with ws.db.session_scope() as s:
        item = s.execute(text("SELECT id FROM items")).scalar_one()
    assist.clear_cache()
    shown = np.rot90(stored, k=-1)  # orientation 6: turned 90 degrees clockwise
    truth = shown[:, :, 0] > 128
    pts = [{"x": x, "y": y} for x, y in extreme_points(truth)]
    r = client.post(
        f"/api/items/{item}/assist/extreme-points", json={"extreme_points": pts}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert (r.json()["width"], r.json()["height"]) == (120, 200)
    assert iou(_decode_rle(r.json()), truth) >= 0.9
