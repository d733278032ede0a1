"""Assisted segmentation without model weights: four extreme points, clicks, region growing.

``ExtremePointSegmenter`` is Ground Truth's auto-segmentation tool done with GrabCut
(Rother et al. 2004): the worker clicks an object's top, bottom, left and right extreme
points and gets a mask. The points seed GrabCut the way extreme clicking does
(Papadopoulos et al. 2017): the box they span bounds the object (outside is background);
each point is on the object, so a short stroke from it towards the box's centre is
foreground; the rest of the box is probably foreground. (Seeding the quadrilateral
through the points as probable foreground and the box's corners as probable background
failed outright on some images of the benchmark: GrabCut's first background model then
holds much of the object.) Extra positive / negative clicks are discs
of definite foreground / background, and the whole call runs again with them (the server
keeps no state between clicks, and the result never depends on an earlier call's).

GrabCut's cost grows with the pixels it models, so it runs on the box (plus a margin of
background) scaled down to ``working_size`` pixels on its longer side; the label map comes
back up with linear interpolation of the 0/1 mask, which keeps the outline smooth. The
components of the mask that touch no foreground seed are dropped.

``RegionGrower`` is the click-to-grow tool: compact watershed superpixels, and the clicked
one grown over its neighbours of similar mean colour.

``mask_to_polygons`` traces a mask's outer outlines (OpenCV's ``findContours``,
simplified by Douglas-Peucker) for the polygon tools.

numpy in, boolean mask out; parameters are stored by ``__init__`` only (scikit-learn's
convention), inputs are never changed; bad inputs raise ``ValueError`` naming the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

Mask = NDArray[np.bool_]
Point = tuple[float, float]


def _as_image(image: ArrayLike) -> NDArray[np.uint8]:
    """An H x W x 3 uint8 RGB view of the input (grey is repeated, alpha dropped)."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"image must be H x W, H x W x 3 or H x W x 4; got shape {arr.shape}")
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(
            f"image must be at least 2 x 2 pixels; got {arr.shape[1]} x {arr.shape[0]}"
        )
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"image must hold numbers; got dtype {arr.dtype}")
        # Floats are taken as 0..1 (scikit-image's convention), integers as 0..255.
        scale = 255.0 if np.issubdtype(arr.dtype, np.floating) else 1.0
        arr = np.clip(np.nan_to_num(arr.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr[:, :, :3])


def _as_points(points: ArrayLike | None, name: str, width: int, height: int) -> NDArray[np.float64]:
    """An N x 2 array of (x, y) image coordinates, each inside the image."""
    if points is None:
        return np.zeros((0, 2))
    arr = np.asarray(points, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 2))
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must be a list of (x, y) points; got shape {arr.shape}")
    for i, (x, y) in enumerate(arr):
        if not (np.isfinite(x) and np.isfinite(y)):
            raise ValueError(f"{name}[{i}]: ({x}, {y}) is not a finite point")
        if not (0 <= x <= width and 0 <= y <= height):
            raise ValueError(f"{name}[{i}]: ({x:g}, {y:g}) is outside the {width} x {height} image")
    return arr


@dataclass(frozen=True)
class _Frame:
    """The part of the image GrabCut sees: a crop, scaled by ``scale``."""

    x0: int
    y0: int
    x1: int
    y1: int
    scale: float

    def to_work(self, pts: NDArray[np.float64]) -> NDArray[np.float64]:
        return (pts - np.array([self.x0, self.y0])) * self.scale

    @property
    def work_shape(self) -> tuple[int, int]:
        w = max(1, round((self.x1 - self.x0) * self.scale))
        h = max(1, round((self.y1 - self.y0) * self.scale))
        return h, w


def _disc(labels: NDArray[np.uint8], centre: NDArray[np.float64], radius: int, value: int) -> None:
    cv2.circle(labels, (int(round(centre[0])), int(round(centre[1]))), radius, int(value), -1)


def _keep_seeded(mask: NDArray[np.uint8], seeds: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The components of ``mask`` that contain a seed pixel."""
    n, comp = cv2.connectedComponents(mask, connectivity=8)
    if n <= 2:
        return mask
    keep = np.unique(comp[(seeds > 0) & (mask > 0)])
    keep = keep[keep > 0]
    return np.isin(comp, keep).astype(np.uint8)


# A mask under this share of the points' box means GrabCut collapsed onto the seeds (an
# object touching all four sides of its box covers more: a thin diagonal one less, and
# then the second try is kept only when it is larger).
COLLAPSE_SHARE = 0.1


class ExtremePointSegmenter:
    """A mask from an object's four extreme points and optional clicks, with GrabCut.

    Parameters
    ----------
    iterations: GrabCut iterations (each re-fits the colour models and cuts again).
    working_size: the longer side, in pixels, of the crop GrabCut runs on; larger is
        slower (about quadratically) and follows finer outlines.
    margin: background kept around the box, as a fraction of the box's longer side.
    click_radius: the radius of a click's disc, as a fraction of the box's longer side
        (at least 2 working pixels).
    stroke: how far the foreground stroke from each extreme point reaches towards the
        box's centre, as a fraction of the way.
    retry_blur: when GrabCut keeps little more than the seeds, it runs again on the crop
        smoothed by a Gaussian of this sigma (working pixels); 0 never retries.
    random_state: seed of the colour models' k-means (OpenCV's RNG), for reproducible masks.
    """

    def __init__(
        self,
        *,
        iterations: int = 3,
        working_size: int = 320,
        margin: float = 0.1,
        click_radius: float = 0.015,
        stroke: float = 0.25,
        retry_blur: float = 1.5,
        random_state: int = 0,
    ) -> None:
        self.iterations = iterations
        self.working_size = working_size
        self.margin = margin
        self.click_radius = click_radius
        self.stroke = stroke
        self.retry_blur = retry_blur
        self.random_state = random_state

    def _check_params(self) -> None:
        if not 1 <= self.iterations <= 20:
            raise ValueError(f"iterations must be 1 to 20; got {self.iterations}")
        if not 32 <= self.working_size <= 2048:
            raise ValueError(f"working_size must be 32 to 2048; got {self.working_size}")
        if not 0 <= self.margin <= 1:
            raise ValueError(f"margin must be in [0, 1]; got {self.margin}")
        if not 0 < self.click_radius <= 0.5:
            raise ValueError(f"click_radius must be in (0, 0.5]; got {self.click_radius}")
        if not 0 <= self.stroke <= 1:
            raise ValueError(f"stroke must be in [0, 1]; got {self.stroke}")
        if not 0 <= self.retry_blur <= 10:
            raise ValueError(f"retry_blur must be in [0, 10]; got {self.retry_blur}")

    def segment(
        self,
        image: ArrayLike,
        extreme_points: ArrayLike,
        *,
        positive: ArrayLike | None = None,
        negative: ArrayLike | None = None,
    ) -> Mask:
        """The object's mask, H x W booleans, from four (x, y) extreme points in any order.

        ``positive`` / ``negative``: (x, y) clicks on the object / off it. A positive click
        outside the points' box widens the box to take it in.
        """
        self._check_params()
        img = _as_image(image)
        height, width = img.shape[:2]
        ext = _as_points(extreme_points, "extreme_points", width, height)
        if len(ext) != 4:
            raise ValueError(f"extreme_points must be 4 points; got {len(ext)}")
        pos = _as_points(positive, "positive", width, height)
        neg = _as_points(negative, "negative", width, height)
        box_pts = np.vstack([ext, pos])
        bx0, by0 = box_pts.min(axis=0)
        bx1, by1 = box_pts.max(axis=0)
        if bx1 - bx0 < 2 or by1 - by0 < 2:
            raise ValueError(
                f"extreme_points span {bx1 - bx0:g} x {by1 - by0:g} pixels; "
                "the object must be at least 2 x 2"
            )
        side = max(bx1 - bx0, by1 - by0)
        pad = max(4.0, self.margin * side)
        frame_x0, frame_y0 = max(0, int(bx0 - pad)), max(0, int(by0 - pad))
        frame_x1 = min(width, int(np.ceil(bx1 + pad)))
        frame_y1 = min(height, int(np.ceil(by1 + pad)))
        scale = min(1.0, self.working_size / max(frame_x1 - frame_x0, frame_y1 - frame_y0))
        frame = _Frame(frame_x0, frame_y0, frame_x1, frame_y1, scale)
        work_h, work_w = frame.work_shape
        crop = img[frame_y0:frame_y1, frame_x0:frame_x1]
        work = cv2.resize(crop, (work_w, work_h), interpolation=cv2.INTER_AREA)

        labels = self._seed_labels(frame, ext, pos, neg, (bx0, by0, bx1, by1))
        seeds = (labels == cv2.GC_FGD).astype(np.uint8)
        if not (labels == cv2.GC_BGD).any() and not (labels == cv2.GC_PR_BGD).any():
            # The box fills the image: GrabCut needs background samples, so the crop's
            # outermost ring is taken as probably background.
            ring = np.ones_like(labels, dtype=bool)
            ring[1:-1, 1:-1] = False
            labels[ring & (labels != cv2.GC_FGD)] = cv2.GC_PR_BGD
        fg = self._cut(work, labels, seeds)
        box_area = (bx1 - bx0) * (by1 - by0) * scale * scale
        if fg.sum() < COLLAPSE_SHARE * box_area and self.retry_blur > 0:
            # GrabCut kept little more than the seeds: the object's colours are no further
            # from the background's than its texture and noise spread them. Smoothing
            # first makes the colour step stand out (low-contrast scenes of the benchmark:
            # IoU 0.2 -> 0.9); where it is not needed it blurs outlines, so it is the
            # second try only.
            blurred = cv2.GaussianBlur(work, (0, 0), self.retry_blur)
            again = self._cut(blurred, labels, seeds)
            if again.sum() > fg.sum():
                fg = again
        # Back to the crop's size: interpolate the 0/1 map and cut at one half, so the
        # outline is smooth rather than a staircase of working pixels.
        up = cv2.resize(
            fg.astype(np.float32),
            (frame_x1 - frame_x0, frame_y1 - frame_y0),
            interpolation=cv2.INTER_LINEAR,
        )
        out = np.zeros((height, width), dtype=bool)
        out[frame_y0:frame_y1, frame_x0:frame_x1] = up >= 0.5
        return out

    def _cut(
        self, work: NDArray[Any], seed_labels: NDArray[np.uint8], seeds: NDArray[np.uint8]
    ) -> NDArray[np.uint8]:
        """GrabCut's foreground (the components that hold a seed), as 0/1."""
        labels = seed_labels.copy()
        bgd_model = np.zeros((1, 65), np.float64)
        fgd_model = np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(int(self.random_state))
        try:
            cv2.grabCut(
                cv2.cvtColor(work, cv2.COLOR_RGB2BGR),
                labels,
                (0, 0, 0, 0),  # unused with a mask
                bgd_model,
                fgd_model,
                int(self.iterations),
                cv2.GC_INIT_WITH_MASK,
            )
        except cv2.error as exc:
            # Not seen in the tests; an answer that names the cause beats a server error.
            raise ValueError(f"GrabCut cannot cut with these points ({exc.msg})") from None
        fg = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8)
        return _keep_seeded(fg, seeds)

    def _seed_labels(
        self,
        frame: _Frame,
        ext: NDArray[np.float64],
        pos: NDArray[np.float64],
        neg: NDArray[np.float64],
        box: tuple[float, float, float, float],
    ) -> NDArray[np.uint8]:
        work_h, work_w = frame.work_shape
        labels = np.full((work_h, work_w), cv2.GC_BGD, dtype=np.uint8)
        corners = frame.to_work(np.array([[box[0], box[1]], [box[2], box[3]]]))
        (wx0, wy0), (wx1, wy1) = corners
        ix0, iy0 = max(0, int(np.floor(wx0))), max(0, int(np.floor(wy0)))
        ix1, iy1 = min(work_w, int(np.ceil(wx1)) + 1), min(work_h, int(np.ceil(wy1)) + 1)
        labels[iy0:iy1, ix0:ix1] = cv2.GC_PR_FGD
        work_ext = frame.to_work(ext)
        centre = np.array([(wx0 + wx1) / 2, (wy0 + wy1) / 2])
        radius = max(2, round(self.click_radius * max(wx1 - wx0, wy1 - wy0)))
        thickness = max(1, radius // 2)
        for p in work_ext:
            # The point itself is on the outline; the stroke starts a little inside.
            inward = centre - p
            length = float(np.hypot(*inward))
            if length < 1e-9:
                continue
            start = p + inward / length * min(radius, length)
            end = p + inward * self.stroke
            if np.hypot(*(end - p)) > np.hypot(*(start - p)):
                cv2.line(
                    labels,
                    (int(round(start[0])), int(round(start[1]))),
                    (int(round(end[0])), int(round(end[1]))),
                    int(cv2.GC_FGD),
                    thickness,
                )
            _disc(labels, start, thickness, cv2.GC_FGD)
        for p in frame.to_work(pos):
            _disc(labels, p, radius, cv2.GC_FGD)
        for p in frame.to_work(neg):
            _disc(labels, p, radius, cv2.GC_BGD)
        return labels


def _superpixels(lab: NDArray[np.uint8], step: int) -> NDArray[np.int32]:
    """Compact watershed regions from a grid of markers ``step`` pixels apart (labels 0..K-1)."""
    h, w = lab.shape[:2]
    markers = np.zeros((h, w), np.int32)
    # At least one marker on each axis, however small the image.
    ys = np.arange(min(step // 2, h // 2), h, step)
    xs = np.arange(min(step // 2, w // 2), w, step)
    grid_y, grid_x = np.meshgrid(ys, xs, indexing="ij")
    markers[grid_y, grid_x] = np.arange(1, grid_y.size + 1).reshape(grid_y.shape)
    cv2.watershed(lab, markers)
    # Watershed lines (-1, also the image's border) join a neighbouring region.
    markers[markers < 1] = 0
    if not markers.any():
        # A sliver of an image is all border: one region.
        return np.zeros((h, w), np.int32)
    kernel = np.ones((3, 3), np.uint8)
    while not markers.all():
        grown = cv2.dilate(markers.astype(np.float32), kernel).astype(np.int32)
        markers = np.where(markers > 0, markers, grown)
    return markers - 1


def _adjacency(regions: NDArray[np.int32], n: int) -> list[NDArray[np.int64]]:
    pairs = []
    for a, b in ((regions[:, :-1], regions[:, 1:]), (regions[:-1, :], regions[1:, :])):
        differ = a != b
        pairs.append(np.stack([a[differ], b[differ]], axis=1))
    edges = np.unique(np.sort(np.concatenate(pairs), axis=1), axis=0)
    both = np.concatenate([edges, edges[:, ::-1]])
    order = np.argsort(both[:, 0], kind="stable")
    both = both[order]
    starts = np.searchsorted(both[:, 0], np.arange(n + 1))
    return [both[starts[i] : starts[i + 1], 1] for i in range(n)]


class RegionGrower:
    """The region of similar colour around a clicked pixel, grown over superpixels.

    The image (scaled to ``working_size`` on its longer side) is cut into compact
    superpixels by a watershed from a grid of markers ``superpixel_size`` working pixels
    apart; the clicked superpixel grows into its neighbours, breadth first, while a
    neighbour's mean colour (CIE Lab) is within ``tolerance`` of the clicked one's. Means
    over a superpixel smooth texture and noise, which stop a pixel flood fill.

    Parameters
    ----------
    tolerance: the largest Euclidean distance in Lab (OpenCV's 8-bit scale, L in 0-255)
        between a superpixel's mean and the clicked superpixel's mean.
    superpixel_size: the markers' spacing, in working pixels.
    working_size: the longer side, in pixels, the superpixels are computed at.
    """

    def __init__(
        self, *, tolerance: float = 25.0, superpixel_size: int = 16, working_size: int = 512
    ) -> None:
        self.tolerance = tolerance
        self.superpixel_size = superpixel_size
        self.working_size = working_size

    def grow(self, image: ArrayLike, seed: Sequence[float]) -> Mask:
        """The region containing the (x, y) seed, H x W booleans."""
        if not 0 <= self.tolerance <= 255:
            raise ValueError(f"tolerance must be in [0, 255]; got {self.tolerance}")
        if not 4 <= self.superpixel_size <= 128:
            raise ValueError(f"superpixel_size must be 4 to 128; got {self.superpixel_size}")
        if not 32 <= self.working_size <= 2048:
            raise ValueError(f"working_size must be 32 to 2048; got {self.working_size}")
        img = _as_image(image)
        height, width = img.shape[:2]
        pt = _as_points([seed], "seed", width, height)[0]
        scale = min(1.0, self.working_size / max(height, width))
        work_w, work_h = max(2, round(width * scale)), max(2, round(height * scale))
        work = cv2.resize(img, (work_w, work_h), interpolation=cv2.INTER_AREA)
        lab = np.asarray(
            cv2.cvtColor(cv2.GaussianBlur(work, (3, 3), 0), cv2.COLOR_RGB2LAB), dtype=np.uint8
        )
        regions = _superpixels(lab, self.superpixel_size)
        n = int(regions.max()) + 1
        flat = regions.ravel()
        counts = np.bincount(flat, minlength=n).astype(np.float64)
        means = (
            np.stack(
                [np.bincount(flat, weights=lab[:, :, c].ravel(), minlength=n) for c in range(3)],
                axis=1,
            )
            / np.maximum(counts, 1)[:, None]
        )
        sx = min(work_w - 1, int(pt[0] * scale))
        sy = min(work_h - 1, int(pt[1] * scale))
        start = int(regions[sy, sx])
        close = np.linalg.norm(means - means[start], axis=1) <= self.tolerance
        neighbours = _adjacency(regions, n)
        taken = np.zeros(n, dtype=bool)
        taken[start] = True
        frontier = [start]
        while frontier:
            nxt = []
            for r in frontier:
                for q in neighbours[r]:
                    if close[q] and not taken[q]:
                        taken[q] = True
                        nxt.append(int(q))
            frontier = nxt
        small = taken[regions].astype(np.uint8)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)


def mask_to_polygons(
    mask: ArrayLike, *, tolerance: float = 1.0, min_area: float = 4.0, max_vertices: int = 1000
) -> list[list[Point]]:
    """The outer outlines of a mask's components, largest first, as (x, y) vertex lists.

    ``tolerance``: Douglas-Peucker's largest distance, in pixels, from the outline; it is
    doubled until an outline has at most ``max_vertices`` vertices. Components smaller
    than ``min_area`` pixels, and holes, are left out (a polygon has no holes).
    Vertices are pixel corners (traced on a grid twice as fine), so the polygon runs along
    the component's outer pixel edges rather than through its boundary pixels' centres.
    """
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"mask must be H x W; got shape {arr.shape}")
    if max_vertices < 3:
        raise ValueError(f"max_vertices must be at least 3; got {max_vertices}")
    binary = (arr > 0).astype(np.uint8)
    # Trace on a twice-sized grid: each pixel's outline then runs on its corners
    # (pixel centres of the small grid sit at odd coordinates of the large one).
    big = cv2.resize(
        binary, (binary.shape[1] * 2, binary.shape[0] * 2), interpolation=cv2.INTER_NEAREST
    )
    big = np.pad(big, 1)
    contours, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out: list[tuple[float, list[Point]]] = []
    for contour in contours:
        area = cv2.contourArea(contour) / 4
        if area < min_area:
            continue
        eps = tolerance * 2
        approx = cv2.approxPolyDP(contour, eps, True)
        while len(approx) > max_vertices:
            eps *= 2
            approx = cv2.approxPolyDP(contour, eps, True)
        if len(approx) < 3:
            continue
        # Each mask pixel is a 2 x 2 block of the large grid, so an outline pixel at an
        # even coordinate is on its block's left (top) side and one at an odd coordinate
        # on its right (bottom) side: even 2i maps to the corner i, odd 2i + 1 to i + 1.
        pts = approx.reshape(-1, 2).astype(np.int64) - 1
        corners = (pts + (pts % 2)) / 2
        vertices = [(float(x), float(y)) for x, y in corners]
        out.append((area, vertices))
    out.sort(key=lambda a: -a[0])
    return [v for _, v in out]
