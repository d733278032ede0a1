"""The player's routes over a frame sequence item: the sequence's facts, frames by index,
ETags and 304s, the media route's access rules, the allowed roots."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import uuid

import pytest
from PIL import Image

from conftest import require
from support import bearer, job_over_items
from truthset.api.tokens import issue_token
from truthset.media.sequences import sequence_document
from truthset.media.storage import s3_client
from truthset.workforce.service import create_team, create_user

ANY_MEDIA = {
    "template": {"html": '<crowd-form><crowd-input name="note"></crowd-input></crowd-form>'}
}


def jpeg(shade: int, size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (shade, shade, shade)).save(out, format="JPEG")
    return out.getvalue()


def write_sequence(folder, names, *, rate=None, stamps=True):
    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    for i, name in enumerate(names):
        (folder / name).write_bytes(jpeg(20 * i))
        frame = {"frame-no": str(i), "frame": name}
        if stamps:
            frame["unix-timestamp"] = 1_600_000_000 + i / 5
        frames.append(frame)
    path = folder / "seq.json"
    path.write_text(
        json.dumps(sequence_document(frames, prefix=str(folder) + "/", frame_rate=rate))
    )
    return path


def setup_job(ws, refs):
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
            "reviewer": issue_token(s, create_user(s, "r", role="reviewer", teams=["others"])),
        }
    return tokens


def test_sequence_and_frames_in_ground_truth_order(ws, client):
    # Listed out of order in the file; the routes count in name order.
    path = write_sequence(ws.settings.media_dir / "clip", ["f2.jpg", "f0.jpg", "f1.jpg"])
    tokens = setup_job(ws, [str(path)])
    admin = bearer(tokens["admin"])
    item_id = _only_item_id(ws)
    r = client.get(f"/api/items/{item_id}/sequence", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["number-of-frames"] == 3 and body["width"] == 40 and body["height"] == 30
    assert body["frame-rate"] == pytest.approx(5.0)
    assert [f["frame"] for f in body["frames"]] == ["f0.jpg", "f1.jpg", "f2.jpg"]
    assert [f["index"] for f in body["frames"]] == [0, 1, 2]
    assert body["frames"][0]["frame-no"] == "1"  # f0.jpg was the file's second frame
    assert "private" in r.headers["cache-control"]
    again = client.get(
        f"/api/items/{item_id}/sequence", headers={**admin, "If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304

    frame = client.get(f"/api/items/{item_id}/frames/2", headers=admin)
    assert frame.status_code == 200
    assert frame.content == (ws.settings.media_dir / "clip" / "f2.jpg").read_bytes()
    assert frame.headers["content-type"] == "image/jpeg"
    assert frame.headers["cache-control"].startswith("private, max-age=")
    assert frame.headers["content-security-policy"] == "default-src 'none'; sandbox"
    etag = frame.headers["etag"]
    assert (
        client.get(
            f"/api/items/{item_id}/frames/2", headers={**admin, "If-None-Match": etag}
        ).status_code
        == 304
    )
    assert (
        client.get(
            f"/api/items/{item_id}/frames/1", headers={**admin, "If-None-Match": etag}
        ).status_code
        == 200
    )
    # Replaced in place: a new ETag.
    (ws.settings.media_dir / "clip" / "f2.jpg").write_bytes(jpeg(250, (41, 30)))
    os.utime(ws.settings.media_dir / "clip" / "f2.jpg", ns=(1, 2))
    changed = client.get(f"/api/items/{item_id}/frames/2", headers={**admin, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag

    past = client.get(f"/api/items/{item_id}/frames/3", headers=admin)
    assert past.status_code == 404 and past.json()["error"] == "not_found"
    assert "3 frames" in past.json()["detail"]
    for bad in ("-1", "x", "1.5"):
        r = client.get(f"/api/items/{item_id}/frames/{bad}", headers=admin)
        assert r.status_code == 400 and r.json()["detail"].startswith("index: "), r.text


def _only_item_id(ws) -> int:
    from sqlalchemy import text

    with ws.db.session_scope() as s:
        return int(s.execute(text("SELECT id FROM items")).scalar_one())


def test_access_follows_the_media_route(ws, client):
    path = write_sequence(ws.settings.media_dir / "clip", ["a.jpg", "b.jpg"])
    tokens = setup_job(ws, [str(path)])
    item_id = _only_item_id(ws)
    for who in ("worker", "outsider", "reviewer"):
        for route in ("sequence", "frames/0"):
            r = client.get(f"/api/items/{item_id}/{route}", headers=bearer(tokens[who]))
            assert r.status_code == 404 and r.json() == {
                "error": "not_found",
                "detail": f"item {item_id} not found",
            }
    worker = bearer(tokens["worker"])
    assert client.post("/api/jobs/v/next", headers=worker).status_code == 200
    assert client.get(f"/api/items/{item_id}/sequence", headers=worker).status_code == 200
    assert (
        client.get(f"/api/items/{item_id}/frames/1", headers=worker).content
        == (ws.settings.media_dir / "clip" / "b.jpg").read_bytes()
    )
    assert (
        client.get(f"/api/items/{item_id}/frames/0", headers=bearer(tokens["outsider"])).status_code
        == 404
    )


def test_bad_sequence_missing_frame_and_frames_outside_the_roots(ws, client, tmp_path):
    media = ws.settings.media_dir
    good = write_sequence(media / "ok", ["a.jpg", "b.jpg"], stamps=False)
    (media / "ok" / "b.jpg").unlink()
    broken = media / "broken.json"
    broken.write_text(json.dumps({"frames": [{"frame-no": 0, "frame": "../x.jpg"}]}))
    outside = write_sequence(tmp_path / "elsewhere", ["a.jpg"])
    escaping = media / "escaping.json"
    escaping.write_text(
        json.dumps(
            {"prefix": str(outside.parent) + "/", "frames": [{"frame-no": 0, "frame": "a.jpg"}]}
        )
    )
    tokens = setup_job(ws, [str(good), str(broken), str(escaping)])
    admin = bearer(tokens["admin"])
    from sqlalchemy import text

    with ws.db.session_scope() as s:
        ids = {
            json.loads(d)["source-ref"]: i for i, d in s.execute(text("SELECT id, data FROM items"))
        }
    ok = ids[str(good)]
    body = client.get(f"/api/items/{ok}/sequence", headers=admin).json()
    assert body["frame-rate"] == 10.0 and body["frames"][0]["unix-timestamp"] is None
    missing = client.get(f"/api/items/{ok}/frames/1", headers=admin)
    assert missing.status_code == 404 and "b.jpg" in missing.json()["detail"]
    r = client.get(f"/api/items/{ids[str(broken)]}/sequence", headers=admin)
    assert r.status_code == 400 and "frames[0].frame" in r.json()["detail"], r.text
    r = client.get(f"/api/items/{ids[str(escaping)]}/frames/0", headers=admin)
    assert r.status_code == 400 and "outside the allowed roots" in r.json()["detail"], r.text


@pytest.fixture
def bucket() -> str:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    name = f"vr-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=name)
    return name


def test_frames_on_s3_with_etag_revalidation(ws, client, bucket, monkeypatch):
    s3 = s3_client()
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"clip/{i:04d}.jpg", Body=jpeg(60 * i))
    frames = [{"frame-no": i, "frame": f"{i:04d}.jpg", "unix-timestamp": i / 30} for i in range(3)]
    s3.put_object(
        Bucket=bucket,
        Key="clip/seq.json",
        Body=json.dumps(sequence_document(frames, prefix=f"s3://{bucket}/clip/")).encode(),
    )
    ws.settings = dataclasses.replace(ws.settings, allowed_roots=(f"s3://{bucket}/clip",))
    tokens = setup_job(ws, [f"s3://{bucket}/clip/seq.json"])
    admin = bearer(tokens["admin"])
    item_id = _only_item_id(ws)
    body = client.get(f"/api/items/{item_id}/sequence", headers=admin).json()
    assert body["frame-rate"] == pytest.approx(30.0) and body["width"] == 40
    r = client.get(f"/api/items/{item_id}/frames/2", headers=admin)
    assert r.status_code == 200 and r.content == jpeg(120)
    assert (
        client.get(
            f"/api/items/{item_id}/frames/2", headers={**admin, "If-None-Match": r.headers["etag"]}
        ).status_code
        == 304
    )
