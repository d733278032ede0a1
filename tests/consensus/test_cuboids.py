"""Cuboids, cuboid tracks and point labels of several workers consolidated against known
truth (issue 14)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pointcloud_scenes import CAR, PERSON, VAN
from truthset.consensus.spatial.cuboids import (
    CuboidConsolidator,
    CuboidTrackConsolidator,
    PointLabelConsolidator,
    TrackInput,
    combine_cuboids,
    cuboid_similarity,
)
from truthset.geometry.cuboids import iou_3d


def noisy(c, rng, scale=0.1):
    out = np.asarray(c, dtype=float).copy()
    out[:3] += rng.normal(0, scale, 3)
    out[3:6] *= 1 + rng.normal(0, scale / 3, 3)
    out[8] += rng.normal(0, scale / 2)
    return out


def test_circular_mean_of_angles():
    a = np.array([0, 0, 0, 1, 1, 1, 0, 0, math.pi - 0.1])
    b = a.copy()
    b[8] = -math.pi + 0.1
    mean = combine_cuboids(np.array([a, b]), np.array([1.0, 1.0]))
    assert abs(abs(mean[8]) - math.pi) < 1e-9  # not 0: the short way round
    weighted = combine_cuboids(np.array([a, b]), np.array([3.0, 1.0]))
    assert weighted[8] > 0


def test_three_workers_agree_on_the_truth():
    rng = np.random.default_rng(0)
    workers = [
        [("Car", noisy(CAR, rng)), ("Van", noisy(VAN, rng)), ("Person", noisy(PERSON, rng, 0.03))]
        for _ in range(3)
    ]
    workers[2].append(("Car", noisy(CAR + [15, 0, 0, 0, 0, 0, 0, 0, 0], rng)))  # one stray
    fitted = CuboidConsolidator().fit(workers, [1.0, 1.0, 1.0])
    got = {r.label: r for r in fitted.cuboids_}
    assert len(fitted.cuboids_) == 3  # the stray car has one worker's support: dropped
    for label, truth in (("Car", CAR), ("Van", VAN), ("Person", PERSON)):
        assert iou_3d(got[label].cuboid, truth) > 0.75
        assert 0.5 < got[label].confidence <= 1
        assert sorted(w for w, _ in got[label].members) == [0, 1, 2]
    # The better a worker, the more the result follows them.
    skilled = (
        CuboidConsolidator()
        .fit([[("Car", CAR)], [("Car", CAR + [0.6, 0, 0, 0, 0, 0, 0, 0, 0])]], [1.0, 0.1])
        .cuboids_[0]
    )
    assert skilled.cuboid[0] == pytest.approx(CAR[0] + 0.6 * 0.1 / 1.1)


def test_flat_cuboids_match_by_birds_eye_view():
    sign = np.array([0, 0, 2, 1, 0.02, 0.01, 0, 0, 0])
    moved = sign.copy()
    moved[2] += 0.05  # no volume overlap at all, the same footprint
    assert iou_3d(sign, moved) == 0
    assert cuboid_similarity(sign, moved) == pytest.approx(1.0)
    fitted = CuboidConsolidator().fit([[("Sign", sign)], [("Sign", moved)]], [1, 1])
    assert len(fitted.cuboids_) == 1


def test_min_support_and_labels_kept_apart():
    workers = [[("Car", CAR)], [("Van", CAR)], [("Car", CAR)]]
    fitted = CuboidConsolidator().fit(workers, [1, 1, 1])
    assert [r.label for r in fitted.cuboids_] == ["Car"]
    everyone = CuboidConsolidator(min_support=1).fit(workers, [1, 1, 1])
    assert sorted(r.label for r in everyone.cuboids_) == ["Car", "Van"]
    with pytest.raises(ValueError):
        CuboidConsolidator().fit([], [])


def test_tracks_matched_over_shared_frames():
    rng = np.random.default_rng(5)
    frames = 20

    def track(c0, step, start=0, stop=frames):
        return {
            f: noisy(c0 + np.r_[step * f, 0, 0, 0, 0, 0, 0, 0, 0], rng, 0.05)
            for f in range(start, stop)
        }

    workers = [
        [TrackInput("Car", track(CAR, 0.5)), TrackInput("Person", track(PERSON, 0.0))],
        [TrackInput("Car", track(CAR, 0.5, 2)), TrackInput("Person", track(PERSON, 0.0))],
        [TrackInput("Car", track(CAR, 0.5, 0, 15))],
    ]
    fitted = CuboidTrackConsolidator().fit(workers, [1, 1, 1])
    by_label = {t.label: t for t in fitted.tracks_}
    car = by_label["Car"]
    assert sorted(car.frames) == list(range(frames))  # most of the members on every frame
    for f, cube in car.frames.items():
        assert iou_3d(cube, CAR + np.r_[0.5 * f, 0, 0, 0, 0, 0, 0, 0, 0]) > 0.7
    assert 0.6 < car.confidence <= 1
    # Two of the three workers tracked the person: kept, with a lower confidence.
    person = by_label["Person"]
    assert person.confidence < car.confidence


def test_point_vote():
    a = np.array([0, 1, 1, 2, 2, 0], dtype=np.uint8)
    b = np.array([0, 1, 2, 2, 2, 1], dtype=np.uint8)
    c = np.array([1, 1, 1, 2, 0, 2], dtype=np.uint8)
    fitted = PointLabelConsolidator(n_classes=2).fit([a, b, c], [1, 1, 1])
    assert fitted.labels_.tolist() == [0, 1, 1, 2, 2, 0]  # last point: a three-way tie
    assert fitted.class_confidence_[1] == pytest.approx((1 + 2 / 3) / 2, abs=1e-4)
    weighted = PointLabelConsolidator(n_classes=2).fit([a, b, c], [0.2, 0.2, 1.0])
    assert weighted.labels_.tolist() == c.tolist()
    with pytest.raises(ValueError, match="same 6 points"):
        PointLabelConsolidator(n_classes=2).fit([a, a[:3]], [1, 1])
