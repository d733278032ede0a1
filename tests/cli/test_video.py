"""`truthset video frames`: videos into frame sequences and a manifest of them."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from media.video_support import render_video
from truthset.cli.main import app
from truthset.media.sequences import frame_rate, load_sequence


def test_video_frames_writes_sequences_and_a_manifest(tmp_path):
    video = render_video(tmp_path / "in" / "street.mp4", 12, rate=12)
    result = CliRunner().invoke(
        app, ["video", "frames", str(video), "--to", str(tmp_path / "out"), "--step", "2"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["manifest"] == str(tmp_path / "out" / "sequences.manifest")
    assert summary["videos"] == 1 and summary["frames"] == 6
    [line] = [
        json.loads(x) for x in (tmp_path / "out" / "sequences.manifest").read_text().splitlines()
    ]
    assert line == {
        "source-ref": str(tmp_path / "out" / "street" / "sequence.json"),
        "video-source": str(video),
    }
    seq = load_sequence(line["source-ref"])
    assert seq.number_of_frames == 6 and frame_rate(seq) == 6.0


def test_video_frames_reports_a_bad_video(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"no")
    result = CliRunner().invoke(
        app, ["video", "frames", str(tmp_path / "x.mp4"), "--to", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "not a video FFmpeg reads" in result.output
