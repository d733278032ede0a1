"""Point cloud frames read from the real formats (written with the real writers), Ground
Truth's frame metadata validated field by field, and sequence files of point cloud
frames (issue 14)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pointcloud_scenes import camera, scene, write_bin, write_las, write_pcd, write_txt
from truthset.errors import BadInput, NotFound
from truthset.media import point_clouds as pc
from truthset.media.point_cloud_frames import item_frames, parse_frame, single_frame
from truthset.media.storage import AllowedRoots


@pytest.fixture(autouse=True)
def _fresh_cache():
    pc.clear_cache()
    yield
    pc.clear_cache()


@pytest.fixture
def points():
    return scene(ground_points=2000, per_object=300).points


def test_binary_formats_round_trip(tmp_path, points):
    for fields in ("xyz", "xyzi", "ixyz"):
        path = write_bin(tmp_path / f"{fields}.bin", points, fields)
        cloud = pc.read_points(str(path), f"binary/{fields}")
        assert cloud.count == len(points) and cloud.rgb is None
        np.testing.assert_array_equal(cloud.points[:, :3], points[:, :3])
        expected = points[:, 3] if "i" in fields else np.zeros(len(points))
        np.testing.assert_array_equal(cloud.points[:, 3], expected)
    # No format: Ground Truth's default binary/xyzi.
    assert pc.read_points(str(tmp_path / "xyzi.bin")).count == len(points)


def test_colours_are_kept(tmp_path, points):
    rgb = np.random.default_rng(1).integers(0, 256, (len(points), 3)).astype(np.uint8)
    path = tmp_path / "c.bin"
    path.write_bytes(pc.encode_binary(points, "xyzirgb", rgb))
    cloud = pc.read_points(str(path), "binary/xyzirgb")
    np.testing.assert_array_equal(cloud.rgb, rgb)
    np.testing.assert_array_equal(cloud.points, points)


def test_text_pcd_and_las(tmp_path, points):
    text = pc.read_points(str(write_txt(tmp_path / "f.txt", points)))  # text/xyzi default
    np.testing.assert_allclose(text.points, points, atol=1e-5)
    for encoding in ("ascii", "binary", "binary_compressed"):
        cloud = pc.read_points(str(write_pcd(tmp_path / f"{encoding}.pcd", points, encoding)))
        np.testing.assert_allclose(cloud.points, points, atol=1e-5)
    las = pc.read_points(str(write_las(tmp_path / "f.las", points)))
    np.testing.assert_allclose(las.points[:, :3], points[:, :3], atol=1e-3)
    np.testing.assert_allclose(las.points[:, 3], np.rint(points[:, 3] * 1000))


def test_laz_is_read_through_lazrs(tmp_path, points):
    laz = write_las(tmp_path / "f.laz", points)  # laspy compresses by the suffix (lazrs)
    assert laz.read_bytes()[104] & 0x80  # the header's compressed bit: a real LAZ file
    cloud = pc.read_points(str(laz))
    np.testing.assert_allclose(cloud.points[:, :3], points[:, :3], atol=1e-3)
    np.testing.assert_allclose(cloud.points[:, 3], np.rint(points[:, 3] * 1000))


def test_bad_files_name_the_file_and_field(tmp_path, points):
    odd = tmp_path / "odd.bin"
    odd.write_bytes(pc.encode_binary(points, "xyzi")[:-3])
    with pytest.raises(BadInput, match=r"odd\.bin.*not a whole number of 16-byte points"):
        pc.read_points(str(odd))
    with pytest.raises(BadInput, match="format.*x, y and z"):
        pc.read_points(str(odd), "binary/xyi")
    with pytest.raises(BadInput, match="binary/<fields>"):
        pc.read_points(str(odd), "xyzi")
    with pytest.raises(BadInput, match="all of r, g and b"):
        pc.read_points(str(odd), "binary/xyzr")
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3 4\n1 2 three 4\n")
    with pytest.raises(BadInput, match="line 2"):
        pc.read_points(str(bad))
    short = tmp_path / "short.txt"
    short.write_text("1 2 3 4\n1 2 3\n")
    with pytest.raises(BadInput, match="line 2: 3 values"):
        pc.read_points(str(short))
    nan = tmp_path / "nan.bin"
    broken = points.copy()
    broken[5, 1] = np.nan
    nan.write_bytes(pc.encode_binary(broken))
    with pytest.raises(BadInput, match="point 5"):
        pc.read_points(str(nan))
    with pytest.raises(NotFound):
        pc.read_points(str(tmp_path / "missing.bin"))
    with pytest.raises(BadInput, match="not a readable PCD"):
        (tmp_path / "x.pcd").write_bytes(b"garbage")
        pc.read_points(str(tmp_path / "x.pcd"))


def test_limits(tmp_path, points):
    path = write_bin(tmp_path / "f.bin", points)
    with pytest.raises(BadInput, match="more than the 100 a frame may hold"):
        pc.read_points(str(path), max_points=100)
    with pytest.raises(BadInput, match="larger than 1,000 bytes"):
        pc.read_points(str(path), max_bytes=1000)


def test_cache_follows_the_file(tmp_path, points):
    path = write_bin(tmp_path / "f.bin", points)
    first = pc.read_points(str(path))
    assert pc.read_points(str(path)) is first  # cached
    assert not first.points.flags.writeable
    write_bin(path, points[:10])
    assert pc.read_points(str(path)).count == 10  # replaced in place: read again


def _meta(**extra):
    return {
        "format": "binary/xyzi",
        "unix-timestamp": 1566861644.75,
        "ego-vehicle-pose": {
            "position": {"x": 1, "y": 2, "z": 0},
            "heading": {"qx": 0, "qy": 0, "qz": 0, "qw": 2},
        },
        "prefix": "s3://bucket/images/",
        "images": [
            {"image-path": "cam0/f1.jpg", "unix-timestamp": 1566861644.7, **camera(k1=0.01)}
        ],
        **extra,
    }


def test_single_frame_metadata():
    frame = single_frame(
        {"source-ref": "s3://bucket/frames/f1.bin", "source-ref-metadata": _meta()}
    )
    assert frame.unix_timestamp == 1566861644.75 and frame.format == "binary/xyzi"
    assert frame.ego_pose is not None and frame.ego_pose.heading == (0, 0, 0, 1.0)  # normalised
    (image,) = frame.images
    assert image.ref == "s3://bucket/images/cam0/f1.jpg"
    calibration = image.calibration()
    assert calibration["k1"] == 0.01 and calibration["p2"] == 0 and calibration["fx"] == 800
    assert calibration["camera-model"] == "pinhole"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"unix-timestamp": None}, r"source-ref-metadata\.unix-timestamp: None is not a number"),
        ({"format": "binary/abc"}, r"source-ref-metadata\.format"),
        (
            {"ego-vehicle-pose": {"position": {"x": 1, "y": 2, "z": 0}}},
            r"ego-vehicle-pose\.heading: None is not an object",
        ),
        ({"images": [{"image-path": "a.jpg", **camera(fx=0)}]}, r"images\[0\]\.fx: 0 must be"),
        (
            {"images": [{"image-path": "a.jpg", **camera(**{"camera-model": "orthographic"})}]},
            r"images\[0\]\.camera-model",
        ),
        ({"images": [{**camera()}]}, r"images\[0\]\.image-path"),
    ],
)
def test_metadata_errors_name_the_field(change, message):
    meta = _meta()
    meta.update(change)
    with pytest.raises(BadInput, match=message):
        parse_frame("s3://bucket/f.bin", meta, "source-ref-metadata")


def test_timestamp_is_required():
    meta = _meta()
    del meta["unix-timestamp"]
    with pytest.raises(BadInput, match="unix-timestamp: required"):
        single_frame({"source-ref": "s3://b/f.bin", "source-ref-metadata": meta})
    with pytest.raises(BadInput, match="source-ref-metadata: required"):
        single_frame({"source-ref": "s3://b/f.bin"})


def test_sequence_of_frames(tmp_path, points):
    for i in range(3):
        write_bin(tmp_path / f"frame{i}.bin", points[: 100 * (i + 1)])
    (tmp_path / "cam.jpg").write_bytes(b"")
    document = {
        "seq-no": 1,
        "prefix": str(tmp_path) + "/",
        "number-of-frames": 3,
        "frames": [
            {
                "frame-no": i,
                "frame": f"frame{2 - i}.bin",  # listed out of order: sorted by name
                "unix-timestamp": 10.0 + i,
                "format": "binary/xyzi",
                "images": [{"image-path": "cam.jpg", **camera()}],
            }
            for i in range(3)
        ],
    }
    seq = tmp_path / "seq.json"
    seq.write_text(json.dumps(document))
    frames = item_frames({"source-ref": str(seq)}, roots=AllowedRoots([str(tmp_path)]))
    assert [f.ref.rsplit("/", 1)[1] for f in frames] == ["frame0.bin", "frame1.bin", "frame2.bin"]
    assert [f.frame_no for f in frames] == [2, 1, 0]
    assert frames[0].images[0].ref == str(tmp_path / "cam.jpg")
    assert pc.read_points(frames[2].ref, frames[2].format).count == 300
    with pytest.raises(BadInput, match="outside the allowed roots"):
        item_frames({"source-ref": str(seq)}, roots=AllowedRoots([str(tmp_path / "other")]))
    del document["frames"][1]["unix-timestamp"]
    seq.write_text(json.dumps(document))
    with pytest.raises(BadInput, match=r"frame 'frame1\.bin'\.unix-timestamp: required"):
        item_frames({"source-ref": str(seq)})


def test_frame_summary_is_kept_per_version(tmp_path, points):
    path = write_bin(tmp_path / "f.bin", points)
    first = pc.frame_summary(str(path))
    assert first.count == len(points) and not first.has_rgb
    assert first.bounds[0] == pytest.approx(points[:, :3].min(axis=0).tolist())
    pc._CACHE.clear()  # the decoded frames evicted: the summary stays
    assert pc.frame_summary(str(path)) is first
    write_bin(path, points[:7])
    assert pc.frame_summary(str(path)).count == 7
