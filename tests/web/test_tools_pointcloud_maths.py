"""The point cloud tool's maths (tools/pc-math.js, pc-cameras.js, pc-zlib.js, run in node)
agrees with the server's geometry/cuboids.py on the same random cuboids: corners,
interpolation between keyframes, the points inside, and the projection into pinhole and
fisheye cameras (with an ego pose too); and its zlib stream of per-point labels is one
that Python's zlib reads, while Python's streams read back in the tool (issue 14)."""

from __future__ import annotations

import base64
import json
import math
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pointcloud_scenes import camera
from truthset.geometry import cuboids

TOOLS = Path(__file__).parents[2] / "src/truthset/web/static/tools"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

_SCRIPT = """
import { readFileSync } from "node:fs";
const m = await import(process.argv[2] + "/pc-math.js");
const z = await import(process.argv[2] + "/pc-zlib.js");
const o = await import(process.argv[2] + "/pc-objects.js");
const c = JSON.parse(readFileSync(process.argv[3], "utf8"));
const pts = Float32Array.from(c.points);
const out = {
  corners: c.cuboids.map((x) => m.corners(x)),
  inside: c.cuboids.map((x) => Array.from(m.pointsInside(pts, x, 0.1))),
  interpolated: c.pairs.map(([a, b, t]) => m.interpolate(a, b, t)),
  projected: c.cameras.map(([cam, ego]) =>
    c.cuboids.map((x) => m.corners(x).map((p) => m.projectPoint(p, cam, ego)))),
  encoded: c.labels.map((l) => z.encodeLabels(Uint8Array.from(l))),
  decoded: await Promise.all(
    c.compressed.map(async ([text, n]) => Array.from(await z.decodeLabels(text, n)))),
  track: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((f) => o.cuboidAt(c.track, f, true)),
};
process.stdout.write(JSON.stringify(out));
"""


def _cuboid(rng: np.random.Generator, flat: bool = False) -> np.ndarray:
    angles = [0.0, 0.0] if flat else list(rng.uniform(-0.4, 0.4, 2))
    return np.array(
        [*rng.uniform(-10, 10, 2), rng.uniform(0, 2), *rng.uniform(0.5, 5, 3)]
        + angles
        + [rng.uniform(-math.pi, math.pi)]
    )


def _run(tmp_path: Path, case: dict[str, Any]) -> dict[str, Any]:
    data = tmp_path / "case.json"
    data.write_text(json.dumps(case))
    script = tmp_path / "run.mjs"
    script.write_text(_SCRIPT)
    res = subprocess.run(
        [str(NODE), str(script), TOOLS.as_uri(), str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    return dict(json.loads(res.stdout))


def test_the_tool_computes_what_the_server_computes(tmp_path):
    rng = np.random.default_rng(14)
    boxes = [_cuboid(rng, flat=i % 2 == 0) for i in range(12)]
    points = np.c_[rng.uniform(-12, 12, (3000, 2)), rng.uniform(-1, 4, 3000), np.zeros(3000)]
    pairs = [(_cuboid(rng), _cuboid(rng), float(rng.uniform(0, 1))) for _ in range(20)]
    # across the +-pi seam: the shorter arc goes through pi
    seam_a, seam_b = boxes[0].copy(), boxes[0].copy()
    seam_a[8], seam_b[8] = math.pi - 0.1, -math.pi + 0.1
    pairs.append((seam_a, seam_b, 0.25))
    pinhole = camera((0.0, 0.0, 1.5), 0.3, k1=-0.05, k2=0.01, p1=0.001, p2=-0.002, skew=0.5)
    fisheye = camera((1.0, -2.0, 1.2), -0.4, **{"camera-model": "fisheye", "k1": 0.02, "k2": -0.01})
    ego = {
        "position": {"x": 3.0, "y": -1.0, "z": 0.2},
        "heading": {"qx": 0.0, "qy": 0.0, "qz": math.sin(0.25), "qw": math.cos(0.25)},
    }
    cameras = [(pinhole, None), (fisheye, None), (pinhole, ego)]
    labels = [
        [0] * 5000,
        list(rng.integers(0, 5, 777)),
        [1] * 100 + [2] * 3 + [0] * 1000 + [7] * 300 + [255] * 2,
        [],
    ]
    compressed = [
        (base64.b64encode(zlib.compress(bytes(lab), level)).decode(), len(lab))
        for lab, level in zip(labels, [9, 1, 6, 6], strict=True)
    ]
    key_a = cuboids.to_json(boxes[1])
    key_b = cuboids.to_json(boxes[2])
    track = {
        "id": 1,
        "keyframes": [
            {"frame": 1, "cuboid": key_a},
            {"frame": 5, "cuboid": key_b},
            {"frame": 7, "outside": True},
            {"frame": 8, "cuboid": key_a},
        ],
    }
    js = _run(
        tmp_path,
        {
            "cuboids": [cuboids.to_json(b) for b in boxes],
            "points": points.astype(np.float32).ravel().tolist(),
            "pairs": [[cuboids.to_json(a), cuboids.to_json(b), t] for a, b, t in pairs],
            "cameras": cameras,
            "labels": [[int(v) for v in lab] for lab in labels],
            "compressed": compressed,
            "track": track,
        },
    )
    for b, got in zip(boxes, js["corners"], strict=True):
        np.testing.assert_allclose(got, cuboids.corners(b), atol=1e-9)
    f32 = points.astype(np.float32)
    for b, got in zip(boxes, js["inside"], strict=True):
        assert got == list(np.flatnonzero(cuboids.points_inside(f32, b, margin=0.1)))
    assert sum(len(g) for g in js["inside"]) > 50  # the cuboids hold points: the check checks
    for (a, b, t), got in zip(pairs, js["interpolated"], strict=True):
        np.testing.assert_allclose(cuboids.from_json(got), cuboids.interpolate(a, b, t), atol=1e-9)
    assert abs(abs(js["interpolated"][-1]["yaw"]) - (math.pi - 0.05)) < 1e-9  # the short way
    for (cam, pose), per_box in zip(cameras, js["projected"], strict=True):
        for b, got in zip(boxes, per_box, strict=True):
            uv, depth = cuboids.project_cuboid(b, cam, pose)
            front = depth > 0.1
            np.testing.assert_allclose([d["depth"] for d in got], depth, rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(
                np.array([[d["u"], d["v"]] for d in got])[front], uv[front], rtol=1e-7, atol=1e-6
            )
    for lab, text in zip(labels, js["encoded"], strict=True):
        assert list(zlib.decompress(base64.b64decode(text))) == [int(v) for v in lab]
    assert len(js["encoded"][0]) < 200  # a run of 5,000 is a few matches, not 5,000 bytes
    assert js["decoded"] == [[int(v) for v in lab] for lab in labels]
    # the track (geometry/tracks.py's rules): nothing before its first keyframe,
    # interpolated between keyframes, not toward an outside keyframe, gone from it on until
    # the next keyframe, nothing after the last
    assert js["track"][0] is None and js["track"][5] is not None and js["track"][6] is None
    np.testing.assert_allclose(
        cuboids.from_json(js["track"][3]), cuboids.interpolate(boxes[1], boxes[2], 0.5), atol=1e-9
    )
    assert js["track"][7] is None and js["track"][9] is None
    np.testing.assert_allclose(cuboids.from_json(js["track"][8]), boxes[1], atol=1e-9)
