"""Consolidation of 3D cuboid tracks from several workers: speed and accuracy.

    .venv/bin/python benchmarks/consolidate_cuboids.py [--frames 300] [--objects 20] [--workers 3]

Truth: --objects cars driving straight at 0.3 m a frame in random directions over a
--frames long sequence. Each worker tracks every car with a keyframe every 10 frames,
each keyframe's centre off by N(0, 0.1 m) and yaw by N(0, 0.02 rad). Printed: the time of
``consolidate`` through the point-cloud-object-tracking task type (expanding keyframes,
matching tracks, merging per frame, the SeqLabel document), the tracks found and the mean
3D IoU of the consolidated cuboids with the truth, against one worker alone.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine  # noqa: E402
from truthset.geometry import cuboids  # noqa: E402
from truthset.tasktypes import WorkerAnswer, get_task_type  # noqa: E402

STEP = 10


def truth(frames: int, objects: int, rng: np.random.Generator) -> list[dict[int, np.ndarray]]:
    out = []
    for _ in range(objects):
        c0 = np.array(
            [
                rng.uniform(-40, 40),
                rng.uniform(-40, 40),
                0.8,
                4.2,
                1.8,
                1.6,
                0,
                0,
                rng.uniform(-3, 3),
            ]
        )
        heading = np.r_[np.cos(c0[8]), np.sin(c0[8]), np.zeros(7)]
        out.append({f: c0 + 0.3 * f * heading for f in range(frames)})
    return out


def answer(cars: list[dict[int, np.ndarray]], frames: int, rng: np.random.Generator) -> dict:
    tracks = []
    for n, car in enumerate(cars, start=1):
        keyframes = []
        for f in [*range(0, frames, STEP), frames - 1]:
            if keyframes and keyframes[-1]["frame"] == f:
                continue
            c = car[f].copy()
            c[:3] += rng.normal(0, 0.1, 3)
            c[8] += rng.normal(0, 0.02)
            keyframes.append({"frame": f, "cuboid": cuboids.to_json(c)})
        tracks.append(
            {"object-id": str(uuid.uuid4()), "label": "Car", "number": n, "keyframes": keyframes}
        )
    return {"number-of-frames": frames, "tracks": tracks}


def mean_iou(document: dict, cars: list[dict[int, np.ndarray]]) -> tuple[int, float]:
    ious, names = [], set()
    for f, entry in enumerate(document["tracking-annotations"]):
        for a in entry["annotations"]:
            names.add(a["object-name"])
            c = cuboids.from_json(a)
            ious.append(max(cuboids.iou_3d(c, car[f]) for car in cars))
    return len(names), float(np.mean(ious))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--objects", type=int, default=20)
    ap.add_argument("--workers", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    cars = truth(args.frames, args.objects, rng)
    tracking = get_task_type("point-cloud-object-tracking")
    config = tracking.parse_label_config(["Car"])
    answers = [
        WorkerAnswer(
            i,
            answer(cars, args.frames, rng)
            | {"sequence-frames": [[f, f"{f}.bin"] for f in range(args.frames)]},
        )
        for i in range(args.workers)
    ]
    t0, c0 = time.perf_counter(), time.process_time()
    fitted = tracking.consolidate(answers, config, {})
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    found, iou = mean_iou(fitted.value, cars)
    alone_found, alone = mean_iou(tracking.consolidate(answers[:1], config, {}).value, cars)
    print(
        f"# Cuboid tracks, {args.workers} workers, {args.objects} objects x {args.frames}"
        f" frames ({machine()})\n"
    )
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| consolidate | {wall:.2f} s wall, {cpu:.2f} s CPU |")
    print(f"| tracks found / mean IoU with the truth | {found} / {iou:.3f} |")
    print(f"| one worker alone | {alone_found} / {alone:.3f} |")


if __name__ == "__main__":
    main()
