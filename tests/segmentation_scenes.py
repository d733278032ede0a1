"""Images with known object masks for the assisted segmentation tools.

``scene(seed, size)``: one textured object (an ellipse, a rotated rectangle or a star-like
blob) on a textured background, with noise, and its true mask. ``extreme_points`` finds a
mask's top, bottom, left and right extreme points as a worker would click them (with an
optional jitter), and ``next_click`` the click a careful worker makes next: in the middle
of the largest wrong region, positive where the mask misses the object, negative where it
spills over. ``skimage_objects`` are scikit-image's data images with a clean object and a
mask made from it. Used by tests/learning, tests/web and benchmarks/assisted_segmentation.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Scene:
    name: str
    image: NDArray[np.uint8]
    mask: NDArray[np.bool_]


def _texture(
    rng: np.random.Generator, h: int, w: int, colour: NDArray[np.float64]
) -> NDArray[np.float64]:
    """A colour with stripes and blotches around it."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(6, 24)
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    small = rng.normal(size=(max(2, h // 32), max(2, w // 32), 3))
    blotches = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    amp = rng.uniform(10, 25)
    return colour[None, None, :] + amp * stripes[:, :, None] + 12 * blotches


def _distinct_colours(
    rng: np.random.Generator, contrast: tuple[float, float]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    while True:
        fg, bg = rng.uniform(40, 215, size=3), rng.uniform(40, 215, size=3)
        if contrast[0] <= np.linalg.norm(fg - bg) <= contrast[1]:
            return fg, bg


def _shape_mask(rng: np.random.Generator, size: int, kind: str) -> NDArray[np.bool_]:
    mask = np.zeros((size, size), np.uint8)
    c = rng.uniform(0.35, 0.65, size=2) * size
    r = rng.uniform(0.15, 0.3) * size
    if kind == "ellipse":
        axes = (int(r), int(r * rng.uniform(0.45, 1.0)))
        cv2.ellipse(mask, (int(c[0]), int(c[1])), axes, rng.uniform(0, 180), 0, 360, 1, -1)
    elif kind == "rectangle":
        box = cv2.boxPoints(
            ((c[0], c[1]), (2 * r, 2 * r * rng.uniform(0.4, 0.9)), rng.uniform(0, 90))
        )
        cv2.fillPoly(mask, [np.round(box).astype(np.int32)], 1)
    else:
        # A blob with a few lobes: radius varies smoothly with the angle.
        t = np.linspace(0, 2 * np.pi, 360, endpoint=False)
        lobes = int(rng.integers(3, 6))
        radius = r * (1 + 0.3 * np.sin(lobes * t + rng.uniform(0, 6)) + 0.1 * np.sin(2 * t))
        pts = np.stack([c[0] + radius * np.cos(t), c[1] + radius * np.sin(t)], axis=1)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return mask.astype(bool)


KINDS = ("ellipse", "rectangle", "blob")


# The distance of the object's mean colour from the background's, in RGB units: the
# default set, and a low-contrast one where texture and noise are as strong as the step.
CONTRAST = (30.0, 1000.0)
LOW_CONTRAST = (12.0, 30.0)


def scene(seed: int, size: int = 512, contrast: tuple[float, float] = CONTRAST) -> Scene:
    """A textured object on a textured background, with noise; its kind cycles with the seed."""
    rng = np.random.default_rng(seed)
    kind = KINDS[seed % len(KINDS)]
    mask = _shape_mask(rng, size, kind)
    fg_colour, bg_colour = _distinct_colours(rng, contrast)
    fg = _texture(rng, size, size, fg_colour)
    bg = _texture(rng, size, size, bg_colour)
    # A slightly soft edge, as a camera gives.
    alpha = cv2.GaussianBlur(mask.astype(np.float64), (5, 5), 1.0)[:, :, None]
    img = alpha * fg + (1 - alpha) * bg + rng.normal(0, 14, size=(size, size, 3))
    return Scene(f"{kind}-{seed}", np.clip(img, 0, 255).astype(np.uint8), mask)


def extreme_points(
    mask: NDArray[np.bool_], jitter: float = 0.0, rng: np.random.Generator | None = None
) -> list[tuple[float, float]]:
    """Top, bottom, left, right: the middle pixel of each extreme row / column, as (x, y)."""
    ys, xs = np.nonzero(mask)
    pts = []
    for sel, along in (
        (ys == ys.min(), xs),
        (ys == ys.max(), xs),
        (xs == xs.min(), ys),
        (xs == xs.max(), ys),
    ):
        i = np.flatnonzero(sel)[np.argsort(along[sel])[sel.sum() // 2]]
        pts.append((float(xs[i]) + 0.5, float(ys[i]) + 0.5))
    if jitter and rng is not None:
        h, w = mask.shape
        pts = [
            (
                float(np.clip(x + rng.normal(0, jitter), 0, w)),
                float(np.clip(y + rng.normal(0, jitter), 0, h)),
            )
            for x, y in pts
        ]
    return pts


def next_click(
    truth: NDArray[np.bool_], mask: NDArray[np.bool_]
) -> tuple[bool, tuple[float, float]] | None:
    """(positive, (x, y)): the centre of the largest wrong region, or None when none is left."""
    best: tuple[float, bool, tuple[float, float]] | None = None
    for positive, wrong in ((True, truth & ~mask), (False, mask & ~truth)):
        if not wrong.any():
            continue
        dist = cv2.distanceTransform(np.pad(wrong, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
        y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
        if best is None or dist[y, x] > best[0]:
            best = (float(dist[y, x]), positive, (x + 0.5, y + 0.5))
    return None if best is None else (best[1], best[2])


def iou(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def skimage_objects() -> list[Scene]:
    """scikit-image's data images with clean objects: five coins, the horse on two textures.

    The coins' masks are scikit-image's own recipe for that image (a watershed of the
    Sobel map from dark and bright markers, holes filled); the horse is a silhouette, so
    it is its own mask, shown in a fur texture on the grass and on the gravel images.
    """
    from scipy import ndimage
    from skimage import data, filters, measure, segmentation

    out = []
    coins = data.coins()
    markers = np.zeros_like(coins, dtype=np.int32)
    markers[coins < 30] = 1
    markers[coins > 150] = 2
    ws = segmentation.watershed(filters.sobel(coins), markers)
    labels = measure.label(ndimage.binary_fill_holes(ws == 2))
    regions = [r for r in measure.regionprops(labels) if 1500 <= r.area <= 6000]
    # Whole coins away from the bright top edge, in reading order.
    regions = sorted(
        (r for r in regions if r.bbox[0] > 60), key=lambda r: (r.bbox[0] // 60, r.bbox[1])
    )
    for r in regions[:5]:
        out.append(Scene(f"coins-{r.label}", coins, labels == r.label))
    horse = ~data.horse().astype(bool)
    rng = np.random.default_rng(0)
    fur = _texture(rng, horse.shape[0], horse.shape[1], np.array([150.0, 90.0, 50.0]))
    for name, ground, tint in (
        ("grass", data.grass(), (0.6, 1.0, 0.5)),
        ("gravel", data.gravel(), (0.9, 0.85, 0.8)),
    ):
        g = cv2.resize(ground, (horse.shape[1], horse.shape[0])).astype(np.float64)
        g = g[:, :, None] * np.array(tint)
        img = np.where(horse[:, :, None], fur, g) + rng.normal(0, 8, size=fur.shape)
        out.append(Scene(f"horse-on-{name}", np.clip(img, 0, 255).astype(np.uint8), horse))
    return out
