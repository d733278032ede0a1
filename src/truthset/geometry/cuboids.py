"""9-DoF cuboids in Ground Truth's convention: corners, points inside, fitting to points,
ground, IoU, interpolation and projection into camera images.

The convention (Ground Truth's developer guide, 3D point cloud output): a right-handed
frame in metres, +z up; angles in radians; the rotation applies roll about x first, then
pitch about y, then yaw about z, all about the fixed axes, so ``R = Rz(yaw) Ry(pitch)
Rx(roll)`` and a point of the cuboid's own frame ``q`` lies at ``centre + R q`` in the
cloud. In its own frame the ``length`` runs along x, the ``width`` along y and the
``height`` along z: yaw 0 puts the length along +x. (Ground Truth changed its yaw on
2 Sep 2022, old yaw = pi - new yaw; this is the new one.)

A cuboid is a float array of nine: centre x, y, z, length, width, height, roll, pitch,
yaw (:data:`KEYS` are Ground Truth's names, :func:`from_json` / :func:`to_json` convert).
The browser's tools/pc-*.js modules compute corners and projections the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

KEYS = ("center-x", "center-y", "center-z", "length", "width", "height", "roll", "pitch", "yaw")
# Below this a roll or pitch is treated as zero (the yaw-only IoU is exact and fast).
FLAT_ANGLE = 1e-6
# An object's lowest points this far above the ground cleared away still stand on it.
STANDING_GAP = 0.2
# Corner signs in the cuboid's own frame, in units of half the size: bottom ring (z-)
# 0-3 then the top ring 4-7, each (+l +w), (+l -w), (-l -w), (-l +w).
_CORNER_SIGNS = np.array(
    [
        [1, 1, -1],
        [1, -1, -1],
        [-1, -1, -1],
        [-1, 1, -1],
        [1, 1, 1],
        [1, -1, 1],
        [-1, -1, 1],
        [-1, 1, 1],
    ],
    dtype=np.float64,
)


def from_json(obj: Mapping[str, Any]) -> np.ndarray:
    """The nine numbers of a cuboid given with Ground Truth's keys (roll/pitch 0 when
    absent)."""
    return np.array([float(obj.get(k, 0.0)) for k in KEYS], dtype=np.float64)


def to_json(c: Sequence[float] | np.ndarray, decimals: int | None = None) -> dict[str, float]:
    values = [float(v) for v in c]
    if decimals is not None:
        values = [round(v, decimals) for v in values]
    return dict(zip(KEYS, values, strict=True))


def wrap_angle(a: float | np.ndarray) -> Any:
    """An angle in [-pi, pi)."""
    return (np.asarray(a) + math.pi) % (2 * math.pi) - math.pi


def rotation_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """``Rz(yaw) @ Ry(pitch) @ Rx(roll)``: the cuboid's own axes in the cloud's frame."""
    cr, sr = math.cos(roll), math.sin(roll)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


def quaternion_matrix(q: Sequence[float]) -> np.ndarray:
    """The rotation of a unit quaternion ``(qx, qy, qz, qw)``."""
    x, y, z, w = (float(v) for v in q)
    n = math.sqrt(x * x + y * y + z * z + w * w) or 1.0
    x, y, z, w = x / n, y / n, z / n, w / n
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _rotation(c: np.ndarray) -> np.ndarray:
    return rotation_matrix(float(c[6]), float(c[7]), float(c[8]))


def corners(c: Sequence[float] | np.ndarray) -> np.ndarray:
    """The 8 corners (8, 3) in the cloud's frame, in the order of ``_CORNER_SIGNS``."""
    c = np.asarray(c, dtype=np.float64)
    local = _CORNER_SIGNS * (c[3:6] / 2.0)
    return local @ _rotation(c).T + c[:3]


def to_local(points: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Points (N, 3) in the cuboid's own frame (origin at its centre)."""
    d = np.asarray(points, dtype=np.float64)[:, :3] - c[:3]
    rot = _rotation(c)
    # Column by column rather than `d @ rot`: a (N, 3) x (3, 3) product goes to BLAS,
    # whose threads cost more than the sums on a loaded 2-core machine (100x here).
    return np.stack(
        [d[:, 0] * rot[0, j] + d[:, 1] * rot[1, j] + d[:, 2] * rot[2, j] for j in range(3)], axis=1
    )


def points_inside(
    points: np.ndarray, c: Sequence[float] | np.ndarray, margin: float = 0.0
) -> np.ndarray:
    """A boolean mask of the points (N, >=3) inside the cuboid grown by ``margin`` metres
    on every side."""
    c = np.asarray(c, dtype=np.float64)
    pts = np.asarray(points)
    out = np.zeros(len(pts), dtype=bool)
    if len(pts) == 0:
        return out
    half = c[3:6] / 2.0 + margin
    # Only points inside the cuboid's axis-aligned bounding box are turned into its frame:
    # a cuboid holds a few thousand of a sweep's 120,000 points.
    extent = np.abs(_rotation(c)) @ half
    near = np.ones(len(pts), dtype=bool)
    for axis in range(3):
        if extent[axis] < 1e8:  # a column (any height) is not bounded along z
            near &= np.abs(pts[:, axis] - c[axis]) <= extent[axis]
    candidates = np.flatnonzero(near)
    if candidates.size:
        local = to_local(pts[candidates], c)
        out[candidates] = np.all(np.abs(local) <= half, axis=1)
    return out


# -- ground -----------------------------------------------------------------------------------


def ground_plane(
    points: np.ndarray,
    *,
    threshold: float = 0.08,
    max_tilt: float = math.radians(15),
    iterations: int = 200,
    seed: int = 0,
    min_inliers: int = 10,
) -> tuple[np.ndarray, float] | None:
    """RANSAC plane ``n . p + d = 0`` (``n`` unit, n_z > 0) tilted at most ``max_tilt``
    from horizontal with the most points within ``threshold``; least-squares refined on
    them. None when fewer than ``min_inliers`` points fit any such plane."""
    xyz = np.asarray(points, dtype=np.float64)[:, :3]
    if len(xyz) < 3:
        return None
    rng = np.random.default_rng(seed)
    cos_tilt = math.cos(max_tilt)
    # All candidate planes at once: three distinct points each (a repeated index gives a
    # zero normal, dropped with the other degenerate samples).
    picks = xyz[rng.integers(0, len(xyz), (iterations, 3))]
    normals = np.cross(picks[:, 1] - picks[:, 0], picks[:, 2] - picks[:, 0])
    norms = np.linalg.norm(normals, axis=1)
    ok = norms > 1e-9
    normals = normals[ok] / norms[ok, None]
    normals *= np.where(normals[:, 2] < 0, -1.0, 1.0)[:, None]
    flat = normals[:, 2] >= cos_tilt
    normals, anchors = normals[flat], picks[ok][flat, 0]
    if len(normals) == 0:
        return None
    offsets = -np.einsum("ij,ij->i", normals, anchors)
    # (points, planes), summed by hand rather than through BLAS (see to_local)
    distances = np.abs(
        xyz[:, :1] * normals[:, 0]
        + xyz[:, 1:2] * normals[:, 1]
        + xyz[:, 2:3] * normals[:, 2]
        + offsets
    )
    counts = np.count_nonzero(distances <= threshold, axis=0)
    best = int(np.argmax(counts))  # the first of equal counts: deterministic under a seed
    if counts[best] < min_inliers:
        return None
    normal, d = normals[best], float(offsets[best])
    inliers = xyz[np.abs(xyz @ normal + d) <= threshold]
    centroid = inliers.mean(axis=0)
    _, _, vt = np.linalg.svd(inliers - centroid, full_matrices=False)
    refined = vt[-1] if vt[-1][2] > 0 else -vt[-1]
    if refined[2] >= cos_tilt:
        normal = refined
    return normal, -float(normal @ centroid)


def ground_height(plane: tuple[np.ndarray, float], x: float, y: float) -> float:
    normal, d = plane
    return float(-(d + normal[0] * x + normal[1] * y) / normal[2])


def _column(points: np.ndarray, c: np.ndarray, grow: float) -> np.ndarray:
    """Whether each point's ground projection is within the footprint grown by ``grow``
    (at any height)."""
    grown = c.copy()
    grown[3:5] += 2 * grow
    grown[5] = 1e9
    return points_inside(points, grown)


def ground_around(
    points: np.ndarray, c: np.ndarray, *, reach: float = 2.0, keep_out: float = 0.3
) -> tuple[tuple[np.ndarray, float] | None, np.ndarray]:
    """The ground plane around a cuboid, from the ring of points within ``reach`` of its
    footprint but outside it (grown by ``keep_out``): the object's own points, its roof
    above all, are never taken for the ground. The whole neighbourhood when the ring is
    nearly empty. Returns the plane (None when none fits) and the points used."""
    pts = np.asarray(points)
    near = _column(pts, c, reach)
    ring = near & ~_column(pts, c, keep_out)
    used = pts[ring] if np.count_nonzero(ring) >= 20 else pts[near]
    return ground_plane(used), used


def snap_to_ground(
    points: np.ndarray, c: Sequence[float] | np.ndarray, *, reach: float = 2.0
) -> np.ndarray:
    """The cuboid moved up or down so that its bottom lies on the ground under its centre:
    a RANSAC ground plane of the points around it (:func:`ground_around`), else the lowest
    of them (their 2nd percentile). ValueError when no point lies around it."""
    c = np.asarray(c, dtype=np.float64).copy()
    plane, near = ground_around(points, c, reach=reach)
    if len(near) == 0:
        raise ValueError("no points around the cuboid to find the ground")
    ground = (
        ground_height(plane, c[0], c[1])
        if plane is not None
        else float(np.percentile(near[:, 2], 2))
    )
    c[2] = ground + c[5] / 2.0
    return c


# -- fitting ----------------------------------------------------------------------------------


def min_area_rectangle(xy: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """The smallest-area rectangle around 2-D points: (centre, angle of its first side,
    that side's length, the other side's length), by rotating calipers over the convex
    hull's edges."""
    from scipy.spatial import ConvexHull, QhullError

    pts = np.asarray(xy, dtype=np.float64)
    try:
        hull = pts[ConvexHull(pts).vertices]
    except (QhullError, ValueError):
        hull = pts  # collinear or too few points: every edge direction is tried below
    edges = np.diff(np.vstack([hull, hull[:1]]), axis=0)
    angles = np.unique(np.mod(np.arctan2(edges[:, 1], edges[:, 0]), math.pi / 2))
    if angles.size == 0:
        angles = np.array([0.0])
    best: tuple[float, float, np.ndarray, float, float] | None = None
    for angle in angles:
        ca, sa = math.cos(angle), math.sin(angle)
        rot = np.array([[ca, sa], [-sa, ca]])  # into the rectangle's frame
        local = pts @ rot.T
        lo, hi = local.min(axis=0), local.max(axis=0)
        area = float(np.prod(hi - lo))
        if best is None or area < best[0] - 1e-12:
            centre = ((lo + hi) / 2.0) @ rot
            best = (area, float(angle), centre, float(hi[0] - lo[0]), float(hi[1] - lo[1]))
    assert best is not None
    _, angle, centre, side_a, side_b = best
    return centre, angle, side_a, side_b


def _closest_orientation(
    angle: float, side_a: float, side_b: float, prior_yaw: float
) -> tuple[float, float, float]:
    """Of the rectangle's four headings (angle + k pi/2), the one closest to the prior
    yaw, with its (length, width)."""
    best: tuple[float, float, float, float] | None = None
    for k in range(4):
        yaw = float(wrap_angle(angle + k * math.pi / 2))
        length, width = (side_a, side_b) if k % 2 == 0 else (side_b, side_a)
        gap = abs(float(wrap_angle(yaw - prior_yaw)))
        if best is None or gap < best[0] - 1e-9:
            best = (gap, yaw, length, width)
    assert best is not None
    return best[1], best[2], best[3]


def object_points(
    points: np.ndarray,
    c: Sequence[float] | np.ndarray,
    *,
    margin: float = 0.5,
    ground_clearance: float = 0.15,
) -> tuple[np.ndarray, tuple[np.ndarray, float] | None]:
    """The points a fit uses: inside the cuboid grown by ``margin``, without the ground
    (those within ``ground_clearance`` of the ground plane around it, see
    :func:`ground_around`); and
    that plane (None when none was found)."""
    c = np.asarray(c, dtype=np.float64)
    pts = np.asarray(points, dtype=np.float64)[:, :3]
    inside = pts[points_inside(pts, c, margin)]
    if len(inside) == 0:
        return inside, None
    plane, _ = ground_around(pts, c, reach=max(margin, 1.0) + 1.0, keep_out=margin)
    if plane is not None:
        normal, d = plane
        inside = inside[inside @ normal + d > ground_clearance]
    return inside, plane


def fit_to_points(
    points: np.ndarray,
    c: Sequence[float] | np.ndarray,
    *,
    margin: float = 0.5,
    estimate_yaw: bool = False,
    ground_clearance: float = 0.15,
    min_points: int = 3,
) -> tuple[np.ndarray, int]:
    """The cuboid tightened to the object's points near it, and how many it used.

    The points inside the cuboid grown by ``margin`` metres (the ground left out, see
    :func:`object_points`) give the new extent along the cuboid's own axes (roll, pitch
    and yaw kept), or with ``estimate_yaw`` the minimum-area rectangle of their ground
    projection gives the yaw and footprint (the heading closest to the current yaw; roll
    and pitch set to 0) and their heights the vertical extent. ValueError with fewer
    than ``min_points`` points. An upright cuboid whose points end within
    ``ground_clearance`` + :data:`STANDING_GAP` of the ground reaches down to it.
    """
    c = np.asarray(c, dtype=np.float64)
    used, plane = object_points(points, c, margin=margin, ground_clearance=ground_clearance)
    if len(used) < min_points:
        raise ValueError(
            f"{len(used)} points inside the cuboid (grown by {margin} m, ground left out);"
            f" a fit needs at least {min_points}"
        )
    out = c.copy()
    if estimate_yaw:
        centre, angle, side_a, side_b = min_area_rectangle(used[:, :2])
        yaw, length, width = _closest_orientation(angle, side_a, side_b, float(c[8]))
        low, high = float(used[:, 2].min()), float(used[:, 2].max())
        out[:] = [centre[0], centre[1], (low + high) / 2, length, width, high - low, 0.0, 0.0, yaw]
    else:
        local = to_local(used, c)
        lo, hi = local.min(axis=0), local.max(axis=0)
        out[:3] = c[:3] + _rotation(c) @ ((lo + hi) / 2.0)
        out[3:6] = hi - lo
    if plane is not None and is_flat(out):
        # An object standing on the ground lost its lowest points with the ground: its
        # bottom goes down to the ground again (not for one floating above it).
        ground = ground_height(plane, float(out[0]), float(out[1]))
        low, high = out[2] - out[5] / 2, out[2] + out[5] / 2
        if low - ground <= ground_clearance + STANDING_GAP:
            out[2], out[5] = (ground + high) / 2, high - ground
    # A flat or one-point object still gets a cuboid a worker can see and grab.
    out[3:6] = np.maximum(out[3:6], 0.05)
    return out, len(used)


# -- overlap ----------------------------------------------------------------------------------


Polygon = list[tuple[float, float]]


def _footprint(c: np.ndarray) -> Polygon:
    """The ground projection (counter-clockwise convex polygon) of the cuboid. Plain
    floats: a matcher asks for thousands of these, and numpy's cost on four points is
    mostly its call overhead."""
    if is_flat(c):
        x, y, length, width, yaw = (float(c[i]) for i in (0, 1, 3, 4, 8))
        cy, sy = math.cos(yaw), math.sin(yaw)
        out = []
        for sl, sw in ((-1, -1), (1, -1), (1, 1), (-1, 1)):  # counter-clockwise
            u, v = sl * length / 2, sw * width / 2
            out.append((x + cy * u - sy * v, y + sy * u + cy * v))
        return out
    from scipy.spatial import ConvexHull

    xy = corners(c)[:, :2]
    return [(float(px), float(py)) for px, py in xy[ConvexHull(xy).vertices]]


def is_flat(c: np.ndarray) -> bool:
    return abs(float(c[6])) < FLAT_ANGLE and abs(float(c[7])) < FLAT_ANGLE


def polygon_area(poly: Sequence[Sequence[float]] | np.ndarray) -> float:
    n = len(poly)
    if n < 3:
        return 0.0
    twice = 0.0
    for i in range(n):
        x0, y0 = poly[i - 1]
        x1, y1 = poly[i]
        twice += x0 * y1 - x1 * y0
    return 0.5 * abs(float(twice))


def clip_convex(
    subject: Sequence[Sequence[float]] | np.ndarray, clip: Sequence[Sequence[float]] | np.ndarray
) -> Polygon:
    """Sutherland-Hodgman: the part of a convex polygon inside another (both
    counter-clockwise)."""
    out: Polygon = [(float(p[0]), float(p[1])) for p in subject]
    edges = [(float(p[0]), float(p[1])) for p in clip]
    for i in range(len(edges)):
        if not out:
            break
        ax, ay = edges[i]
        bx, by = edges[(i + 1) % len(edges)]
        ex, ey = bx - ax, by - ay
        src, out = out, []
        sides = [ex * (py - ay) - ey * (px - ax) for px, py in src]
        for j, cur in enumerate(src):
            prev, prev_side, side = src[j - 1], sides[j - 1], sides[j]
            if side >= -1e-12:
                if prev_side < -1e-12:
                    out.append(_cross_point(prev, cur, prev_side, side))
                out.append(cur)
            elif prev_side >= -1e-12:
                out.append(_cross_point(prev, cur, prev_side, side))
    return out


def _cross_point(
    p: tuple[float, float], q: tuple[float, float], side_p: float, side_q: float
) -> tuple[float, float]:
    """Where the segment p-q crosses the clip edge, from the signed distances' ratio."""
    denom = side_p - side_q
    if abs(denom) < 1e-15:
        return q
    t = side_p / denom
    return p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])


def bev_iou(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """IoU of the two cuboids' ground projections (bird's-eye view)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    pa, pb = _footprint(a), _footprint(b)
    inter = polygon_area(clip_convex(pa, pb))
    union = polygon_area(pa) + polygon_area(pb) - inter
    return inter / union if union > 0 else 0.0


def volume(c: np.ndarray) -> float:
    return float(c[3]) * float(c[4]) * float(c[5])


def iou_3d(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Volume IoU of two oriented cuboids, exact: for yaw-only cuboids the footprints'
    intersection (polygon clipping) times the height overlap; with any roll or pitch the
    intersection of the two convex solids as the convex hull of their 12 half-spaces'
    intersection (scipy's HalfspaceIntersection from an interior point found by linear
    programming)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    va, vb = volume(a), volume(b)
    if va <= 0 or vb <= 0:
        return 0.0
    if is_flat(a) and is_flat(b):
        inter_area = polygon_area(clip_convex(_footprint(a), _footprint(b)))
        lo = max(a[2] - a[5] / 2, b[2] - b[5] / 2)
        hi = min(a[2] + a[5] / 2, b[2] + b[5] / 2)
        inter = inter_area * max(0.0, hi - lo)
    else:
        inter = _solid_intersection(a, b)
    union = va + vb - inter
    return float(inter / union) if union > 0 else 0.0


def _halfspaces(c: np.ndarray) -> np.ndarray:
    """Rows ``[n, d]`` with ``n . p + d <= 0`` inside the cuboid."""
    rot = _rotation(c)
    rows = []
    for axis in range(3):
        n = rot[:, axis]
        half = c[3 + axis] / 2.0
        rows.append([*n, -(float(n @ c[:3]) + half)])
        rows.append([*(-n), float(n @ c[:3]) - half])
    return np.array(rows)


def _solid_intersection(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.optimize import linprog
    from scipy.spatial import ConvexHull, HalfspaceIntersection, QhullError

    spaces = np.vstack([_halfspaces(a), _halfspaces(b)])
    norms = np.linalg.norm(spaces[:, :3], axis=1)
    # The Chebyshev centre: the point deepest inside both (radius r maximised).
    res = linprog(
        c=[0, 0, 0, -1],
        A_ub=np.hstack([spaces[:, :3], norms[:, None]]),
        b_ub=-spaces[:, 3],
        bounds=[(None, None)] * 3 + [(0, None)],
        method="highs",
    )
    if not res.success or res.x[3] <= 1e-9:
        return 0.0
    try:
        vertices = HalfspaceIntersection(spaces, res.x[:3]).intersections
        return float(ConvexHull(vertices).volume)
    except (QhullError, ValueError):
        return 0.0


# -- interpolation --------------------------------------------------------------------------


def interpolate(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, t: float | np.ndarray
) -> np.ndarray:
    """Cuboids a fraction ``t`` of the way from ``a`` to ``b``: centre and size linear,
    each angle along the shorter arc. ``t`` a number gives (9,), an array (len(t), 9)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ts = np.atleast_1d(np.asarray(t, dtype=np.float64))[:, None]
    delta = b - a
    delta[6:9] = wrap_angle(delta[6:9])
    out = a + ts * delta
    out[:, 6:9] = wrap_angle(out[:, 6:9])
    return out[0] if np.ndim(t) == 0 else out


def blend_json(a: Mapping[str, Any], b: Mapping[str, Any], t: np.ndarray) -> list[dict[str, float]]:
    """:func:`interpolate` over Ground Truth keyed cuboids (geometry/tracks' Blend)."""
    return [to_json(row) for row in interpolate(from_json(a), from_json(b), np.asarray(t))]


# -- cameras ------------------------------------------------------------------------------------


def camera_points(
    points: np.ndarray,
    camera: Mapping[str, Any],
    ego_pose: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """Points (N, 3) in the camera's frame (x right, y down, z along the optical axis).

    ``camera["position"]`` / ``["heading"]`` are the camera's pose in the cloud's frame
    (Ground Truth's sensor fusion: camera extrinsics in world coordinates, the heading
    rotating camera axes into the world). Points are in that frame too, unless
    ``ego_pose`` is given: then they are in the vehicle's frame and the pose moves them
    into the world first.
    """
    pts = np.asarray(points, dtype=np.float64)[:, :3]
    if ego_pose is not None:
        pts = _pose_apply(ego_pose, pts)
    position = np.array([float(camera["position"][k]) for k in ("x", "y", "z")])
    rot = quaternion_matrix([camera["heading"][k] for k in ("qx", "qy", "qz", "qw")])
    return (pts - position) @ rot


def _pose_apply(pose: Mapping[str, Any], pts: np.ndarray) -> np.ndarray:
    position = np.array([float(pose["position"][k]) for k in ("x", "y", "z")])
    rot = quaternion_matrix([pose["heading"][k] for k in ("qx", "qy", "qz", "qw")])
    return pts @ rot.T + position


def distort(
    xn: np.ndarray, yn: np.ndarray, camera: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised image coordinates (X/Z, Y/Z) through the lens model.

    ``pinhole``: Brown-Conrady, radial ``1 + k1 r^2 + k2 r^4 + k3 r^6 + k4 r^8`` and
    tangential ``p1``, ``p2`` (OpenCV's order). ``fisheye``: Kannala-Brandt (OpenCV's
    fisheye model), ``theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8)``
    with ``theta = atan(r)``."""
    k1, k2, k3, k4, p1, p2 = (
        float(camera.get(k, 0.0) or 0.0) for k in ("k1", "k2", "k3", "k4", "p1", "p2")
    )
    r2 = xn * xn + yn * yn
    if camera.get("camera-model", "pinhole") == "fisheye":
        r = np.sqrt(r2)
        theta = np.arctan(r)
        t2 = theta * theta
        theta_d = theta * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))
        scale = np.where(r > 1e-12, theta_d / np.where(r > 1e-12, r, 1.0), 1.0)
        return xn * scale, yn * scale
    radial = 1 + r2 * (k1 + r2 * (k2 + r2 * (k3 + r2 * k4)))
    xd = xn * radial + 2 * p1 * xn * yn + p2 * (r2 + 2 * xn * xn)
    yd = yn * radial + p1 * (r2 + 2 * yn * yn) + 2 * p2 * xn * yn
    return xd, yd


def project(
    points: np.ndarray,
    camera: Mapping[str, Any],
    ego_pose: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (N, 2) of the points in the camera image, and their depth along the optical
    axis (N,); a point with depth <= 0 is behind the camera (its pixel is meaningless).
    ``u = fx x_d + skew y_d + cx``, ``v = fy y_d + cy``."""
    cam = camera_points(points, camera, ego_pose)
    depth = cam[:, 2]
    safe = np.where(np.abs(depth) > 1e-9, depth, 1e-9)
    xd, yd = distort(cam[:, 0] / safe, cam[:, 1] / safe, camera)
    fx, fy, cx, cy = (float(camera[k]) for k in ("fx", "fy", "cx", "cy"))
    skew = float(camera.get("skew", 0.0) or 0.0)
    uv = np.stack([fx * xd + skew * yd + cx, fy * yd + cy], axis=1)
    return uv, depth


def project_cuboid(
    c: Sequence[float] | np.ndarray,
    camera: Mapping[str, Any],
    ego_pose: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The cuboid's 8 corners in the image (8, 2) and their depths (8,)."""
    return project(corners(c), camera, ego_pose)


def image_box(
    c: Sequence[float] | np.ndarray,
    camera: Mapping[str, Any],
    *,
    width: float | None = None,
    height: float | None = None,
    ego_pose: Mapping[str, Any] | None = None,
) -> tuple[float, float, float, float] | None:
    """(left, top, right, bottom) around the projected corners in front of the camera,
    clipped to the image when its size is given; None when no corner is in front (or
    the box falls outside the image)."""
    uv, depth = project_cuboid(c, camera, ego_pose)
    front = uv[depth > 1e-6]
    if len(front) == 0:
        return None
    left, top = front.min(axis=0)
    right, bottom = front.max(axis=0)
    if width is not None and height is not None:
        left, right = max(0.0, left), min(float(width) - 1, right)
        top, bottom = max(0.0, top), min(float(height) - 1, bottom)
        if right <= left or bottom <= top:
            return None
    return float(left), float(top), float(right), float(bottom)
