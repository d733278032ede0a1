"""The video tool's keyframe model (tools/video-tracks.js, run in node) expands the same
keyframes as the server's geometry/tracks.py: every frame's shape, attributes and keyframe
flag, for boxes, keypoints, polygons (same and different vertex counts, either winding),
polylines, outside keyframes (a shape held up to them, and after the last keyframe to the
sequence's end) and attribute overrides, with and without interpolation. The tool's
per-frame lookup (shapeAt, what the player draws) and its timeline bars (presentRanges)
agree with both."""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from truthset.geometry.tracks import expand_track

TOOL = Path(__file__).parents[2] / "src/truthset/web/static/tools/video-tracks.js"
NODE = shutil.which("node")

_SCRIPT = """
import { readFileSync } from "node:fs";
const m = await import(process.argv[2]);
const cases = JSON.parse(readFileSync(process.argv[3], "utf8"));
const out = cases.map((c) => {
  const kfs = c.keyframes.map((k) => {
    const kf = {frame: k.frame};
    if (k.outside) kf.outside = true; else kf[c.shape] = k[c.shape];
    if (k['label-category-attributes']) kf.attrs = k['label-category-attributes'];
    return kf;
  });
  const track = {id: 1, objectId: 'x', label: 'car', number: 1, attrs: c.attrs, keyframes: kfs};
  const expanded = m.expandTrack(kfs, c.shape, c.interpolate, c.attrs, c.frames);
  const ranges = m.presentRanges(track, c.shape, c.interpolate, c.frames);
  const looked = [];
  for (let f = 0; f < c.frames; f++) {
    const at = m.shapeAt(track, f, c.shape, c.interpolate);
    if (!at) continue;
    const attrs = m.attrsAt(track, f);
    looked.push({frame: f, geometry: at.geometry, keyframe: at.keyframe, attrs});
  }
  return {expanded, looked, ranges};
});
process.stdout.write(JSON.stringify(out));
"""


def _geometry(rng: random.Random, shape: str, count: int) -> dict[str, Any]:
    if shape == "box":
        return {
            "left": rng.uniform(0, 500),
            "top": rng.uniform(0, 300),
            "width": rng.uniform(5, 200),
            "height": rng.uniform(5, 200),
        }
    if shape == "keypoint":
        return {"x": rng.uniform(0, 640), "y": rng.uniform(0, 480)}
    cx, cy = rng.uniform(100, 500), rng.uniform(100, 300)
    points = []
    for k in range(count):
        angle = 2 * math.pi * k / count + rng.uniform(-0.2, 0.2)
        radius = rng.uniform(20, 90)
        points.append([cx + radius * math.cos(angle), cy + radius * math.sin(angle)])
    if rng.random() < 0.5:
        points.reverse()  # the other winding
    if shape == "polyline" and rng.random() < 0.3:
        points.append(list(points[-1]))  # a zero-length edge
    return {"points": points}


def _cases() -> list[dict[str, Any]]:
    rng = random.Random(14)
    cases = []
    for shape in ("box", "keypoint", "polygon", "polyline"):
        for interpolate in (True, False):
            for _ in range(20):
                frames = rng.randint(20, 120)
                chosen = sorted(rng.sample(range(frames), rng.randint(1, 7)))
                keyframes = []
                for f in chosen:
                    if keyframes and rng.random() < 0.2:
                        keyframes.append({"frame": f, "outside": True})
                        continue
                    count = rng.choice([3, 4, 5, 8, 13]) if shape in ("polygon", "polyline") else 0
                    kf: dict[str, Any] = {"frame": f, shape: _geometry(rng, shape, count)}
                    if rng.random() < 0.3:
                        kf["label-category-attributes"] = {"color": rng.choice(["red", "blue"])}
                    keyframes.append(kf)
                attrs = {"kind": "sedan"} if rng.random() < 0.5 else {}
                cases.append(
                    {
                        "shape": shape,
                        "interpolate": interpolate,
                        "frames": frames,
                        "keyframes": keyframes,
                        "attrs": attrs,
                    }
                )
    return cases


def _close(shape: str, a: dict[str, Any], b: dict[str, Any]) -> bool:
    if shape in ("polygon", "polyline"):
        pa, pb = a["points"], b["points"]
        return len(pa) == len(pb) and all(
            abs(p[0] - q[0]) < 1e-6 and abs(p[1] - q[1]) < 1e-6 for p, q in zip(pa, pb, strict=True)
        )
    return a.keys() == b.keys() and all(abs(float(a[k]) - float(b[k])) < 1e-6 for k in a)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_tool_and_the_server_expand_keyframes_alike(tmp_path: Path) -> None:
    cases = _cases()
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    script = tmp_path / "agree.mjs"
    script.write_text(_SCRIPT)
    done = subprocess.run(
        [str(NODE), str(script), str(TOOL), str(tmp_path / "cases.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    compared = 0
    for case, got in zip(cases, results, strict=True):
        want = expand_track(
            case["keyframes"],
            case["shape"],
            interpolate=case["interpolate"],
            frames=case["frames"],
            track_attributes=case["attrs"],
        )
        covered = [f for a, b in got["ranges"] for f in range(a, b + 1)]
        assert covered == [s.frame for s in want], case
        for side in ("expanded", "looked"):
            js = got[side]
            assert [s["frame"] for s in js] == [s.frame for s in want], (side, case)
            for s, w in zip(js, want, strict=True):
                assert s["keyframe"] == w.keyframe, (side, case, s["frame"])
                assert s["attrs"] == w.attributes, (side, case, s["frame"])
                assert _close(case["shape"], s["geometry"], w.geometry), (side, case, s["frame"])
                compared += 1
    # Enough frames, and every kind of blend, were compared; tracks held after an outside
    # keyframe's shape and after their last keyframe were among them.
    assert compared > 3000
    held = [
        c
        for c in cases
        if c["interpolate"]
        and c["shape"] in c["keyframes"][-1]
        and c["keyframes"][-1]["frame"] < c["frames"] - 1
    ]
    closing = [
        c
        for c in cases
        if c["interpolate"]
        and any(
            c["shape"] in a and b.get("outside") and b["frame"] > a["frame"] + 1
            for a, b in zip(c["keyframes"], c["keyframes"][1:], strict=False)
        )
    ]
    assert held and closing
    uneven = [
        c
        for c in cases
        if c["shape"] == "polygon"
        and c["interpolate"]
        and len({len(k["polygon"]["points"]) for k in c["keyframes"] if "polygon" in k}) > 1
    ]
    assert uneven


_EDITS_SCRIPT = """
const m = await import(process.argv[2]);
const box = (left) => ({left, top: 10, width: 20, height: 20});
const obj = (left) => ({...box(left), "object-id": "o1", "object-name": "car:1"});
// A SeqLabel with the car on frames 0-2 and 5 of 8: outside after each run.
const doc = {"tracking-annotations": [0, 1, 2, 3, 4, 5, 6, 7].map((f) => ({
  frame: `f${f}.jpg`, annotations: [0, 1, 2, 5].includes(f) ? [obj(f)] : [],
}))};
const [fromDoc] = m.tracksFrom(doc, "box", ["car"]);
const t = () => ({id: 1, objectId: "x", label: "car", number: 1,
  keyframes: [{frame: 0, box: box(0)}]});
const ended = t();
m.deleteSide(ended, 6, "after", "box", true, 20);
const last = t();
m.deleteSide(last, 19, "after", "box", true, 20);
const pushed = t();
pushed.keyframes.push({frame: 4, outside: true});
m.copyToNext(pushed, 3, "box", true, 20);
process.stdout.write(JSON.stringify({
  fromDoc: fromDoc.keyframes.map((k) => [k.frame, !!k.outside]),
  ended: ended.keyframes.map((k) => [k.frame, !!k.outside]),
  endedShown: [5, 6, 7].map((f) => !!m.shapeAt(ended, f, "box", true)),
  last: last.keyframes.map((k) => [k.frame, !!k.outside]),
  pushed: pushed.keyframes.map((k) => [k.frame, !!k.outside]),
  ranges: m.presentRanges(pushed, "box", true, 20),
}));
"""


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_tools_edits_end_a_held_track_with_outside_keyframes(tmp_path: Path) -> None:
    script = tmp_path / "edits.mjs"
    script.write_text(_EDITS_SCRIPT)
    done = subprocess.run(
        [str(NODE), str(script), str(TOOL)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    # A SeqLabel's runs become keyframes closed by an outside one (none after the last
    # frame: frame 5's box would otherwise hold to 7, so 6 is outside).
    assert got["fromDoc"] == [
        [0, False],
        [1, False],
        [2, False],
        [3, True],
        [5, False],
        [6, True],
    ]
    # "]" on frame 6 keeps the held box there as a keyframe and ends the track on 7.
    assert got["ended"] == [[0, False], [6, False], [7, True]]
    assert got["endedShown"] == [True, True, False]
    assert got["last"] == [[0, False], [19, False]]  # nothing after the last frame
    # Copy to next over the frame it left on: it now leaves a frame later.
    assert got["pushed"] == [[0, False], [4, False], [5, True]]
    assert got["ranges"] == [[0, 4]]
