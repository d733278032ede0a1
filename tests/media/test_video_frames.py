"""Videos into Ground Truth frame sequences with PyAV: frames, rate and timestamps from the
stream, every n-th frame, S3 in and out, a manifest of videos, nothing left on failure."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from conftest import require
from media.video_support import render_video, square_at, square_left
from truthset.errors import BadInput, NotFound
from truthset.media.sequences import frame_rate, load_sequence, read_frame_rgb
from truthset.media.storage import AllowedRoots, s3_client
from truthset.media.video_frames import extract_manifest, extract_video


def test_frames_rate_and_timestamps_from_the_stream(tmp_path):
    video = render_video(tmp_path / "clip.mp4", 60, rate=25)
    out = extract_video(str(video), str(tmp_path / "frames"))
    assert (out.frames, out.frame_rate, out.width, out.height) == (60, 25.0, 160, 96)
    assert out.sequence_ref == str(tmp_path / "frames" / "sequence.json")
    seq = load_sequence(out.sequence_ref, roots=AllowedRoots([str(tmp_path)]))
    assert seq.number_of_frames == 60 and frame_rate(seq) == 25.0
    assert [f.frame for f in seq.frames][:2] == ["frame_000000.jpg", "frame_000001.jpg"]
    assert [f.unix_timestamp for f in seq.frames] == pytest.approx([i / 25 for i in range(60)])
    for index in (0, 17, 59):
        rgb = read_frame_rgb(seq, index)
        assert rgb.shape == (96, 160, 3)
        assert abs(square_left(rgb) - square_at(index, 160)) <= 1, index
    assert sorted(os.listdir(tmp_path / "frames"))[-1] == "sequence.json"
    assert len(os.listdir(tmp_path / "frames")) == 61  # no .partial left


def test_every_nth_frame_and_the_recording_time(tmp_path):
    video = render_video(
        tmp_path / "clip.webm",
        30,
        rate=30,
        codec="libvpx",
        creation_time="2024-05-01T12:00:00.000000Z",
    )
    out = extract_video(str(video), str(tmp_path / "f"), step=4)
    assert out.frames == 8 and out.frame_rate == pytest.approx(7.5)
    seq = load_sequence(out.sequence_ref)
    start = 1714564800.0
    assert [f.unix_timestamp for f in seq.frames] == pytest.approx(
        [start + 4 * i / 30 for i in range(8)]
    )
    assert abs(square_left(read_frame_rgb(seq, 3)) - square_at(12, 160)) <= 1


def test_bad_input_leaves_nothing(tmp_path):
    (tmp_path / "not.mp4").write_bytes(b"this is no video")
    with pytest.raises(BadInput, match="not.mp4: not a video FFmpeg reads"):
        extract_video(str(tmp_path / "not.mp4"), str(tmp_path / "a"))
    assert not (tmp_path / "a").exists()
    video = render_video(tmp_path / "clip.mp4", 20)
    with pytest.raises(BadInput, match="more than 5 frames"):
        extract_video(str(video), str(tmp_path / "b"), max_frames=5)
    assert not (tmp_path / "b").exists()
    with pytest.raises(NotFound, match="no such file"):
        extract_video(str(tmp_path / "none.mp4"), str(tmp_path / "c"))
    for bad, message in (({"step": 0}, "step: 0"), ({"qscale": 1}, "qscale: 1")):
        with pytest.raises(BadInput, match=message):
            extract_video(str(video), str(tmp_path / "d"), **bad)
    roots = AllowedRoots([str(tmp_path / "in")])
    with pytest.raises(BadInput, match="outside the allowed roots"):
        extract_video(str(video), str(tmp_path / "in" / "x"), roots=roots)
    (tmp_path / "in").mkdir()
    inside = render_video(tmp_path / "in" / "ok.mp4", 3)
    with pytest.raises(BadInput, match="destination .* is outside the allowed roots"):
        extract_video(str(inside), str(tmp_path / "out"), roots=roots)


def test_a_manifest_of_videos(tmp_path):
    a = render_video(tmp_path / "cams" / "one" / "drive.mp4", 10)
    b = render_video(tmp_path / "cams" / "two" / "drive.mp4", 12)
    manifest = tmp_path / "cams" / "videos.manifest"
    manifest.write_text(
        json.dumps({"source-ref": str(a), "camera": "front"})
        + "\n\n"
        + json.dumps({"source-ref": "two/drive.mp4"})
        + "\n"
    )
    result = extract_manifest(str(manifest), str(tmp_path / "seqs"))
    assert result["videos"] == 2 and result["frames"] == 22
    lines = [json.loads(x) for x in Path(result["manifest"]).read_text().splitlines()]
    assert lines == [
        {
            "source-ref": str(tmp_path / "seqs" / "drive" / "sequence.json"),
            "camera": "front",
            "video-source": str(a),
        },
        {
            "source-ref": str(tmp_path / "seqs" / "drive-2" / "sequence.json"),
            "video-source": str(b),
        },
    ]
    assert [load_sequence(x["source-ref"]).number_of_frames for x in lines] == [10, 12]
    assert json.loads(Path(lines[1]["source-ref"]).read_text())["seq-no"] == 2


def test_a_failing_video_removes_the_sequences_before_it(tmp_path):
    a = render_video(tmp_path / "a.mp4", 6)
    (tmp_path / "b.mp4").write_bytes(b"broken")
    manifest = tmp_path / "v.manifest"
    manifest.write_text(
        json.dumps({"source-ref": str(a)})
        + "\n"
        + json.dumps({"source-ref": str(tmp_path / "b.mp4")})
        + "\n"
    )
    (tmp_path / "seqs").mkdir()
    with pytest.raises(BadInput, match="b.mp4: not a video"):
        extract_manifest(str(manifest), str(tmp_path / "seqs"))
    assert os.listdir(tmp_path / "seqs") == []
    # A destination the extraction made is removed with what was in it.
    with pytest.raises(BadInput, match="b.mp4: not a video"):
        extract_manifest(str(manifest), str(tmp_path / "new" / "seqs"))
    assert not (tmp_path / "new" / "seqs").exists()
    for text, message in (
        ("{nope\n", "line 1: not JSON"),
        ('{"source": "text"}\n', "line 1: needs a source-ref"),
        (
            '{"source-ref": "/x/photo.jpg"}\n',
            "line 1: source-ref '/x/photo.jpg' is not a video file",
        ),
        ("\n", "holds no lines"),
    ):
        manifest.write_text(text)
        with pytest.raises(BadInput, match=message):
            extract_manifest(str(manifest), str(tmp_path / "seqs"))
    manifest.write_text(json.dumps({"source-ref": str(a)}) + "\n")
    with pytest.raises(BadInput, match="line 1: video .* is outside the allowed roots"):
        extract_manifest(
            str(manifest),
            str(tmp_path / "seqs"),
            roots=AllowedRoots([str(tmp_path / "seqs"), str(manifest)]),
        )


@pytest.fixture
def bucket() -> str:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    name = f"vf-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=name)
    return name


def test_from_s3_to_s3(tmp_path, bucket):
    video = render_video(tmp_path / "clip.mp4", 15, rate=10)
    s3 = s3_client()
    s3.upload_file(str(video), bucket, "in/clip.mp4")
    manifest = json.dumps({"source-ref": f"s3://{bucket}/in/clip.mp4"}) + "\n"
    s3.put_object(Bucket=bucket, Key="in/videos.manifest", Body=manifest.encode())
    roots = AllowedRoots([f"s3://{bucket}"])
    result = extract_manifest(
        f"s3://{bucket}/in/videos.manifest", f"s3://{bucket}/seqs/", roots=roots
    )
    assert result["manifest"] == f"s3://{bucket}/seqs/sequences.manifest"
    [line] = [
        json.loads(x)
        for x in s3.get_object(Bucket=bucket, Key="seqs/sequences.manifest")["Body"]
        .read()
        .splitlines()
    ]
    assert line["source-ref"] == f"s3://{bucket}/seqs/clip/sequence.json"
    seq = load_sequence(line["source-ref"], roots=roots)
    assert seq.number_of_frames == 15 and frame_rate(seq) == 10.0
    assert seq.frames[14].ref == f"s3://{bucket}/seqs/clip/frame_000014.jpg"
    assert abs(square_left(read_frame_rgb(seq, 14)) - square_at(14, 160)) <= 1
    head = s3.head_object(Bucket=bucket, Key="seqs/clip/frame_000000.jpg")
    assert head["ContentType"] == "image/jpeg"
