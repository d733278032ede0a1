"""RTTM, WebVTT, SRT and the events CSV of audio-segment jobs, each read back with the
format's own parser (pyannote.database's RTTM loader, webvtt-py, srt) and checked field by
field against the labels made through the work engine."""

from __future__ import annotations

import csv
import html
import io
import zipfile
from datetime import timedelta

import pytest
import srt
import webvtt
from pyannote.core import Segment
from pyannote.database.util import load_rttm

from audio_support import write_wav
from support import answer_tasks, job_over_items, wait_run
from truthset.errors import BadInput
from truthset.exports.audio_segments import srt_file, webvtt_file
from truthset.exports.formats import get_exporter
from truthset.jobs.service import get_job
from truthset.media.audio_windows import clear_caches
from truthset.workforce.service import create_user

LABELS = ["Dr Who", "bob"]
SEGMENTS = {
    "call 1": [
        {"start": 0.4, "end": 1.25, "label": "Dr Who", "text": "hello & <welcome>"},
        {"start": 1.1, "end": 2.5, "label": "bob", "text": "hi\n\nthere --> you"},
        {"start": 3, "end": 3.5, "label": "bob", "text": ""},
    ],
    "call-2": [{"start": 62.125, "end": 3725.5, "label": "Dr Who", "text": "a long one"}],
    "empty": [],
}


def export(ws, job: str, fmt: str) -> tuple[int, bytes]:
    out: list[bytes] = []
    exporter = get_exporter(fmt)
    with ws.db.session_scope(write=False) as s:
        the_job = get_job(s, job)
        exporter.check_job(the_job)
        n = exporter.export(s, the_job, lambda chunks: out.extend(chunks), now=0)
    return n, b"".join(out)


@pytest.fixture
def job(any_ws):
    return any_ws, _calls_job(any_ws)


def _calls_job(ws):
    """A transcription job over three clips, each labeled by one worker; item id ->
    source-ref."""
    clear_caches()
    with ws.db.session_scope() as s:
        create_user(s, "w", role="worker", teams=["t"])
    ref = write_wav(ws.settings.media_dir / "call 1.wav", [], 4.0)
    # call-2's recording is not here to read: its answer's duration stands.
    missing = str(ws.settings.media_dir / "call-2.wav")
    items = [
        {"id": "call 1", "source-ref": ref},
        {"id": "call-2", "source-ref": missing},
        {"id": "empty", "source-ref": ref},
    ]
    job_over_items(ws, "calls", items, LABELS, task_type="audio-segment-transcription")
    answer_tasks(ws, "calls", "w", lambda i: {"segments": SEGMENTS[i], "duration": 3800})
    return {item["id"]: item["source-ref"] for item in items}


def _sorted(item_id):
    return sorted(SEGMENTS[item_id], key=lambda s: (s["start"], s["end"]))


def test_rttm_read_back_by_pyannote(job, tmp_path):
    ws, _refs = job
    n, body = export(ws, "calls", "rttm")
    assert n == 3
    path = tmp_path / "calls.rttm"
    path.write_bytes(body)
    loaded = load_rttm(str(path))
    assert set(loaded) == {"call_1", "call-2"}  # an item without segments has no lines
    for uri, item_id in (("call_1", "call 1"), ("call-2", "call-2")):
        tracks = sorted(
            (seg.start, seg.end, label) for seg, _, label in loaded[uri].itertracks(True)
        )
        expected = [(s["start"], s["end"], s["label"].replace(" ", "_")) for s in _sorted(item_id)]
        assert [(round(a, 3), round(b, 3), c) for a, b, c in tracks] == expected
    assert loaded["call_1"].label_duration("bob") == pytest.approx(1.4 + 0.5)
    assert Segment(62.125, 3725.5) in loaded["call-2"].get_timeline()
    first = body.decode().splitlines()[0].split(" ")
    assert first == ["SPEAKER", "call_1", "1", "0.400", "0.850", "<NA>", "<NA>", "Dr_Who"] + [
        "<NA>",
        "<NA>",
    ]


def _zip(body: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_webvtt_read_back_by_webvtt_py(job):
    ws, refs = job
    n, body = export(ws, "calls", "webvtt")
    files = _zip(body)
    assert n == 3
    assert set(files) == {"call_1.vtt", "call-2.vtt", "empty.vtt", "files.txt"}
    assert files["files.txt"].splitlines() == [
        f"call_1.vtt\t{refs['call 1']}",
        f"call-2.vtt\t{refs['call-2']}",
        f"empty.vtt\t{refs['empty']}",
    ]
    captions = webvtt.from_string(files["call_1.vtt"]).captions
    assert [(c.start, c.end) for c in captions] == [
        ("00:00:00.400", "00:00:01.250"),
        ("00:00:01.100", "00:00:02.500"),
        ("00:00:03.000", "00:00:03.500"),
    ]
    assert [c.voice for c in captions] == ["Dr Who", "bob", "bob"]
    assert [html.unescape(c.text) for c in captions] == [
        "hello & <welcome>",
        "hi\nthere -> you",  # an empty line would end the cue; '-->' would start one
        "",
    ]
    (long,) = webvtt.from_string(files["call-2.vtt"]).captions
    assert (long.start, long.end, long.voice) == (
        "00:01:02.125",
        "01:02:05.500",
        "Dr Who",
    )
    assert webvtt.from_string(files["empty.vtt"]).captions == []


def test_srt_read_back_by_srt(job):
    ws, _refs = job
    _n, body = export(ws, "calls", "srt")
    files = _zip(body)
    subs = list(srt.parse(files["call_1.srt"]))
    assert [(s.index, s.start, s.end, s.content) for s in subs] == [
        (1, timedelta(seconds=0.4), timedelta(seconds=1.25), "Dr Who: hello & <welcome>"),
        (2, timedelta(seconds=1.1), timedelta(seconds=2.5), "bob: hi\nthere -> you"),
        (3, timedelta(seconds=3), timedelta(seconds=3.5), "bob:"),
    ]
    (long,) = srt.parse(files["call-2.srt"])
    assert long.end == timedelta(hours=1, minutes=2, seconds=5.5)
    assert list(srt.parse(files["empty.srt"])) == []


def test_events_csv(job):
    ws, refs = job
    n, body = export(ws, "calls", "events-csv")
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert n == 3
    assert rows[0] == ["file", "start", "end", "label"]
    assert rows[1:] == [
        [refs["call 1"], "0.400", "1.250", "Dr Who"],
        [refs["call 1"], "1.100", "2.500", "bob"],
        [refs["call 1"], "3.000", "3.500", "bob"],
        [refs["call-2"], "62.125", "3725.500", "Dr Who"],
    ]


def test_formats_refuse_other_task_types(any_ws):
    ws = any_ws
    with ws.db.session_scope() as s:
        create_user(s, "w", role="worker", teams=["t"])
    job_over_items(ws, "texts", [{"id": "a", "source": "x"}], ["pos", "neg"])
    for fmt in ("rttm", "webvtt", "srt", "events-csv"):
        with pytest.raises(BadInput, match=f"the {fmt} format is for audio-segment"):
            export(ws, "texts", fmt)
    # Subtitles need transcripts: a segmentation job has none.
    job_over_items(
        ws,
        "events",
        [{"id": "b", "source-ref": str(ws.settings.media_dir / "b.wav")}],
        ["dog"],
        task_type="audio-segmentation",
    )
    with pytest.raises(BadInput, match="job 'events' has nothing to export as RTTM: none of"):
        export(ws, "events", "rttm")
    with pytest.raises(BadInput, match="the srt format is for audio-segment-transcription"):
        export(ws, "events", "srt")


def test_cue_writers_alone():
    segments = [{"start": 0, "end": 0.5, "label": "a<b>", "text": "x"}]
    assert webvtt_file(segments) == "WEBVTT\n\n00:00:00.000 --> 00:00:00.500\n<v a&lt;b&gt;>x\n"
    assert webvtt_file([]) == "WEBVTT\n\n"
    assert srt_file(segments) == "1\n00:00:00,000 --> 00:00:00,500\na<b>: x\n"


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("rttm", "text/plain; charset=utf-8"),
        ("events-csv", "text/csv; charset=utf-8"),
        ("webvtt", "application/zip"),
    ],
)
def test_the_api_download_says_what_the_file_is(ws, client, fmt, content_type):
    from truthset.api.tokens import issue_token
    from truthset.runs.executor import run_pending

    _calls_job(ws)
    with ws.db.session_scope() as s:
        admin = {"Authorization": f"Bearer {issue_token(s, create_user(s, 'boss', role='admin'))}"}
    r = client.post("/api/jobs/calls/exports", json={"format": fmt}, headers=admin)
    assert r.status_code == 202, r.text
    run_pending(ws.db, ws.settings)
    assert wait_run(client, r.json()["id"], admin)["state"] == "succeeded"
    got = client.get(f"/api/runs/{r.json()['id']}/download", headers=admin)
    assert got.status_code == 200 and got.headers["content-type"] == content_type
    direct = export(ws, "calls", fmt)[1]
    if fmt == "webvtt":  # a zip's entries carry the time they were written
        assert _zip(got.content) == _zip(direct)
    else:
        assert got.content == direct


def test_export_from_the_cli(ws, tmp_path):
    from typer.testing import CliRunner

    from truthset.cli.main import app

    _calls_job(ws)
    out = tmp_path / "calls.rttm"
    data = ["--data-dir", str(ws.settings.data_dir)]
    r = CliRunner().invoke(app, ["export", "calls", "--format", "rttm", "--out", str(out), *data])
    assert r.exit_code == 0, r.output
    assert set(load_rttm(str(out))) == {"call_1", "call-2"}
    assert out.read_bytes() == export(ws, "calls", "rttm")[1]
