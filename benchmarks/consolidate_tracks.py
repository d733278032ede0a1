"""Benchmark: consolidation of video tracks from several workers, speed and accuracy.

Truth: a 1,000-frame 1920x1080 sequence with 20 objects (boxes of 40-160 px) moving on
smooth paths (a slow sine on a straight line), each present over a random span of
300-1,000 frames. Three synthetic workers draw every object as a track with a keyframe
every 20-40 frames, each keyframe's box off by N(0, s) px on every edge (s = 2, 3, 5), so
the interpolated boxes between keyframes also miss the curve; one worker misses an object
with p = 0.05 and adds a stray track with p = 0.05 per object.

Printed: the time of one consolidation through the task type (``consolidate``: expanding
the keyframes, matching tracks, merging per frame, building the SeqLabel document of every
frame), best of --reps, wall clock and CPU; the tracks found and the mean IoU of the
consolidated boxes with the true ones, against one worker alone; the time of
``validate_answer`` of one answer (against a real sequence file); the time of the same
tracks consolidated as 8-point polygons (each keyframe's box turned into the polygon
inscribed in it).

Run:  .venv/bin/python benchmarks/consolidate_tracks.py [--frames 1000] [--objects 20] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine  # noqa: E402
from truthset.consensus.spatial.tracks import paired_box_iou  # noqa: E402
from truthset.tasktypes import WorkerAnswer, get_task_type  # noqa: E402

W, H = 1920, 1080
JITTER = [2.0, 3.0, 5.0]
LABELS = ["car", "person"]


def make_truth(rng: np.random.Generator, frames: int, objects: int) -> list[dict]:
    truth = []
    for k in range(objects):
        span = int(rng.integers(min(300, frames), frames + 1))
        first = int(rng.integers(0, frames - span + 1))
        w, h = (float(v) for v in rng.uniform(40, 160, 2))
        x0, y0 = rng.uniform(0, W - w), rng.uniform(0, H - h)
        x1, y1 = rng.uniform(0, W - w), rng.uniform(0, H - h)
        t = np.linspace(0, 1, span)
        wobble = 30 * np.sin(t * np.pi * rng.uniform(1, 3))
        xs = np.clip(x0 + (x1 - x0) * t + wobble, 0, W - w)
        ys = np.clip(y0 + (y1 - y0) * t, 0, H - h)
        truth.append(
            {
                "label": LABELS[k % 2],
                "frames": np.arange(first, first + span),
                "boxes": np.column_stack([xs, ys, np.full(span, w), np.full(span, h)]),
            }
        )
    return truth


def worker_answer(rng: np.random.Generator, truth: list[dict], jitter: float, frames: int) -> dict:
    tracks = []
    numbers = {label: 0 for label in LABELS}
    for k, obj in enumerate(truth):
        if rng.random() < 0.05:
            continue
        steps = [0]
        while steps[-1] < len(obj["frames"]) - 1:
            steps.append(min(steps[-1] + int(rng.integers(20, 41)), len(obj["frames"]) - 1))
        keyframes = []
        for s in steps:
            x, y, w, h = obj["boxes"][s] + rng.normal(0, jitter, 4)
            x, y = max(0.0, x), max(0.0, y)
            w, h = min(max(4.0, w), W - x), min(max(4.0, h), H - y)
            keyframes.append(
                {
                    "frame": int(obj["frames"][s]),
                    "box": {
                        "left": round(x, 1),
                        "top": round(y, 1),
                        "width": round(w, 1),
                        "height": round(h, 1),
                    },
                }
            )
        if keyframes[-1]["frame"] < frames - 1:
            # The object leaves: marked outside (a shape is held to the end otherwise).
            keyframes.append({"frame": keyframes[-1]["frame"] + 1, "outside": True})
        numbers[obj["label"]] += 1
        tracks.append(
            {
                "object-id": f"{jitter}-{k}",
                "label": obj["label"],
                "number": numbers[obj["label"]],
                "keyframes": keyframes,
            }
        )
        if rng.random() < 0.05:
            numbers[obj["label"]] += 1
            start = int(rng.integers(0, frames - 10))
            tracks.append(
                {
                    "object-id": f"{jitter}-stray-{k}",
                    "label": obj["label"],
                    "number": numbers[obj["label"]],
                    "keyframes": [
                        {"frame": start, "box": {"left": 5, "top": 5, "width": 50, "height": 50}},
                        {
                            "frame": start + 9,
                            "box": {"left": 60, "top": 5, "width": 50, "height": 50},
                        },
                        {"frame": start + 10, "outside": True},
                    ],
                }
            )
    return {"number-of-frames": frames, "tracks": tracks}


def _ellipse(keyframe: dict) -> dict:
    """A box keyframe as the 8-point polygon inscribed in it (an outside one as it is)."""
    if "box" not in keyframe:
        return keyframe
    box = keyframe["box"]
    cx, cy = box["left"] + box["width"] / 2, box["top"] + box["height"] / 2
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    points = np.column_stack(
        [cx + box["width"] / 2 * np.cos(angles), cy + box["height"] / 2 * np.sin(angles)]
    )
    return {"frame": keyframe["frame"], "polygon": {"points": points.round(2).tolist()}}


def accuracy(truth: list[dict], value: dict) -> tuple[int, float]:
    """Tracks matched to a true object (by mean IoU > 0.5) and their mean per-frame IoU."""
    by_object: dict[str, dict[int, list[float]]] = {}
    for index, entry in enumerate(value["tracking-annotations"]):
        for a in entry["annotations"]:
            box = [a["left"], a["top"], a["width"], a["height"]]
            by_object.setdefault(a["object-id"], {})[index] = box
    found, ious = 0, []
    for obj in truth:
        best = 0.0
        for boxes in by_object.values():
            shared = [f for f in obj["frames"] if int(f) in boxes]
            if not shared:
                continue
            mine = np.array([boxes[int(f)] for f in shared])
            true = obj["boxes"][np.searchsorted(obj["frames"], shared)]
            best = max(best, float(paired_box_iou(mine, true).mean()))
        if best > 0.5:
            found += 1
            ious.append(best)
    return found, float(np.mean(ious)) if ious else 0.0


def write_sequence(folder: Path, frames: int) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (W, H), (20, 20, 20)).save(folder / "frame_00000.jpg")
    doc = {
        "prefix": str(folder) + "/",
        "frames": [{"frame-no": i, "frame": f"frame_{i:05d}.jpg"} for i in range(frames)],
    }
    path = folder / "seq.json"
    path.write_text(json.dumps(doc))
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    truth = make_truth(rng, args.frames, args.objects)
    task_type = get_task_type("video-object-tracking")
    config = task_type.parse_label_config(LABELS)
    raw = [worker_answer(rng, truth, j, args.frames) for j in JITTER]
    with tempfile.TemporaryDirectory() as tmp:
        ref = write_sequence(Path(tmp), args.frames)
        item = {"source-ref": ref}
        started = time.perf_counter()
        contents = [task_type.validate_answer(a, config, item) for a in raw]
        validate_s = (time.perf_counter() - started) / len(raw)
    keyframes = sum(len(t["keyframes"]) for c in contents for t in c["tracks"])
    print(f"machine: {machine()}")
    print(
        f"truth: {args.objects} objects over {args.frames} frames ({W}x{H});"
        f" {len(JITTER)} workers, {sum(len(c['tracks']) for c in contents)} tracks,"
        f" {keyframes:,} keyframes"
    )
    print(f"validate_answer: {validate_s * 1000:.0f} ms per answer")
    answers = [WorkerAnswer(i, c, weight=1.0) for i, c in enumerate(contents)]
    times, cpu = [], []
    for _ in range(args.reps):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = task_type.consolidate(answers, config, {})
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    found, iou = accuracy(truth, result.value)
    shapes = sum(len(e["annotations"]) for e in result.value["tracking-annotations"])
    print(
        f"consolidate {len(answers)} workers: {min(times):.2f} s (median {np.median(times):.2f} s,"
        f" CPU {min(cpu):.2f} s); {len(result.meta['tracks'])} tracks, {shapes:,} boxes;"
        f" found {found}/{len(truth)}, mean IoU with the truth {iou:.3f},"
        f" confidence {result.confidence}"
    )
    polygon_type_config = task_type.parse_label_config(
        {
            "documentVersion": "2020-03-01",
            "annotationType": "Polygon",
            "labels": [{"label": x} for x in LABELS],
        }
    )
    as_polygons = [
        {
            **c,
            "tracks": [
                {**t, "keyframes": [_ellipse(k) for k in t["keyframes"]]} for t in c["tracks"]
            ],
        }
        for c in contents
    ]
    times, cpu = [], []
    for _ in range(args.reps):
        started, started_cpu = time.perf_counter(), time.process_time()
        polygons = task_type.consolidate(
            [WorkerAnswer(i, c) for i, c in enumerate(as_polygons)], polygon_type_config, {}
        )
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    print(
        f"the same tracks as 8-point polygons: {min(times):.2f} s (CPU {min(cpu):.2f} s);"
        f" {len(polygons.meta['tracks'])} tracks"
    )
    for w, content in enumerate(contents):
        alone = task_type.consolidate([WorkerAnswer(w, content)], config, {})
        found_1, iou_1 = accuracy(truth, alone.value)
        print(
            f"worker {w} alone (jitter {JITTER[w]:g} px): found {found_1}/{len(truth)},"
            f" mean IoU {iou_1:.3f}"
        )


if __name__ == "__main__":
    main()
