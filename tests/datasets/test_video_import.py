"""The import option extract_video_frames: videos become frame sequences, imported as
sequence items the player's routes serve; refused with wait or outside the roots; a
failure leaves no frames behind. Through the API (a run) and the command line."""

from __future__ import annotations

import json
import os

from sqlalchemy import text
from typer.testing import CliRunner

from media.video_support import render_video
from support import bearer, wait_run
from truthset.api.tokens import issue_token
from truthset.cli.main import app
from truthset.workforce.service import create_user


def admin_headers(ws):
    with ws.db.session_scope() as s:
        return bearer(issue_token(s, create_user(s, "boss", role="admin")))


def items_of(ws):
    with ws.db.session_scope() as s:
        return [
            (i, json.loads(d)) for i, d in s.execute(text("SELECT id, data FROM items ORDER BY id"))
        ]


def test_a_folder_of_videos_imports_as_sequence_items(ws, client):
    media = ws.settings.media_dir
    render_video(media / "videos" / "a.mp4", 8, rate=8)
    render_video(media / "videos" / "b.webm", 5, rate=5, codec="libvpx")
    headers = admin_headers(ws)
    body = {"source": str(media / "videos"), "extract_video_frames": str(media / "frames")}
    r = client.post("/api/datasets/clips/imports", json=body, headers=headers)
    assert r.status_code == 202, r.text
    run = wait_run(client, r.json()["run"]["id"], headers)
    assert run["state"] == "succeeded", run
    assert run["result"]["added"] == 2
    assert run["result"]["video_frames"] == {
        "manifest": str(media / "frames" / "sequences.manifest"),
        "videos": 2,
        "frames": 13,
    }
    items = items_of(ws)
    assert [d["source-ref"] for _, d in items] == [
        str(media / "frames" / "a" / "sequence.json"),
        str(media / "frames" / "b" / "sequence.json"),
    ]
    assert [d["video-source"] for _, d in items] == [
        str(media / "videos" / "a.mp4"),
        str(media / "videos" / "b.webm"),
    ]
    seq = client.get(f"/api/items/{items[1][0]}/sequence", headers=headers).json()
    assert seq["number-of-frames"] == 5 and seq["frame-rate"] == 5.0 and seq["width"] == 160
    frame = client.get(f"/api/items/{items[0][0]}/frames/7", headers=headers)
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/jpeg"


def test_refused_with_wait_or_outside_the_roots(ws, client, tmp_path):
    media = ws.settings.media_dir
    render_video(media / "v.mp4", 3)
    headers = admin_headers(ws)
    r = client.post(
        "/api/datasets/c/imports",
        json={
            "source": str(media / "v.mp4"),
            "extract_video_frames": str(media / "f"),
            "wait": True,
        },
        headers=headers,
    )
    assert r.status_code == 400 and r.json()["detail"].startswith("extract_video_frames: "), r.text
    r = client.post(
        "/api/datasets/c/imports",
        json={"source": str(media / "v.mp4"), "extract_video_frames": str(tmp_path / "elsewhere")},
        headers=headers,
    )
    assert r.status_code == 400 and "outside the allowed roots" in r.json()["detail"], r.text
    assert not (tmp_path / "elsewhere").exists()


def test_a_bad_video_fails_the_run_and_leaves_nothing(ws, client):
    media = ws.settings.media_dir
    render_video(media / "in" / "a.mp4", 4)
    (media / "in" / "b.mp4").write_bytes(b"not a video")
    (media / "out").mkdir()
    headers = admin_headers(ws)
    r = client.post(
        "/api/datasets/c/imports",
        json={"source": str(media / "in"), "extract_video_frames": str(media / "out")},
        headers=headers,
    )
    run = wait_run(client, r.json()["run"]["id"], headers)
    assert run["state"] == "failed" and "b.mp4: not a video FFmpeg reads" in run["error"], run
    assert os.listdir(media / "out") == []
    assert items_of(ws) == []


def test_the_command_line_option(ws, tmp_path):
    video = render_video(tmp_path / "in" / "cam.mp4", 6, rate=6)
    manifest = tmp_path / "in" / "videos.manifest"
    manifest.write_text(json.dumps({"source-ref": str(video), "id": "cam-1"}) + "\n")
    result = CliRunner().invoke(
        app,
        [
            "dataset",
            "import",
            "cams",
            str(manifest),
            "--allow-root",
            str(tmp_path / "in"),
            "--extract-video-frames",
            str(tmp_path / "frames"),
            "--data-dir",
            str(ws.settings.data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"] == 1
    [(_, item)] = items_of(ws)
    assert item["source-ref"] == str(tmp_path / "frames" / "cam" / "sequence.json")
    assert item["id"] == "cam-1"
