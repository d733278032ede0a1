"""Assisted segmentation: mask quality against known masks, and time per call.

Quality: the four-extreme-points tool (GrabCut) on generated scenes (an ellipse, a rotated
rectangle or a lobed blob, textured, on a textured background, with noise; see
tests/segmentation_scenes.py; also a low-contrast set, where the colour step between
object and background is no larger than the texture) and on scikit-image's data images
with a clean object (five coins, the horse silhouette on grass and on gravel). The
simulated worker clicks the true extreme points with a Gaussian jitter (sigma 2 px),
then up to three refinement clicks, each in the middle of the largest wrong region
(positive where the mask misses the object, negative where it spills). The grow tool:
one click at the object's deepest point, then up to three more clicks in the middle of
the largest missed part (the regions' union), while that part is at least 12 px deep
(slivers are for the brush).

Speed: one call on a 1024 x 1024 scene (the service call the route makes: the maths and
the run-length encoding of the answer), wall-clock and CPU time, median and p95.

    .venv/bin/python benchmarks/assisted_segmentation.py [--scenes 60] [--hard-scenes 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import cv2  # noqa: E402

from _common import machine  # noqa: E402
from segmentation_scenes import (  # noqa: E402
    LOW_CONTRAST,
    Scene,
    extreme_points,
    iou,
    next_click,
    scene,
    skimage_objects,
)
from truthset.learning.assisted_segmentation import (  # noqa: E402
    ExtremePointSegmenter,
    RegionGrower,
)
from truthset.media import assist  # noqa: E402
from truthset.media.assist_schemas import ExtremePointsRequest, GrowRequest, Point  # noqa: E402


def four_points_with_clicks(sc: Scene, seed: int, clicks: int = 3) -> list[float]:
    """IoU after the four points, then after each refinement click."""
    seg = ExtremePointSegmenter()
    pts = extreme_points(sc.mask, jitter=2.0, rng=np.random.default_rng(seed))
    mask = seg.segment(sc.image, pts)
    out = [iou(mask, sc.mask)]
    pos: list[tuple[float, float]] = []
    neg: list[tuple[float, float]] = []
    for _ in range(clicks):
        nxt = next_click(sc.mask, mask)
        if nxt is None:
            out.append(out[-1])
            continue
        (pos if nxt[0] else neg).append(nxt[1])
        mask = seg.segment(sc.image, pts, positive=pos, negative=neg)
        out.append(iou(mask, sc.mask))
    return out


# A grow click lands only inside a missed part at least this many pixels deep.
MIN_GROW_DEPTH = 12


def grow_clicks(sc: Scene, clicks: int = 4) -> list[float]:
    """IoU of the grown region after each click (the first at the deepest point)."""
    grower = RegionGrower()
    dist = cv2.distanceTransform(sc.mask.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    region = grower.grow(sc.image, (x + 0.5, y + 0.5))
    out = [iou(region, sc.mask)]
    for _ in range(clicks - 1):
        missed = sc.mask & ~region
        d = cv2.distanceTransform(np.pad(missed, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
        y, x = np.unravel_index(int(np.argmax(d)), d.shape)
        if d[y, x] < MIN_GROW_DEPTH:
            # What is left is slivers along the outline: a worker brushes those.
            out.append(out[-1])
            continue
        region = region | grower.grow(sc.image, (x + 0.5, y + 0.5))
        out.append(iou(region, sc.mask))
    return out


def share(rows: np.ndarray) -> float:
    """The share of images whose mask after the four points has IoU >= 0.8."""
    return float((rows[:, 0] >= 0.8).mean())


def timed(fn, repeats: int) -> tuple[float, float, float]:
    walls, cpus = [], []
    fn()  # warm: OpenCV's first call allocates
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    ms = 1000 * np.array(walls)
    return float(np.median(ms)), float(np.percentile(ms, 95)), float(1000 * np.median(cpus))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=60)
    ap.add_argument("--hard-scenes", type=int, default=30)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--speed-only", action="store_true", help="only the 1024 x 1024 timings")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}, OpenCV {cv2.__version__}")

    if not args.speed_only:
        quality(args)
    speed(args.repeats)


def quality(args: argparse.Namespace) -> None:
    rows = np.array([four_points_with_clicks(scene(s, args.size), s) for s in range(args.scenes)])
    print(f"\ngenerated scenes ({args.scenes} at {args.size} px), four points (jitter 2 px):")
    print(
        "  mean IoU after 4 points, +1, +2, +3 clicks:",
        " / ".join(f"{v:.3f}" for v in rows.mean(0)),
    )
    print(f"  worst after 4 points {rows[:, 0].min():.3f}; share >= 0.8: {share(rows):.0%}")
    grow = np.array([grow_clicks(scene(s, args.size)) for s in range(args.scenes)])
    print("  grow, mean IoU after 1, 2, 3, 4 clicks:", " / ".join(f"{v:.3f}" for v in grow.mean(0)))
    hard = np.array(
        [
            four_points_with_clicks(scene(s, args.size, LOW_CONTRAST), s)
            for s in range(args.hard_scenes)
        ]
    )
    print(
        f"\nlow-contrast scenes ({args.hard_scenes}; colour step 12-30, as strong as the texture):"
    )
    print(
        "  mean IoU after 4 points, +1, +2, +3 clicks:",
        " / ".join(f"{v:.3f}" for v in hard.mean(0)),
    )
    print(f"  worst after 4 points {hard[:, 0].min():.3f}; share >= 0.8: {share(hard):.0%}")

    print("\nscikit-image objects, four points then three clicks:")
    for i, sc in enumerate(skimage_objects()):
        values = four_points_with_clicks(sc, 1000 + i)
        grown = grow_clicks(sc)
        print(
            f"  {sc.name:16s} {sc.image.shape[1]}x{sc.image.shape[0]}  4 points "
            + " / ".join(f"{v:.3f}" for v in values)
            + f"   grow 1 / 4 clicks {grown[0]:.3f} / {grown[-1]:.3f}"
        )


def speed(repeats: int) -> None:
    big = scene(7, 1024)
    pts = [Point(x=x, y=y) for x, y in extreme_points(big.mask)]
    ys, xs = np.nonzero(big.mask)
    inside = Point(x=float(np.median(xs)), y=float(np.median(ys)))
    plain = ExtremePointsRequest(extreme_points=pts)
    clicked = ExtremePointsRequest(
        extreme_points=pts, positive=[inside], negative=[Point(x=5, y=5)], polygons=True
    )
    print(f"\none call on a 1024 x 1024 scene (object {big.mask.mean():.0%} of the image):")
    for name, fn in (
        ("4 points", lambda: assist.extreme_points_mask(big.image, plain)),
        ("4 points + 2 clicks, polygons", lambda: assist.extreme_points_mask(big.image, clicked)),
        ("grow", lambda: assist.grown_region(big.image, GrowRequest(point=inside))),
    ):
        p50, p95, cpu = timed(fn, repeats)
        print(f"  {name:30s} wall p50 {p50:6.1f} ms, p95 {p95:6.1f} ms; CPU p50 {cpu:6.1f} ms")


if __name__ == "__main__":
    main()
