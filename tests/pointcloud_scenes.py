"""Generated LiDAR-like scenes with known cuboids: a ground plane, walls and box-shaped
objects (their surfaces sampled), written with the real writers (.bin, .txt, .pcd through
pypcd4, .las through laspy). No public LiDAR data ships offline, so the tests check
fitting, IoU and consolidation against these."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from truthset.geometry import cuboids
from truthset.media.point_clouds import encode_binary

CAR = np.array([6.0, 2.0, 0.8, 4.2, 1.8, 1.6, 0.0, 0.0, 0.6])
VAN = np.array([-5.0, -4.0, 1.1, 5.5, 2.1, 2.2, 0.0, 0.0, -1.2])
PERSON = np.array([2.0, -6.0, 0.9, 0.6, 0.6, 1.8, 0.0, 0.0, 0.0])


@dataclass(frozen=True)
class Scene:
    points: np.ndarray  # (N, 4) float32
    objects: list[np.ndarray]  # the true cuboids
    labels: np.ndarray  # (N,) uint8: 0 ground / walls, k = objects[k-1]


def surface_points(c: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Points on the sides and top of a cuboid (a LiDAR sees no bottom)."""
    local = rng.uniform(-0.5, 0.5, (n, 3))
    axis = rng.choice([0, 1, 2], n, p=[0.4, 0.4, 0.2])
    sign = rng.choice([-0.5, 0.5], n)
    sign[axis == 2] = 0.5  # the top, not the bottom
    local[np.arange(n), axis] = sign
    local *= c[3:6]
    return local @ cuboids.rotation_matrix(*c[6:9]).T + c[:3]


def scene(
    objects: list[np.ndarray] | None = None,
    *,
    ground_points: int = 8000,
    per_object: int = 800,
    extent: float = 25.0,
    seed: int = 0,
    noise: float = 0.01,
) -> Scene:
    rng = np.random.default_rng(seed)
    objects = [CAR, VAN, PERSON] if objects is None else objects
    ground = np.c_[
        rng.uniform(-extent, extent, (ground_points, 2)), rng.normal(0, noise, ground_points)
    ]
    wall = np.c_[
        rng.uniform(-extent, extent, 1500),
        np.full(1500, extent),
        rng.uniform(0, 3, 1500),
    ]
    parts = [ground, wall]
    labels = [np.zeros(len(ground) + len(wall), dtype=np.uint8)]
    for k, c in enumerate(objects, start=1):
        pts = surface_points(c, per_object, rng) + rng.normal(0, noise, (per_object, 3))
        parts.append(pts)
        labels.append(np.full(per_object, k, dtype=np.uint8))
    xyz = np.vstack(parts)
    intensity = rng.uniform(0, 1, (len(xyz), 1))
    return Scene(
        points=np.hstack([xyz, intensity]).astype(np.float32),
        objects=[np.asarray(c, dtype=np.float64) for c in objects],
        labels=np.concatenate(labels),
    )


def moving_scene(frames: int, *, seed: int = 0) -> tuple[list[Scene], list[list[np.ndarray]]]:
    """A car driving along +x and a person walking, one scene per frame, and the true
    cuboids per frame."""
    scenes, truths = [], []
    for f in range(frames):
        car = CAR.copy()
        car[0] += 0.5 * f
        car[8] = 0.6 + 0.02 * f
        person = PERSON.copy()
        person[1] += 0.1 * f
        truths.append([car, person])
        scenes.append(scene([car, person], seed=seed + f, ground_points=3000, per_object=400))
    return scenes, truths


def write_bin(path: Path, points: np.ndarray, fields: str = "xyzi") -> Path:
    path.write_bytes(encode_binary(points, fields))
    return path


def write_txt(path: Path, points: np.ndarray, fields: str = "xyzi") -> Path:
    cols = [points[:, "xyzi".index(c)] for c in fields]
    np.savetxt(path, np.stack(cols, axis=1), fmt="%.6f", delimiter=" ")
    return path


def write_pcd(path: Path, points: np.ndarray, encoding: str = "binary") -> Path:
    from pypcd4 import Encoding, PointCloud

    PointCloud.from_xyzi_points(points.astype(np.float32)).save(path, encoding=Encoding(encoding))
    return path


def write_las(path: Path, points: np.ndarray) -> Path:
    import laspy

    header = laspy.LasHeader(point_format=3, version="1.2")
    header.scales = [0.001, 0.001, 0.001]
    header.offsets = [0.0, 0.0, 0.0]
    las = laspy.LasData(header)
    las.x, las.y, las.z = points[:, 0], points[:, 1], points[:, 2]
    las.intensity = np.rint(points[:, 3] * 1000).astype(np.uint16)
    las.write(str(path))
    return path


def camera(
    position: tuple[float, float, float] = (0.0, 0.0, 1.5), yaw: float = 0.0, **extra: Any
) -> dict[str, Any]:
    """A camera looking along +x (rotated by ``yaw`` about z) from ``position``: camera
    axes x right, y down, z forward, so the camera-to-world rotation maps z to the
    heading direction."""
    # camera z -> world (cos yaw, sin yaw, 0); camera x -> world (sin yaw, -cos yaw, 0);
    # camera y -> world (0, 0, -1).
    rot = np.array(
        [
            [math.sin(yaw), 0.0, math.cos(yaw)],
            [-math.cos(yaw), 0.0, math.sin(yaw)],
            [0.0, -1.0, 0.0],
        ]
    )
    qw = math.sqrt(max(0.0, 1 + rot[0, 0] + rot[1, 1] + rot[2, 2])) / 2
    if qw > 1e-6:
        qx = (rot[2, 1] - rot[1, 2]) / (4 * qw)
        qy = (rot[0, 2] - rot[2, 0]) / (4 * qw)
        qz = (rot[1, 0] - rot[0, 1]) / (4 * qw)
    else:  # pragma: no cover - not reached by the yaws used here
        raise ValueError("pick another yaw")
    return {
        "fx": 800.0,
        "fy": 800.0,
        "cx": 640.0,
        "cy": 360.0,
        "position": dict(zip("xyz", position, strict=True)),
        "heading": {"qx": qx, "qy": qy, "qz": qz, "qw": qw},
        "camera-model": "pinhole",
        **extra,
    }
