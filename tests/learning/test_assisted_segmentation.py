"""Assisted segmentation maths against images whose true masks are known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import draw

from segmentation_scenes import (
    LOW_CONTRAST,
    extreme_points,
    iou,
    next_click,
    scene,
    skimage_objects,
)
from truthset.learning.assisted_segmentation import (
    ExtremePointSegmenter,
    RegionGrower,
    mask_to_polygons,
)


@pytest.mark.parametrize("seed", range(6))
def test_four_extreme_points_find_the_generated_object(seed: int) -> None:
    sc = scene(seed, 384)
    pts = extreme_points(sc.mask, jitter=2.0, rng=np.random.default_rng(seed))
    mask = ExtremePointSegmenter().segment(sc.image, pts)
    assert mask.shape == sc.mask.shape and mask.dtype == bool
    assert iou(mask, sc.mask) >= 0.9, sc.name


@pytest.mark.parametrize("seed", [0, 1, 4])
def test_low_contrast_objects_are_found_by_the_smoothed_second_try(seed: int) -> None:
    sc = scene(seed, 384, LOW_CONTRAST)
    pts = extreme_points(sc.mask)
    # GrabCut on the crop as it is keeps little more than the seeds here...
    first = ExtremePointSegmenter(retry_blur=0).segment(sc.image, pts)
    assert iou(first, sc.mask) < 0.2
    # ...and the smoothed second try finds the object.
    assert iou(ExtremePointSegmenter().segment(sc.image, pts), sc.mask) >= 0.85


def test_four_extreme_points_find_skimage_objects() -> None:
    scenes = skimage_objects()
    assert {s.name.split("-")[0] for s in scenes} == {"coins", "horse"}
    for sc in scenes:
        mask = ExtremePointSegmenter().segment(sc.image, extreme_points(sc.mask))
        assert iou(mask, sc.mask) >= 0.85, sc.name


def test_the_order_of_the_points_does_not_matter_and_inputs_stay_unchanged() -> None:
    sc = scene(1, 256)
    pts = extreme_points(sc.mask)
    before = sc.image.copy()
    seg = ExtremePointSegmenter(random_state=3)
    a = seg.segment(sc.image, pts)
    b = seg.segment(sc.image, pts[::-1])
    assert np.array_equal(a, b)
    assert np.array_equal(sc.image, before)


def test_refinement_clicks_fix_what_the_points_missed() -> None:
    horse = next(s for s in skimage_objects() if s.name == "horse-on-grass")
    seg = ExtremePointSegmenter()
    pts = extreme_points(horse.mask)
    mask = seg.segment(horse.image, pts)
    first = iou(mask, horse.mask)
    positive: list[tuple[float, float]] = []
    negative: list[tuple[float, float]] = []
    for _ in range(3):
        click = next_click(horse.mask, mask)
        assert click is not None
        (positive if click[0] else negative).append(click[1])
        mask = seg.segment(horse.image, pts, positive=positive, negative=negative)
    assert iou(mask, horse.mask) > first + 0.01


def test_a_negative_click_removes_and_a_positive_click_keeps() -> None:
    sc = scene(0, 256)
    pts = extreme_points(sc.mask)
    ys, xs = np.nonzero(sc.mask)
    inside = (float(np.median(xs)), float(np.median(ys)))
    mask = ExtremePointSegmenter().segment(sc.image, pts, negative=[inside])
    assert not mask[int(inside[1]), int(inside[0])]
    outside = (2.0, 2.0)
    mask = ExtremePointSegmenter().segment(sc.image, pts, positive=[outside])
    assert mask[2, 2]


def test_grey_and_float_images_are_taken() -> None:
    sc = scene(2, 200)
    grey = cv2.cvtColor(sc.image, cv2.COLOR_RGB2GRAY)
    pts = extreme_points(sc.mask)
    assert ExtremePointSegmenter().segment(grey, pts).any()
    assert ExtremePointSegmenter().segment(sc.image / 255.0, pts).any()


def test_an_object_filling_the_image_still_gets_a_mask() -> None:
    img = np.full((64, 64, 3), 120, np.uint8)
    img[:, :8] = 30
    pts = [(32, 0), (32, 64), (0, 32), (64, 32)]
    mask = ExtremePointSegmenter().segment(img, pts)
    assert mask.sum() > 0.5 * mask.size


@pytest.mark.parametrize(
    ("points", "kwargs", "message"),
    [
        ([(1, 1), (2, 2), (3, 3)], {}, "must be 4 points"),
        ([(1, 1), (2, 2), (3, 3), (500, 3)], {}, r"extreme_points\[3\]: \(500, 3\) is outside"),
        ([(1, 1), (2, 2), (3, 3), (float("nan"), 3)], {}, "not a finite point"),
        ([(10, 10), (10, 10), (11, 10), (10, 11)], {}, "at least 2 x 2"),
        ([(1, 1), (20, 2), (3, 30), (40, 3)], {"positive": [(1, 2, 3)]}, "positive must be a list"),
    ],
)
def test_bad_points_are_refused_by_name(points: list, kwargs: dict, message: str) -> None:
    img = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(ValueError, match=message):
        ExtremePointSegmenter().segment(img, points, **kwargs)


@pytest.mark.parametrize("shape", [(2, 2), (3, 3), (2, 50), (50, 2), (5, 7)])
def test_tiny_images_get_masks_and_regions(shape: tuple[int, int]) -> None:
    h, w = shape
    img = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    corners = [(0, 0), (w, h), (0, h), (w, 0)]
    assert ExtremePointSegmenter().segment(img, corners).shape == shape
    assert RegionGrower().grow(img, (w, h)).any()


def test_bad_parameters_and_images_are_refused() -> None:
    pts = [(1, 1), (20, 2), (3, 30), (40, 3)]
    with pytest.raises(ValueError, match="iterations"):
        ExtremePointSegmenter(iterations=0).segment(np.zeros((50, 50, 3), np.uint8), pts)
    with pytest.raises(ValueError, match="shape"):
        ExtremePointSegmenter().segment(np.zeros((50, 50, 2), np.uint8), pts)


def test_a_click_grows_over_the_object_of_its_colour() -> None:
    values = []
    for seed in range(6):
        sc = scene(seed, 384)
        dist = cv2.distanceTransform(sc.mask.astype(np.uint8), cv2.DIST_L2, 5)
        y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
        region = RegionGrower().grow(sc.image, (x + 0.5, y + 0.5))
        assert region[y, x]
        # The region never spills far over the background.
        assert (region & ~sc.mask).sum() <= 0.1 * sc.mask.sum(), sc.name
        values.append(iou(region, sc.mask))
    assert np.mean(values) >= 0.6


def test_a_larger_tolerance_grows_a_larger_region() -> None:
    sc = scene(4, 256)
    ys, xs = np.nonzero(sc.mask)
    seed = (float(np.median(xs)), float(np.median(ys)))
    small = RegionGrower(tolerance=5).grow(sc.image, seed)
    large = RegionGrower(tolerance=60).grow(sc.image, seed)
    assert small.sum() < large.sum()
    with pytest.raises(ValueError, match=r"seed\[0\]"):
        RegionGrower().grow(sc.image, (-1, 3))
    with pytest.raises(ValueError, match="tolerance"):
        RegionGrower(tolerance=-1).grow(sc.image, seed)


def test_polygons_trace_the_mask() -> None:
    mask = np.zeros((100, 120), bool)
    mask[10:40, 20:70] = True
    cv2.circle(mask.view(np.uint8), (90, 75), 15, 1, -1)
    mask[0, 0] = True  # a one-pixel speck is left out
    polys = mask_to_polygons(mask)
    assert len(polys) == 2
    back = np.zeros(mask.shape, bool)
    for poly in polys:
        # Pixel centres inside the polygon (scikit-image puts centres at integers).
        rr, cc = draw.polygon([y - 0.5 for _, y in poly], [x - 0.5 for x, _ in poly], mask.shape)
        back[rr, cc] = True
    speckless = mask.copy()
    speckless[0, 0] = False
    assert iou(back, speckless) >= 0.97
    exact = mask_to_polygons(speckless, tolerance=0.01)
    back[:] = False
    for poly in exact:
        rr, cc = draw.polygon([y - 0.5 for _, y in poly], [x - 0.5 for x, _ in poly], mask.shape)
        back[rr, cc] = True
    assert np.array_equal(back, speckless)
    xs = [x for x, _ in polys[0]]
    assert min(xs) == pytest.approx(20, abs=0.5) and max(xs) == pytest.approx(70, abs=0.5)
    many = mask_to_polygons(mask, max_vertices=4)
    assert all(len(p) <= 4 for p in many)
