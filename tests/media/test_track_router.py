"""POST /api/items/{id}/track: predict next over a rendered video with a known track."""

from __future__ import annotations

import json

import cv2
import numpy as np
from PIL import Image
from sqlalchemy import text

from support import bearer, job_over_items
from truthset.api.tokens import issue_token
from truthset.workforce.service import create_team, create_user

W, H = 320, 240
ANY_MEDIA = {
    "template": {"html": '<crowd-form><crowd-input name="note"></crowd-input></crowd-form>'}
}


def truth(i: int) -> tuple[int, int, int, int]:
    return 20 + 4 * i, 40 + 2 * i, 32, 28


def render_sequence(folder, n: int, vanish_at: int | None = None):
    """PNG frames of a textured background with a square moving right and down."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    background = (rng.random((H, W, 3)) * 50 + 90).astype(np.uint8)
    frames = []
    for i in range(n):
        frame = background.copy()
        if vanish_at is None or i < vanish_at:
            x, y, w, h = truth(i)
            cv2.rectangle(frame, (x, y), (x + w - 1, y + h - 1), (200, 30, 40), -1)
            cv2.circle(frame, (x + w // 2, y + h // 2), 8, (250, 240, 10), -1)
        name = f"frame_{i:03d}.png"
        Image.fromarray(frame).save(folder / name)
        frames.append({"frame-no": i, "frame": name})
    path = folder / "seq.json"
    path.write_text(json.dumps({"prefix": str(folder) + "/", "frames": frames}))
    return str(path)


def setup(ws, refs):
    with ws.db.session_scope() as s:
        create_team(s, "crew")
        create_team(s, "others")
    job_over_items(
        ws,
        "v",
        [{"source-ref": r} for r in refs],
        ["x"],
        teams=("crew",),
        task_type="custom",
        settings=ANY_MEDIA,
    )
    with ws.db.session_scope() as s:
        tokens = {
            "admin": issue_token(s, create_user(s, "boss", role="admin")),
            "worker": issue_token(s, create_user(s, "w", role="worker", teams=["crew"])),
            "outsider": issue_token(s, create_user(s, "o", role="worker", teams=["others"])),
        }
        ids = [int(v) for v in s.execute(text("SELECT id FROM items ORDER BY id")).scalars()]
    return tokens, ids


def iou(a, b):
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def body(frame=0, count=10, **box):
    x, y, w, h = truth(frame)
    return {
        "frame": frame,
        "box": {"left": x, "top": y, "width": w, "height": h, **box},
        "count": count,
    }


def test_the_track_follows_the_square_and_stops_where_it_is_lost(ws, client):
    media = ws.settings.media_dir
    tokens, (moving, vanishing) = setup(
        ws,
        [render_sequence(media / "a", 30), render_sequence(media / "b", 30, vanish_at=9)],
    )
    admin = bearer(tokens["admin"])
    r = client.post(f"/api/items/{moving}/track", json=body(frame=3, count=20), headers=admin)
    assert r.status_code == 200, r.text
    boxes = r.json()["boxes"]
    assert [b["frame"] for b in boxes] == list(range(4, 24))
    for b in boxes:
        assert iou((b["left"], b["top"], b["width"], b["height"]), truth(b["frame"])) > 0.8
        assert 0.5 <= b["score"] <= 1.0
    # The sequence ends before the count.
    r = client.post(f"/api/items/{moving}/track", json=body(frame=25, count=100), headers=admin)
    assert [b["frame"] for b in r.json()["boxes"]] == [26, 27, 28, 29]
    # The target leaves: the boxes stop there.
    r = client.post(f"/api/items/{vanishing}/track", json=body(frame=0, count=20), headers=admin)
    assert [b["frame"] for b in r.json()["boxes"]] == list(range(1, 9))


def test_bad_requests_name_the_field(ws, client):
    tokens, (item,) = setup(ws, [render_sequence(ws.settings.media_dir / "a", 5)])
    admin = bearer(tokens["admin"])
    for bad in (body(count=0), body(count=101), {**body(), "frame": -1}, body(width=0)):
        r = client.post(f"/api/items/{item}/track", json=bad, headers=admin)
        assert r.status_code == 422, r.text
    r = client.post(f"/api/items/{item}/track", json={**body(), "frame": 5}, headers=admin)
    assert r.status_code == 400 and r.json()["detail"].startswith("frame: 5 is not a frame")
    r = client.post(f"/api/items/{item}/track", json=body(left=400), headers=admin)
    assert r.status_code == 400 and "outside the 320x240 frame" in r.json()["detail"]
    r = client.post(f"/api/items/{item}/track", json=body(width=1, height=1), headers=admin)
    assert r.status_code == 400 and "too small to track" in r.json()["detail"]


def test_access_follows_the_media_route(ws, client):
    tokens, (item,) = setup(ws, [render_sequence(ws.settings.media_dir / "a", 5)])
    worker, outsider = bearer(tokens["worker"]), bearer(tokens["outsider"])
    for headers in (worker, outsider):
        r = client.post(f"/api/items/{item}/track", json=body(count=2), headers=headers)
        assert r.status_code == 404 and r.json()["detail"] == f"item {item} not found"
    assert client.post("/api/jobs/v/next", headers=worker).status_code == 200
    r = client.post(f"/api/items/{item}/track", json=body(count=2), headers=worker)
    assert r.status_code == 200 and len(r.json()["boxes"]) == 2
    r = client.post(f"/api/items/{item}/track", json=body(count=2), headers=outsider)
    assert r.status_code == 404
