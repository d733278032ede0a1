"""The audio routes of the tools: header facts, peaks and samples of a window, served to those
who may see the item, with bounded sizes and 400s that name the parameter; and the media
route answering HTTP Range requests, which <audio> streams long recordings with."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import text

from support import bearer, job_over_items
from truthset.api.tokens import issue_token
from truthset.media import audio_windows
from truthset.media.router import MAX_PEAK_BINS, MAX_SAMPLE_FRAMES
from truthset.workforce.service import create_team, create_user

RATE = 16_000


@pytest.fixture
def audio(ws):
    """A 3-minute clip with a tone at [60.05, 60.95) s, in a job of team 'ours'; tokens by
    role. (Wide peaks are drawn at the overview's 256-frame resolution: the tone stays inside
    its second.)"""
    audio_windows.clear_caches()
    samples = np.zeros(180 * RATE, dtype=np.float32)
    n = round(0.9 * RATE)
    samples[60 * RATE + 800 : 60 * RATE + 800 + n] = 0.5 * np.sin(
        2 * np.pi * 440 * np.arange(n) / RATE
    )
    path = ws.settings.media_dir / "clip.wav"
    sf.write(path, samples, RATE, subtype="PCM_16")
    (ws.settings.media_dir / "not-audio.wav").write_bytes(b"RIFF but nothing after" * 4)
    with ws.db.session_scope() as s:
        create_team(s, "ours")
        create_team(s, "theirs")
    job_over_items(
        ws,
        "a",
        [{"source-ref": str(path)}, {"source-ref": str(ws.settings.media_dir / "not-audio.wav")}],
        ["speech", "music"],
        teams=("ours",),
        task_type="audio-classification",
    )
    with ws.db.session_scope() as s:
        ids = dict(
            s.execute(text("SELECT json_extract(data, '$.\"source-ref\"'), id FROM items")).all()
        )
        tokens = {
            "admin": issue_token(s, create_user(s, "admin", role="admin")),
            "reviewer": issue_token(s, create_user(s, "rev", role="reviewer", teams=["ours"])),
            "outsider": issue_token(s, create_user(s, "rev2", role="reviewer", teams=["theirs"])),
            "worker": issue_token(s, create_user(s, "w", role="worker", teams=["ours"])),
        }
    stored = sf.read(path, dtype="float32")[0]
    return ids[str(path)], ids[str(ws.settings.media_dir / "not-audio.wav")], tokens, stored


def test_info_peaks_and_samples(client, audio):
    item, _, tokens, stored = audio
    admin = bearer(tokens["admin"])
    info = client.get(f"/api/items/{item}/audio", headers=admin)
    assert info.status_code == 200, info.text
    assert info.json() == {
        "duration": 180.0,
        "rate": RATE,
        "frames": 180 * RATE,
        "channels": 1,
        "format": "WAV",
        "max_peak_bins": MAX_PEAK_BINS,
        "max_sample_frames": MAX_SAMPLE_FRAMES,
    }
    # The whole clip at 180 bins: only the bin over [60, 61) s is loud.
    whole = client.get(f"/api/items/{item}/audio/peaks?bins=180", headers=admin).json()
    assert (whole["bins"], whole["start_frame"], whole["end_frame"]) == (180, 0, 180 * RATE)
    assert [i for i, v in enumerate(whole["max"]) if v > 0.4] == [60]
    assert min(whole["min"]) == pytest.approx(-0.5, abs=1e-3)
    # A narrow window, exact: 100 bins of 16 frames.
    narrow = client.get(f"/api/items/{item}/audio/peaks?start=60&end=60.1&bins=100", headers=admin)
    body = narrow.json()
    expected = stored[60 * RATE : 60 * RATE + 1600].reshape(100, 16).max(axis=1)
    np.testing.assert_allclose(body["max"], expected, atol=5e-5)
    samples = client.get(f"/api/items/{item}/audio/samples?start=60.5&end=60.75", headers=admin)
    assert samples.status_code == 200
    assert samples.headers["x-audio-rate"] == "16000"
    assert samples.headers["x-audio-start-frame"] == str(60 * RATE + RATE // 2)
    got = np.frombuffer(samples.content, dtype="<f4")
    np.testing.assert_array_equal(got, stored[60 * RATE + 8000 : 60 * RATE + 12000])
    # A window past the end is cut at the end.
    tail = client.get(f"/api/items/{item}/audio/samples?start=179.5&end=500", headers=admin)
    assert int(tail.headers["x-audio-frames"]) == RATE // 2


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("peaks?start=abc", "start: 'abc' is not a number of seconds"),
        ("peaks?start=-1", "start: '-1' is not a finite number of seconds >= 0"),
        ("peaks?end=nan", "end: 'nan' is not a finite number"),
        ("peaks?start=5&end=5", "end: 5.0 must be after start (5.0)"),
        ("peaks?start=180", "start: 180.0 is at or past the end of the audio (180.000 s)"),
        ("peaks?bins=0", f"bins: 0 must be between 1 and {MAX_PEAK_BINS}"),
        (f"peaks?bins={MAX_PEAK_BINS + 1}", f"bins: {MAX_PEAK_BINS + 1} must be between"),
        ("peaks?bins=2.5", "bins: '2.5' is not a whole number"),
        ("samples?end=1", "start: a time in seconds is required"),
        ("samples?start=1", "end: a time in seconds is required"),
        ("samples?start=0&end=179", "end: the window [0.0, 179.0) holds 2,864,000 frames, more"),
    ],
)
def test_bad_parameters_are_400s_naming_them(client, audio, query, detail):
    item, _, tokens, _ = audio
    r = client.get(f"/api/items/{item}/audio/{query}", headers=bearer(tokens["admin"]))
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_input" and detail in r.json()["detail"]


def test_media_that_is_not_audio_is_a_400(client, audio):
    _, broken, tokens, _ = audio
    r = client.get(f"/api/items/{broken}/audio", headers=bearer(tokens["admin"]))
    assert r.status_code == 400
    assert f"item {broken}: the media is not audio this server decodes" in r.json()["detail"]


def test_a_missing_file_is_a_404(client, audio, ws):
    item, _, tokens, _ = audio
    (ws.settings.media_dir / "clip.wav").unlink()
    for route in ("audio", "audio/peaks", "audio/samples?start=0&end=1"):
        r = client.get(f"/api/items/{item}/{route}", headers=bearer(tokens["admin"]))
        assert r.status_code == 404, r.text
        assert r.json()["detail"] == f"the file of item {item} is missing"


def test_the_same_access_rules_as_the_media_route(client, audio):
    item, _, tokens, _ = audio
    for who, status in (("reviewer", 200), ("outsider", 404), ("worker", 404)):
        for route in ("audio", "audio/peaks?bins=10", "audio/samples?start=0&end=1", "media"):
            r = client.get(f"/api/items/{item}/{route}", headers=bearer(tokens[who]))
            assert r.status_code == status, (who, route, r.text)
    assert client.get(f"/api/items/{item}/audio").status_code == 401
    # Once assigned a task of the item, the worker may read it.
    leased = client.post("/api/jobs/a/next", headers=bearer(tokens["worker"])).json()
    assert leased["item"]["media_url"] == f"/api/items/{item}/media"
    r = client.get(f"/api/items/{item}/audio/peaks?bins=10", headers=bearer(tokens["worker"]))
    assert r.status_code == 200


def test_the_media_route_answers_range_requests(client, audio, ws):
    item, _, tokens, _ = audio
    admin = bearer(tokens["admin"])
    whole = (ws.settings.media_dir / "clip.wav").read_bytes()
    part = client.get(f"/api/items/{item}/media", headers={**admin, "Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(whole)}"
    assert part.headers["accept-ranges"] == "bytes"
    assert part.content == whole[1000:2000]
    assert part.headers["content-type"] == "audio/x-wav"
    # An open range (what <audio> sends when it seeks) and a suffix range.
    tail = client.get(f"/api/items/{item}/media", headers={**admin, "Range": "bytes=5000000-"})
    assert tail.status_code == 206 and tail.content == whole[5_000_000:]
    last = client.get(f"/api/items/{item}/media", headers={**admin, "Range": "bytes=-10"})
    assert last.status_code == 206 and last.content == whole[-10:]
    beyond = client.get(f"/api/items/{item}/media", headers={**admin, "Range": "bytes=99999999-"})
    assert beyond.status_code == 416


def test_audio_of_an_s3_item_is_read_by_ranges(ws, client, tmp_path):
    import os
    import uuid

    from conftest import require
    from truthset.datasets.importer import import_source
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job
    from truthset.media.storage import s3_client

    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    audio_windows.clear_caches()
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    s3 = s3_client()
    s3.create_bucket(Bucket=bucket)
    samples = np.zeros(30 * RATE, dtype=np.float32)
    samples[20 * RATE + 1600 : 21 * RATE - 1600] = 0.25  # inside its second at any bucket
    local = tmp_path / "s3clip.flac"
    sf.write(local, samples, RATE, subtype="PCM_16")
    s3.put_object(Bucket=bucket, Key="audio/clip.flac", Body=local.read_bytes())
    s3.put_object(
        Bucket=bucket,
        Key="in/input.manifest",
        Body=f'{{"source-ref": "s3://{bucket}/audio/clip.flac"}}\n'.encode(),
    )
    with ws.db.session_scope() as s:
        create_team(s, "ours")
        import_source(
            s, "s3audio", f"s3://{bucket}/in/input.manifest", allowed_roots=[f"s3://{bucket}"]
        )
        create_job(
            s,
            JobCreate(
                name="s3a",
                task_type="audio-classification",
                label_config=["x", "y"],
                dataset="s3audio",
                teams=["ours"],
            ),
        )
        item = s.execute(text("SELECT id FROM items")).scalar_one()
        admin = bearer(issue_token(s, create_user(s, "admin", role="admin")))
    # The server reads and presigns S3 objects only inside its configured roots.
    ws.settings = dataclasses.replace(ws.settings, allowed_roots=(f"s3://{bucket}",))
    info = client.get(f"/api/items/{item}/audio", headers=admin).json()
    assert (info["duration"], info["format"]) == (30.0, "FLAC")
    peaks = client.get(f"/api/items/{item}/audio/peaks?bins=30", headers=admin).json()
    assert [i for i, v in enumerate(peaks["max"]) if v > 0.2] == [20]
    got = client.get(f"/api/items/{item}/audio/samples?start=20.5&end=20.6", headers=admin)
    assert np.frombuffer(got.content, dtype="<f4").min() == pytest.approx(0.25, abs=1e-4)
    # <audio> gets the object store's URL, which answers Range requests itself.
    media = client.get(f"/api/items/{item}/media", headers=admin, follow_redirects=False)
    assert media.status_code == 307
    import httpx

    part = httpx.get(media.headers["location"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == local.read_bytes()[:100]
    # An object deleted since is a 404, as a missing file is.
    s3.delete_object(Bucket=bucket, Key="audio/clip.flac")
    audio_windows.clear_caches()
    gone = client.get(f"/api/items/{item}/audio/peaks", headers=admin)
    assert (
        gone.status_code == 404 and gone.json()["detail"] == f"the file of item {item} is missing"
    )
