"""Benchmark: predict next (``POST /api/items/{id}/track``) on a 1920x1080 sequence.

A rendered sequence of JPEG frames (a textured background, a 120x90 box moving 6 px a
frame); the route's work per request is: read and decode each next frame, then one
template match in a window around the last box. Printed: per frame, the decode time
(``media.sequences.decode_rgb``) and the tracking time (best and median over --reps
requests of --count frames), with the IoU of the followed box against the true one at the
last frame.

Run:  .venv/bin/python benchmarks/predict_next.py [--count 20] [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine  # noqa: E402
from truthset.learning.tracking import track_box  # noqa: E402
from truthset.media.sequences import decode_rgb  # noqa: E402

W, H = 1920, 1080
BOX = (120, 90)


def truth(i: int) -> tuple[int, int, int, int]:
    return 200 + 6 * i, 300 + 3 * i, *BOX


def render(folder: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(1)
    background = cv2.GaussianBlur((rng.random((H, W, 3)) * 255).astype(np.uint8), (9, 9), 3)
    paths = []
    for i in range(n):
        frame = background.copy()
        x, y, w, h = truth(i)
        cv2.rectangle(frame, (x, y), (x + w - 1, y + h - 1), (30, 160, 220), -1)
        cv2.putText(frame, "BUS", (x + 10, y + 60), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (0, 0, 0), 3)
        path = folder / f"frame_{i:04d}.jpg"
        Image.fromarray(frame).save(path, quality=90)
        paths.append(path)
    return paths


def iou(a, b) -> float:
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return iw * ih / (a[2] * a[3] + b[2] * b[3] - iw * ih)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = render(folder, args.count + 1)
        decode, follow = [], []
        for _ in range(args.reps):
            started = time.perf_counter()
            frames = [decode_rgb(p.read_bytes(), str(p)) for p in paths]
            decode.append((time.perf_counter() - started) / len(paths))
            started = time.perf_counter()
            found = track_box(frames, truth(0), count=args.count)
            follow.append((time.perf_counter() - started) / args.count)
        last = found[-1]
        print(
            f"{W}x{H} JPEG, {args.count} frames a request: decode"
            f" {min(decode) * 1000:.1f} ms/frame (median {np.median(decode) * 1000:.1f}),"
            f" track {min(follow) * 1000:.1f} ms/frame (median {np.median(follow) * 1000:.1f});"
            f" {len(found)} boxes, IoU at frame {last.frame}:"
            f" {iou((last.left, last.top, last.width, last.height), truth(last.frame)):.3f}"
        )
        print(json.dumps({"decode_ms": min(decode) * 1000, "track_ms": min(follow) * 1000}))


if __name__ == "__main__":
    main()
