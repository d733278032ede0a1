"""KITTI object labels from a point cloud detection job, checked field by field against
the known cuboids and a camera whose frame is worked out by hand (issue 14)."""

from __future__ import annotations

import io
import math
import zipfile

import numpy as np
import pytest
from PIL import Image

from pointcloud_scenes import CAR, PERSON, VAN, camera, scene, write_bin
from tasktypes.conftest import Engine
from truthset.config import load_settings
from truthset.exports.formats import get_exporter
from truthset.exports.kitti import occlusion
from truthset.geometry import cuboids as C
from truthset.media.point_clouds import clear_cache
from truthset.workspace import open_workspace

LABELS = {
    "documentVersion": "2020-03-01",
    "labels": [
        {
            "label": "Car",
            "categoryAttributes": [
                {"name": "Occlusion", "type": "string", "enum": ["None", "Partial", "Full"]}
            ],
        },
        {"label": "Big Van"},
        {"label": "Person"},
    ],
}
# Looking along +x from behind the scene: camera z = world x, camera x = world -y,
# camera y = world -z (see pointcloud_scenes.camera).
EYE = np.array([-20.0, 0.0, 1.5])


@pytest.fixture
def engine(tmp_path):
    clear_cache()
    ws = open_workspace(load_settings(tmp_path / "data"))
    try:
        yield Engine(ws, n_workers=1)
    finally:
        ws.close()


def to_camera(p):
    p = np.asarray(p, dtype=float) - EYE
    return np.array([-p[1], -p[2], p[0]])


def _export(engine, job):
    from sqlalchemy import select

    from truthset.store.models import Job

    out: list[bytes] = []
    with engine.ws.db.session_scope() as s:
        j = s.scalar(select(Job).where(Job.name == job))
        exporter = get_exporter("kitti")
        exporter.check_job(j)
        count = exporter.export(s, j, lambda chunks: out.extend(chunks))
    return count, zipfile.ZipFile(io.BytesIO(b"".join(out)))


def _cuboid(label, c, number=1, **attrs):
    return {"label": label, "number": number, **C.to_json(c), **attrs}


def test_kitti_fields_with_and_without_a_camera(engine):
    truth = scene(seed=5)
    write_bin(engine.media / "f.bin", truth.points)
    Image.new("RGB", (1280, 720)).save(engine.media / "cam.jpg")
    with_camera = {
        "id": "with-cam",
        "source-ref": str(engine.media / "f.bin"),
        "source-ref-metadata": {
            "unix-timestamp": 1.0,
            "prefix": str(engine.media) + "/",
            "images": [{"image-path": "cam.jpg", **camera(position=tuple(EYE))}],
        },
    }
    bare = {
        "id": "bare",
        "source-ref": str(engine.media / "f.bin"),
        "source-ref-metadata": {"unix-timestamp": 2.0},
    }
    engine.dataset("frames", [with_camera, bare])
    engine.job("det", "point-cloud-object-detection", LABELS, dataset="frames", workers_per_item=1)
    answer = {
        "cuboids": [
            _cuboid("Car", CAR, 2, **{"label-category-attributes": {"Occlusion": "Partial"}}),
            _cuboid("Big Van", VAN),
            _cuboid("Person", PERSON),
        ]
    }
    engine.work("det", lambda worker, item: answer, workers=["w0"])
    count, archive = _export(engine, "det")
    assert count == 2
    assert sorted(archive.namelist()) == [
        "calib/with-cam.txt",
        "frames.txt",
        "label_2/bare.txt",
        "label_2/with-cam.txt",
    ]
    lines = archive.read("label_2/with-cam.txt").decode().splitlines()
    assert [line.split()[0] for line in lines] == ["Car", "Big_Van", "Person"]
    fields = [[float(v) for v in line.split()[1:]] for line in lines]
    for row, c in zip(fields, (CAR, VAN, PERSON), strict=True):
        assert len(row) == 14
        truncated, alpha = row[0], row[2]
        left, top, right, bottom = row[3:7]
        h, w, length = row[7:10]
        location = np.array(row[10:13])
        rotation_y = row[13]
        assert (h, w, length) == pytest.approx((c[5], c[4], c[3]), abs=1e-4)
        # The bottom centre, in the camera's frame.
        np.testing.assert_allclose(location, to_camera(c[:3] - [0, 0, c[5] / 2]), atol=1e-3)
        heading = to_camera(EYE + [math.cos(c[8]), math.sin(c[8]), 0])
        assert rotation_y == pytest.approx(math.atan2(-heading[2], heading[0]), abs=1e-3)
        assert alpha == pytest.approx(
            float(C.wrap_angle(rotation_y - math.atan2(location[0], location[2]))), abs=1e-3
        )
        # The 2D box bounds the projected corners (all in front and inside the image here).
        corners = np.array([to_camera(p) for p in C.corners(c)])
        u = 800 * corners[:, 0] / corners[:, 2] + 640
        v = 800 * corners[:, 1] / corners[:, 2] + 360
        assert (left, top, right, bottom) == pytest.approx(
            (u.min(), v.min(), u.max(), v.max()), abs=0.01
        )
        assert truncated == 0.0
    assert fields[0][1] == 1 and fields[1][1] == 0  # "Partial" is KITTI's 1
    calib = dict(
        line.split(": ", 1) for line in archive.read("calib/with-cam.txt").decode().splitlines()
    )
    p2 = np.array(calib["P2"].split(), dtype=float).reshape(3, 4)
    velo = np.array(calib["Tr_velo_to_cam"].split(), dtype=float).reshape(3, 4)
    np.testing.assert_allclose(p2[:, :3], [[800, 0, 640], [0, 800, 360], [0, 0, 1]])
    np.testing.assert_allclose(velo @ np.r_[CAR[:3], 1], to_camera(CAR[:3]), atol=1e-5)

    bare_rows = [line.split() for line in archive.read("label_2/bare.txt").decode().splitlines()]
    car = [float(v) for v in bare_rows[0][1:]]
    assert car[2] == -10 and car[3:7] == [0, 0, 0, 0]
    np.testing.assert_allclose(car[10:13], CAR[:3] - [0, 0, CAR[5] / 2], atol=1e-4)
    assert car[13] == pytest.approx(CAR[8], abs=1e-4)
    assert "label_2/bare.txt\t" in archive.read("frames.txt").decode()


def test_truncation_at_the_image_edge(engine):
    truth = scene(seed=5)
    write_bin(engine.media / "f.bin", truth.points)
    Image.new("RGB", (1280, 720)).save(engine.media / "cam.jpg")
    near = CAR.copy()
    near[:3] = [EYE[0] + 6, -4.5, 0.8]  # close and to the right: off the image's right edge
    item = {
        "source-ref": str(engine.media / "f.bin"),
        "source-ref-metadata": {
            "unix-timestamp": 1.0,
            "prefix": str(engine.media) + "/",
            "images": [{"image-path": "cam.jpg", **camera(position=tuple(EYE))}],
        },
    }
    engine.dataset("frames", [item])
    engine.job("det", "point-cloud-object-detection", ["Car"], dataset="frames", workers_per_item=1)
    engine.work("det", lambda w, i: {"cuboids": [_cuboid("Car", near)]}, workers=["w0"])
    _, archive = _export(engine, "det")
    (name,) = [n for n in archive.namelist() if n.startswith("label_2/")]
    row = [float(v) for v in archive.read(name).decode().split()[1:]]
    assert 0 < row[0] < 1 and row[5] == pytest.approx(1279)


def test_occlusion_words():
    assert occlusion({"occluded": 2}) == 2
    assert occlusion({"Occlusion": "Full"}) == 3
    assert occlusion({"colour": "red"}) == 0
    assert occlusion(None) == 0


def test_kitti_refuses_other_jobs(engine):
    from sqlalchemy import select

    from truthset.errors import BadInput
    from truthset.store.models import Job

    engine.dataset("texts", [{"source": "hello"}])
    engine.job("txt", "text-classification", ["a", "b"], dataset="texts")
    with engine.ws.db.session_scope() as s:
        j = s.scalar(select(Job).where(Job.name == "txt"))
        with pytest.raises(BadInput, match="kitti format is for point-cloud-object-detection"):
            get_exporter("kitti").check_job(j)
