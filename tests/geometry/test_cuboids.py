"""Cuboid maths against known truth: generated scenes with known cuboids, IoU against
volumes computed by hand and by sampling, projections against a hand-made camera
(issue 14)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pointcloud_scenes import CAR, PERSON, VAN, camera, scene
from truthset.geometry import cuboids as C
from truthset.geometry.tracks import expand_keyframes


def test_rotation_order_and_corners():
    # Ground Truth's order: roll about x, then pitch about y, then yaw about z (fixed axes).
    roll, pitch, yaw = 0.3, -0.2, 1.1

    def axis(k, a):
        c, s = math.cos(a), math.sin(a)
        m = np.eye(3)
        i, j = [(1, 2), (2, 0), (0, 1)][k]
        m[i, i] = m[j, j] = c
        m[i, j], m[j, i] = -s, s
        return m

    np.testing.assert_allclose(
        C.rotation_matrix(roll, pitch, yaw), axis(2, yaw) @ axis(1, pitch) @ axis(0, roll)
    )
    # yaw pi/2: the length runs along +y.
    c = np.array([1, 2, 3, 4, 2, 1, 0, 0, math.pi / 2])
    corners = C.corners(c)
    assert corners.shape == (8, 3)
    np.testing.assert_allclose(corners[0], [1 - 1, 2 + 2, 2.5], atol=1e-12)  # (+l, +w, -h)
    np.testing.assert_allclose(corners.mean(axis=0), c[:3])
    assert np.ptp(corners[:, 1]) == pytest.approx(4) and np.ptp(corners[:, 0]) == pytest.approx(2)


def test_points_inside():
    c = np.array([0, 0, 0, 4, 2, 2, 0, 0, math.pi / 4])
    pts = np.array([[0, 0, 0], [1.4, 1.4, 0], [1.5, -1.5, 0], [0, 0, 1.1]])
    assert C.points_inside(pts, c).tolist() == [True, True, False, False]
    assert C.points_inside(pts, c, margin=0.2).tolist() == [True, True, False, True]


def test_iou_yaw_only_is_exact():
    a = np.array([0, 0, 0, 2, 2, 2, 0, 0, 0.0])
    b = a.copy()
    b[0], b[2] = 1, 1  # half the footprint, half the height
    inter = 2 * 1 * 1
    assert C.iou_3d(a, b) == pytest.approx(inter / (16 - inter))
    assert C.bev_iou(a, b) == pytest.approx(2 / 6)
    turned = a.copy()
    turned[8] = math.pi / 4  # a square turned 45 degrees inside-out: octagon overlap
    octagon = 8 * (math.sqrt(2) - 1)
    assert C.iou_3d(a, turned) == pytest.approx(octagon / (8 - octagon))
    far = a.copy()
    far[0] = 10
    assert C.iou_3d(a, far) == 0.0 and C.bev_iou(a, far) == 0.0


def test_iou_with_roll_and_pitch_matches_sampling():
    rng = np.random.default_rng(4)
    a = np.array([0, 0, 0, 3, 2, 1.5, 0.2, -0.3, 0.5])
    b = np.array([0.4, 0.3, 0.2, 2.5, 2.2, 1.4, -0.1, 0.25, 0.9])
    samples = rng.uniform(-3, 3, (400_000, 3))
    ina, inb = C.points_inside(samples, a), C.points_inside(samples, b)
    sampled = np.count_nonzero(ina & inb) / np.count_nonzero(ina | inb)
    assert C.iou_3d(a, b) == pytest.approx(sampled, abs=0.01)
    assert C.iou_3d(a, a) == pytest.approx(1.0)
    # A hair of roll takes the solid path and agrees with the exact yaw-only one.
    flat = np.array([0, 0, 0, 2, 2, 2, 0, 0, 0.0])
    shifted = flat.copy()
    shifted[0] = 1
    tilted = shifted.copy()
    tilted[6] = 1e-4
    assert C.iou_3d(flat, tilted) == pytest.approx(C.iou_3d(flat, shifted), abs=1e-3)


def test_fit_recovers_known_cuboids():
    truth = scene(seed=7)
    for c in truth.objects:
        guess = c.copy()
        guess[:3] += [0.35, -0.3, 0.3]
        guess[3:6] *= 1.25
        guess[8] += 0.2
        fitted, used = C.fit_to_points(truth.points, guess, estimate_yaw=True)
        assert used > 300
        # Within the points' noise (1 cm sigma: the extremes of 800 points lie ~3 cm out).
        np.testing.assert_allclose(fitted[:3], c[:3], atol=0.05)
        np.testing.assert_allclose(fitted[3:6], c[3:6], atol=0.1)
        assert abs(float(C.wrap_angle(fitted[8] - c[8]))) < 0.05
        assert C.iou_3d(fitted, c) > (0.9 if c[3] > 1 else 0.8)
        # Tightening keeps the yaw it is given: with the true yaw it finds the true box.
        tight, _ = C.fit_to_points(truth.points, np.r_[guess[:8], c[8]])
        np.testing.assert_allclose(tight[:6], c[:6], atol=0.1)
        assert tight[8] == pytest.approx(c[8])
    with pytest.raises(ValueError, match="0 points inside"):
        far = CAR.copy()
        far[:2] = [400, 400]
        C.fit_to_points(truth.points, far)


def test_ground_and_snap():
    truth = scene(seed=2)
    plane = C.ground_plane(truth.points)
    assert plane is not None
    normal, d = plane
    assert normal[2] > 0.999 and abs(d) < 0.01
    lifted = VAN.copy()
    lifted[2] += 1.7
    snapped = C.snap_to_ground(truth.points, lifted)
    assert snapped[2] == pytest.approx(VAN[2], abs=0.03)
    # A tilted ground: the bottom follows the plane under the centre.
    tilted = truth.points.copy()
    tilted[:, 2] += 0.05 * tilted[:, 0]
    snapped = C.snap_to_ground(tilted, lifted)
    assert snapped[2] - snapped[5] / 2 == pytest.approx(0.05 * lifted[0], abs=0.05)


def test_min_area_rectangle():
    rng = np.random.default_rng(0)
    local = rng.uniform(-0.5, 0.5, (500, 2)) * [4, 1.5]
    a = 0.7
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    centre, angle, sa, sb = C.min_area_rectangle(local @ rot.T + [3, -2])
    np.testing.assert_allclose(centre, [3, -2], atol=0.05)
    sides = sorted([sa, sb])
    assert sides == pytest.approx([1.5, 4], abs=0.05)
    assert min(abs(float(C.wrap_angle(angle - a - k * math.pi / 2))) for k in range(4)) < 0.02


def test_interpolation_takes_the_short_arc():
    a = np.array([0, 0, 0, 4, 2, 1.5, 0, 0, 3.0])
    b = np.array([10, 0, 0, 4, 2, 1.5, 0, 0, -3.0])
    mid = C.interpolate(a, b, 0.5)
    assert mid[0] == pytest.approx(5)
    assert abs(float(C.wrap_angle(mid[8] - math.pi))) < 1e-9  # through pi, not through 0
    steps = C.interpolate(a, b, np.array([0.25, 0.75]))
    assert steps.shape == (2, 9)
    keyframes = [
        {"frame": 0, "cuboid": C.to_json(a)},
        {"frame": 4, "cuboid": C.to_json(b)},
        {"frame": 6, "outside": True},
        {"frame": 8, "cuboid": C.to_json(a)},
    ]
    shapes = expand_keyframes(keyframes, key="cuboid", blend=C.blend_json)
    assert [s.frame for s in shapes] == [0, 1, 2, 3, 4, 8]
    assert shapes[2].geometry["center-x"] == pytest.approx(5)
    assert not shapes[2].keyframe and shapes[4].keyframe


def test_projection_pinhole_and_fisheye():
    cam = camera(position=(0, 0, 1.5))
    # A point 10 m ahead at the camera's height lands on the principal point.
    uv, depth = C.project(np.array([[10, 0, 1.5], [10, -1, 1.5], [10, 0, 0.5], [-5, 0, 1.5]]), cam)
    np.testing.assert_allclose(uv[0], [640, 360])
    assert uv[1][0] == pytest.approx(640 + 80)  # right of the camera is +u
    assert uv[2][1] == pytest.approx(360 + 80)  # below is +v
    assert depth[3] < 0  # behind
    distorted = camera(k1=0.1, p1=0.01, **{"skew": 2.0})
    xn, yn = 0.2, -0.1
    r2 = xn * xn + yn * yn
    radial = 1 + 0.1 * r2
    xd = xn * radial + 0.01 * 2 * xn * yn
    yd = yn * radial + 0.01 * (r2 + 2 * yn * yn)
    point = np.array([[10, -10 * xn, 1.5 - 10 * yn]])
    uv, _ = C.project(point, distorted)
    np.testing.assert_allclose(uv[0], [800 * xd + 2.0 * yd + 640, 800 * yd + 360])
    fisheye = camera(k1=0.05, **{"camera-model": "fisheye"})
    uv, _ = C.project(point, fisheye)
    theta = math.atan(math.sqrt(r2))
    scale = theta * (1 + 0.05 * theta**2) / math.sqrt(r2)
    np.testing.assert_allclose(uv[0], [800 * xn * scale + 640, 800 * yn * scale + 360])
    box = C.image_box(PERSON, camera(position=(-10, -6, 1.5)), width=1280, height=720)
    assert box is not None and box[0] < 640 < box[2] and box[1] < 360 < box[3]
    assert C.image_box(PERSON, camera(position=(10, -6, 1.5))) is None  # behind the camera
