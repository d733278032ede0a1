"""Ground Truth sequence files: parsing, ordering, errors naming the field, loading (local
and real S3), caching by version, frames read as bytes and pixels."""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import require
from truthset.errors import BadInput, NotFound
from truthset.media import sequences
from truthset.media.sequences import (
    DEFAULT_FRAME_RATE,
    frame_rate,
    load_sequence,
    parse_sequence,
    read_frame_bytes,
    read_frame_rgb,
    sequence_document,
)
from truthset.media.storage import AllowedRoots, s3_client


def jpeg(color: tuple[int, int, int], size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG", quality=95)
    return out.getvalue()


def gt_doc(prefix: str = "s3://mybucket/prefix/video1/") -> dict:
    # The example of Ground Truth's developer guide (sms-video-manual-data-setup), listed
    # out of name order.
    return {
        "seq-no": 1,
        "prefix": prefix,
        "number-of-frames": 3,
        "frames": [
            {"frame-no": 3, "unix-timestamp": 1566861644.959, "frame": "frame0003.jpg"},
            {"frame-no": 1, "unix-timestamp": 1566861644.759, "frame": "frame0001.jpg"},
            {"frame-no": 2, "unix-timestamp": 1566861644.859, "frame": "frame0002.jpg"},
        ],
    }


def test_ground_truth_example_is_sorted_by_name_and_resolved():
    seq = parse_sequence(json.dumps(gt_doc()).encode(), ref="s3://mybucket/seqs/seq1.json")
    assert [f.frame for f in seq.frames] == ["frame0001.jpg", "frame0002.jpg", "frame0003.jpg"]
    assert [f.index for f in seq.frames] == [0, 1, 2]
    assert [f.frame_no for f in seq.frames] == [1, 2, 3]
    assert seq.frames[0].ref == "s3://mybucket/prefix/video1/frame0001.jpg"
    assert seq.number_of_frames == 3 and seq.seq_no == 1
    assert frame_rate(seq) == pytest.approx(10.0)


def test_order_is_utf8_bytes_not_natural_nor_locale():
    names = ["b.jpg", "B.jpg", "a10.jpg", "a9.jpg", "é.jpg", "z.jpg"]
    doc = {"frames": [{"frame-no": i, "frame": n} for i, n in enumerate(names)]}
    seq = parse_sequence(doc, ref="/data/s.json")
    assert [f.frame for f in seq.frames] == sorted(names, key=lambda n: n.encode("utf-8"))
    assert [f.frame for f in seq.frames][:4] == ["B.jpg", "a10.jpg", "a9.jpg", "b.jpg"]


def test_unknown_keys_are_kept_for_point_cloud_frames():
    pose = {"position": {"x": 1, "y": 2, "z": 3}, "heading": {"qx": 0, "qy": 0, "qz": 0, "qw": 1}}
    doc = {
        "seq-no": "drive-7",
        "prefix": "s3://b/lidar/",
        "number-of-frames": 1,
        "extra-top": [1],
        "frames": [
            {
                "frame-no": "0",
                "unix-timestamp": "1566861644.5",
                "frame": "0.bin",
                "format": "binary/xyzi",
                "ego-vehicle-pose": pose,
                "images": [{"image-path": "cam/0.jpg", "fx": 800}],
            }
        ],
    }
    seq = parse_sequence(doc, ref="s3://b/seq.json")
    frame = seq.frames[0]
    assert frame.frame_no == 0 and frame.unix_timestamp == 1566861644.5
    assert frame.frame_no_given == "0"
    assert frame.extra == {
        "format": "binary/xyzi",
        "ego-vehicle-pose": pose,
        "images": [{"image-path": "cam/0.jpg", "fx": 800}],
    }
    assert seq.extra == {"extra-top": [1]} and seq.seq_no == "drive-7"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["frames"][1].update({"frame": ""}), "frames[1].frame: must be"),
        (lambda d: d["frames"][1].pop("frame"), "frames[1].frame: is missing"),
        (
            lambda d: d["frames"][2].update({"frame": "frame0001.jpg"}),
            "frames[2].frame: 'frame0001.jpg' is also frames[1]",
        ),
        (
            lambda d: d["frames"][0].update({"frame": "../x.jpg"}),
            "frames[0].frame: '../x.jpg' may not hold",
        ),
        (
            lambda d: d["frames"][0].update({"frame": "s3://o/x.jpg"}),
            "frames[0].frame: 's3://o/x.jpg' must be a name",
        ),
        (
            lambda d: d["frames"][1].update({"frame-no": -1}),
            "frames[1].frame-no: must be a whole number",
        ),
        (lambda d: d["frames"][1].update({"frame-no": True}), "frames[1].frame-no: must be"),
        (lambda d: d["frames"][2].update({"frame-no": 3.5}), "frames[2].frame-no: must be"),
        (
            lambda d: d["frames"][2].update({"frame-no": 1}),
            "frames[2].frame-no: 1 is also frames[1]",
        ),
        (lambda d: d["frames"][0].pop("frame-no"), "frames[0].frame-no: is missing"),
        (
            lambda d: d["frames"][2].update({"unix-timestamp": "soon"}),
            "frames[2].unix-timestamp: must be seconds",
        ),
        (
            lambda d: d["frames"][2].update({"unix-timestamp": float("nan")}),
            "frames[2].unix-timestamp",
        ),
        (
            lambda d: d["frames"].__setitem__(1, "frame0002.jpg"),
            "frames[1]: must be an object, not str",
        ),
        (
            lambda d: d.update({"number-of-frames": 4}),
            "number-of-frames: says 4 but 'frames' lists 3",
        ),
        (lambda d: d.update({"frames": []}), "frames: is empty"),
        (lambda d: d.update({"frames": {"a": 1}}), "frames: must be a list"),
        (lambda d: d.update({"prefix": 7}), "prefix: must be"),
        (lambda d: d.update({"prefix": "http://x/"}), "prefix: "),
        (lambda d: d.update({"prefix": "s3://bad bucket/"}), "prefix: "),
        (lambda d: d.update({"seq-no": [1]}), "seq-no: must be"),
        (lambda d: d.update({"frame-rate": 0}), "frame-rate: must be"),
    ],
)
def test_errors_name_the_file_and_field(change, message):
    doc = gt_doc()
    change(doc)
    with pytest.raises(BadInput) as info:
        parse_sequence(doc, ref="s3://b/k.json")
    assert str(info.value.detail).startswith("sequence file s3://b/k.json: ")
    assert message in str(info.value.detail)


def test_not_json_and_not_an_object():
    with pytest.raises(BadInput, match="sequence file /d/s.json: not JSON"):
        parse_sequence(b"{nope", ref="/d/s.json")
    with pytest.raises(BadInput, match="must be a JSON object, not list"):
        parse_sequence(b"[]", ref="/d/s.json")


def test_too_many_frames(monkeypatch):
    monkeypatch.setattr(sequences, "MAX_FRAMES", 2)
    with pytest.raises(BadInput, match="frames: 3 frames: at most 2"):
        parse_sequence(gt_doc(), ref="/d/s.json")


def test_prefix_missing_or_relative_is_beside_the_file(tmp_path):
    doc = {"frames": [{"frame-no": 0, "frame": "f.jpg"}]}
    assert parse_sequence(doc, ref=str(tmp_path / "s.json")).frames[0].ref == str(
        tmp_path / "f.jpg"
    )
    doc["prefix"] = "frames"
    assert parse_sequence(doc, ref=str(tmp_path / "s.json")).frames[0].ref == str(
        tmp_path / "frames" / "f.jpg"
    )
    assert parse_sequence(doc, ref="s3://b/v/s.json").frames[0].ref == "s3://b/v/frames/f.jpg"
    del doc["prefix"]
    assert parse_sequence(doc, ref="s3://b/v/s.json").frames[0].ref == "s3://b/v/f.jpg"
    doc["prefix"] = "s3://b/no-slash"
    assert parse_sequence(doc, ref="/x/s.json").frames[0].ref == "s3://b/no-slash/f.jpg"
    doc["prefix"] = "../up"
    with pytest.raises(BadInput, match="prefix: "):
        parse_sequence(doc, ref="/x/s.json")


def test_frame_rate_declared_from_timestamps_or_default():
    doc = {"frames": [{"frame-no": i, "frame": f"{i:03d}.jpg"} for i in range(5)]}
    assert frame_rate(parse_sequence(doc, ref="/d/s.json")) == DEFAULT_FRAME_RATE
    for i, f in enumerate(doc["frames"]):
        f["unix-timestamp"] = 1000 + i / 25
    assert frame_rate(parse_sequence(doc, ref="/d/s.json")) == pytest.approx(25.0)
    doc["frame-rate"] = 29.97
    assert frame_rate(parse_sequence(doc, ref="/d/s.json")) == 29.97
    # Timestamps that do not move say nothing.
    doc.pop("frame-rate")
    for f in doc["frames"]:
        f["unix-timestamp"] = 5
    assert frame_rate(parse_sequence(doc, ref="/d/s.json")) == DEFAULT_FRAME_RATE


def test_sequence_document_round_trips():
    frames = [
        {"frame-no": i, "frame": f"frame_{i:05d}.jpg", "unix-timestamp": i / 30} for i in range(4)
    ]
    doc = sequence_document(frames, prefix="s3://b/f/", seq_no=3, frame_rate=30.0)
    assert doc["number-of-frames"] == 4 and doc["frame-rate"] == 30.0 and doc["seq-no"] == 3
    seq = parse_sequence(json.dumps(doc), ref="s3://b/s.json")
    assert [f.frame for f in seq.frames] == [f["frame"] for f in frames]
    assert frame_rate(seq) == 30.0


def write_local_sequence(root: Path, colors: list[tuple[int, int, int]]) -> Path:
    (root / "frames").mkdir(parents=True, exist_ok=True)
    frames = []
    for i, color in enumerate(colors):
        (root / "frames" / f"f{i:03d}.jpg").write_bytes(jpeg(color))
        frames.append({"frame-no": i, "frame": f"f{i:03d}.jpg", "unix-timestamp": i * 0.04})
    path = root / "seq.json"
    path.write_text(json.dumps(sequence_document(frames, prefix=str(root / "frames") + "/")))
    return path


def test_load_local_read_frames_and_cache_by_version(tmp_path):
    sequences.clear_cache()
    path = write_local_sequence(tmp_path, [(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    roots = AllowedRoots([str(tmp_path)])
    seq = load_sequence(str(path), roots=roots)
    assert seq.number_of_frames == 3 and frame_rate(seq) == pytest.approx(25.0)
    assert load_sequence(str(path), roots=roots) is seq  # cached
    assert read_frame_bytes(seq, 1) == (tmp_path / "frames" / "f001.jpg").read_bytes()
    rgb = read_frame_rgb(seq, 2)
    assert rgb.shape == (24, 32, 3) and rgb.dtype == np.uint8
    assert rgb[..., 2].mean() > 240 and rgb[..., 0].mean() < 15
    with pytest.raises(NotFound, match="no frame 3"):
        read_frame_bytes(seq, 3)
    with pytest.raises(NotFound):
        read_frame_bytes(seq, -1)
    # Replaced in place: read again.
    doc = json.loads(path.read_text())
    doc["frames"] = doc["frames"][:2]
    doc["number-of-frames"] = 2
    time.sleep(0.01)
    path.write_text(json.dumps(doc))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10_000_000))
    assert load_sequence(str(path), roots=roots).number_of_frames == 2


def test_roots_are_checked_for_the_file_and_every_frame(tmp_path):
    inside, outside = tmp_path / "in", tmp_path / "out"
    write_local_sequence(outside, [(1, 2, 3)])
    inside.mkdir()
    doc = {
        "prefix": str(outside / "frames") + "/",
        "frames": [{"frame-no": 0, "frame": "f000.jpg"}],
    }
    (inside / "seq.json").write_text(json.dumps(doc))
    roots = AllowedRoots([str(inside)])
    with pytest.raises(BadInput, match="frame 'f000.jpg' .* is outside the allowed roots"):
        load_sequence(str(inside / "seq.json"), roots=roots)
    with pytest.raises(BadInput, match="outside the allowed roots"):
        load_sequence(str(outside / "seq.json"), roots=roots)
    # A symlink inside the root pointing out of it is outside too.
    (inside / "frames").symlink_to(outside / "frames")
    doc["prefix"] = "frames"
    (inside / "seq.json").write_text(json.dumps(doc))
    with pytest.raises(BadInput, match="outside the allowed roots"):
        load_sequence(str(inside / "seq.json"), roots=roots)
    # Without roots (an operator's command line) it is read.
    assert load_sequence(str(inside / "seq.json")).number_of_frames == 1


def test_a_frame_is_turned_as_its_exif_orientation_says(tmp_path):
    image = Image.new("RGB", (40, 20), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 10, 20))  # the left quarter white
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise: 20 wide, 40 high
    image.save(tmp_path / "turned.jpg", exif=exif.tobytes(), quality=95)
    image.save(tmp_path / "plain.jpg", quality=95)
    doc = {
        "frames": [{"frame-no": 0, "frame": "plain.jpg"}, {"frame-no": 1, "frame": "turned.jpg"}]
    }
    seq = parse_sequence(doc, ref=str(tmp_path / "s.json"))
    plain, turned = read_frame_rgb(seq, 0), read_frame_rgb(seq, 1)
    assert plain.shape == (20, 40, 3) and turned.shape == (40, 20, 3)
    assert plain[:, :10].mean() > 240 and turned[:10, :].mean() > 240  # left became top


def test_missing_file_and_missing_frame(tmp_path):
    with pytest.raises(NotFound, match="no such file"):
        load_sequence(str(tmp_path / "none.json"))
    doc = {"frames": [{"frame-no": 0, "frame": "gone.jpg"}, {"frame-no": 1, "frame": "bad.jpg"}]}
    (tmp_path / "s.json").write_text(json.dumps(doc))
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    seq = load_sequence(str(tmp_path / "s.json"))
    # Sorted by name: bad.jpg is frame 0, gone.jpg frame 1.
    with pytest.raises(NotFound, match="gone.jpg: no such file"):
        read_frame_bytes(seq, 1)
    with pytest.raises(BadInput, match=r"frame 0 of .*bad\.jpg.*not an image"):
        read_frame_rgb(seq, 0)


@pytest.fixture
def bucket() -> str:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    name = f"seq-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=name)
    return name


def test_load_from_s3_and_cache_by_etag(bucket):
    sequences.clear_cache()
    client = s3_client()
    for i, color in enumerate([(200, 10, 10), (10, 200, 10)]):
        client.put_object(Bucket=bucket, Key=f"v/frames/{i}.jpg", Body=jpeg(color))
    doc = gt_doc(prefix=f"s3://{bucket}/v/frames/")
    doc["frames"] = [{"frame-no": i, "frame": f"{i}.jpg"} for i in (1, 0)]
    doc["number-of-frames"] = 2
    ref = f"s3://{bucket}/v/seq.json"
    client.put_object(Bucket=bucket, Key="v/seq.json", Body=json.dumps(doc).encode())
    roots = AllowedRoots([f"s3://{bucket}/v"])
    seq = load_sequence(ref, roots=roots)
    assert [f.ref for f in seq.frames] == [
        f"s3://{bucket}/v/frames/0.jpg",
        f"s3://{bucket}/v/frames/1.jpg",
    ]
    assert load_sequence(ref, roots=roots) is seq
    assert read_frame_rgb(seq, 1)[..., 1].mean() > 180
    doc["frames"].append({"frame-no": 2, "frame": "2.jpg"})
    doc["number-of-frames"] = 3
    client.put_object(Bucket=bucket, Key="v/seq.json", Body=json.dumps(doc).encode())
    seq3 = load_sequence(ref, roots=roots)
    assert seq3.number_of_frames == 3
    with pytest.raises(NotFound, match="2.jpg: it does not exist"):
        read_frame_bytes(seq3, 2)
    with pytest.raises(NotFound, match="it does not exist"):
        load_sequence(f"s3://{bucket}/v/none.json", roots=roots)
    with pytest.raises(BadInput, match="outside the allowed roots"):
        load_sequence(ref, roots=AllowedRoots([f"s3://{bucket}/other"]))
