"""KITTI object labels from a 3D point cloud object detection job, zipped and streamed.

`label_2/<item id>.txt` holds one line per cuboid, KITTI's 15 fields separated by spaces::

    type truncated occluded alpha left top right bottom height width length x y z rotation_y

- **type**: the label, spaces replaced by ``_``.
- **With a camera** (the frame's first entry of ``images``, Ground Truth's sensor fusion
  calibration): location, rotation and alpha are in KITTI's camera frame (x right, y
  down, z forward), the location the bottom centre of the cuboid; ``rotation_y`` the
  heading about the camera's y axis, ``alpha = rotation_y - atan2(x, z)``; the 2D box
  (pixels) bounds the projected corners in front of the camera, clipped to the image when
  its size can be read, and ``truncated`` is the share of that box cut off by the image
  edges (0 when the size is unknown). `calib/<item id>.txt` holds ``P0``-``P3`` (the
  intrinsic matrix, ``[K | 0]``), ``R0_rect`` (identity: Ground Truth's images are not
  rectified here) and ``Tr_velo_to_cam`` (the point cloud's frame into the camera's).
  Lens distortion bends the 2D box (it is computed through the lens model) but cannot be
  said in KITTI's calibration.
- **Without a camera**: the 2D box is ``0 0 0 0``, ``alpha`` is ``-10`` (KITTI's "not
  known"), the location is the bottom centre in the point cloud's own frame (x, y, z with
  z up) and ``rotation_y`` is the yaw; no calib file is written.
- **occluded**: a cuboid attribute named ``occluded`` / ``occlusion`` (any case) holding
  0-3, or one of ``none``/``no`` (0), ``partial``/``partly`` (1), ``largely``/``mostly``
  (2), ``full``/``fully``/``yes`` (3); else 0.

Pixels and ``truncated`` have the 2 decimals KITTI's files show; metres and radians 4
(readers parse any float). `frames.txt` maps each label file to the item's `source-ref`.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from truthset.errors import BadInput
from truthset.exports.archives import ZipSink
from truthset.exports.formats import Exporter
from truthset.exports.labels import LabeledItem, file_name, labeled_items
from truthset.exports.mask_labels import nothing_to_write
from truthset.geometry import cuboids
from truthset.store.models import Job

KITTI_TASK_TYPES = ("point-cloud-object-detection",)
UNKNOWN_ALPHA = -10.0
_OCCLUSION_WORDS = {
    "none": 0,
    "no": 0,
    "partial": 1,
    "partly": 1,
    "largely": 2,
    "mostly": 2,
    "full": 3,
    "fully": 3,
    "yes": 3,
}


def occlusion(attributes: Mapping[str, Any] | None) -> int:
    for name, value in (attributes or {}).items():
        if name.lower() not in ("occluded", "occlusion"):
            continue
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 3:
            return int(value)
        if isinstance(value, str) and value.strip().lower() in _OCCLUSION_WORDS:
            return _OCCLUSION_WORDS[value.strip().lower()]
    return 0


def _camera(item: LabeledItem) -> tuple[dict[str, Any], tuple[int, int] | None] | None:
    """The frame's first camera's calibration and its image size (None when unknown)."""
    from truthset.media.info import UnreadableMedia, image_size
    from truthset.media.point_cloud_frames import single_frame

    try:
        frame = single_frame(item.data)
    except BadInput:
        return None
    if not frame.images:
        return None
    image = frame.images[0]
    try:
        size: tuple[int, int] | None = image_size(image.ref)
    except (UnreadableMedia, BadInput):
        size = None
    return image.calibration(), size


def _world_to_camera(camera: Mapping[str, Any]) -> np.ndarray:
    """The 3 x 4 matrix taking the point cloud's frame into the camera's."""
    rot = cuboids.quaternion_matrix([camera["heading"][k] for k in ("qx", "qy", "qz", "qw")])
    position = np.array([float(camera["position"][k]) for k in ("x", "y", "z")])
    return np.hstack([rot.T, (-rot.T @ position)[:, None]])


def _fmt(values: Any, decimals: int) -> str:
    return " ".join(f"{float(v):.{decimals}f}" for v in values)


def object_line(
    annotation: Mapping[str, Any],
    label: str,
    camera: Mapping[str, Any] | None,
    size: tuple[int, int] | None,
) -> str:
    c = cuboids.from_json(annotation)
    h, w, length = float(c[5]), float(c[4]), float(c[3])
    kind = label.replace(" ", "_")
    occluded = occlusion(annotation.get("label-category-attributes"))
    if camera is None:
        bottom = c[:3] - [0.0, 0.0, h / 2]
        return (
            f"{kind} 0.00 {occluded} {UNKNOWN_ALPHA:.2f} 0.00 0.00 0.00 0.00 "
            f"{_fmt([h, w, length], 4)} {_fmt(bottom, 4)} {float(c[8]):.4f}"
        )
    to_camera = _world_to_camera(camera)
    rot = to_camera[:, :3] @ cuboids.rotation_matrix(float(c[6]), float(c[7]), float(c[8]))
    centre = to_camera[:, :3] @ c[:3] + to_camera[:, 3]
    down = rot @ [0.0, 0.0, -1.0]  # the cuboid's own -z (its bottom), in the camera's frame
    bottom = centre + down * h / 2
    heading = rot @ [1.0, 0.0, 0.0]
    rotation_y = math.atan2(-heading[2], heading[0])
    alpha = float(cuboids.wrap_angle(rotation_y - math.atan2(bottom[0], bottom[2])))
    box = (0.0, 0.0, 0.0, 0.0)
    truncated = 0.0
    full = cuboids.image_box(c, camera)
    if full is not None:
        box = full
        if size is not None:
            clipped = cuboids.image_box(c, camera, width=size[0], height=size[1])
            area = (full[2] - full[0]) * (full[3] - full[1])
            if clipped is None:
                box, truncated = (0.0, 0.0, 0.0, 0.0), 1.0
            else:
                box = clipped
                inside = (clipped[2] - clipped[0]) * (clipped[3] - clipped[1])
                truncated = max(0.0, 1.0 - inside / area) if area > 0 else 0.0
    return (
        f"{kind} {truncated:.2f} {occluded} {alpha:.4f} {_fmt(box, 2)} "
        f"{_fmt([h, w, length], 4)} {_fmt(bottom, 4)} {float(cuboids.wrap_angle(rotation_y)):.4f}"
    )


def calib_text(camera: Mapping[str, Any]) -> str:
    k = np.array(
        [
            [float(camera["fx"]), float(camera.get("skew", 0) or 0), float(camera["cx"])],
            [0.0, float(camera["fy"]), float(camera["cy"])],
            [0.0, 0.0, 1.0],
        ]
    )
    p = np.hstack([k, np.zeros((3, 1))]).ravel()
    lines = [f"P{i}: {_fmt(p, 6)}" for i in range(4)]
    lines.append(f"R0_rect: {_fmt(np.eye(3).ravel(), 6)}")
    lines.append(f"Tr_velo_to_cam: {_fmt(_world_to_camera(camera).ravel(), 6)}")
    lines.append(f"Tr_imu_to_velo: {_fmt(np.eye(3, 4).ravel(), 6)}")
    return "\n".join(lines) + "\n"


def export_kitti(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    **_: Any,
) -> int:
    """A zip of KITTI label (and calib) files, one per frame; returns how many frames."""
    from truthset.tasktypes import get_task_type
    from truthset.tasktypes.point_clouds import names_of

    config = get_task_type(job.task_type).parse_label_config(job.label_config)
    count = 0

    def chunks() -> Iterator[bytes]:
        nonlocal count
        sink = ZipSink()
        frames: list[str] = []
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for item in labeled_items(session, job):
                if not isinstance(item.value, dict):
                    continue
                names = names_of(item.meta, config)
                found = _camera(item)
                camera, size = found if found is not None else (None, None)
                lines = [
                    object_line(a, names.get(int(a["class-id"]), str(a["class-id"])), camera, size)
                    for a in item.value.get("annotations") or []
                ]
                stem = file_name(item.external_id)
                archive.writestr(f"label_2/{stem}.txt", ("\n".join(lines) + "\n") if lines else "")
                if camera is not None:
                    archive.writestr(f"calib/{stem}.txt", calib_text(camera))
                frames.append(f"label_2/{stem}.txt\t{item.data.get('source-ref', '')}")
                count += 1
                if len(sink.parts) > 256:
                    yield sink.take()
                    if progress:
                        progress(count)
            archive.writestr("frames.txt", "\n".join(frames) + "\n")
        yield sink.take()
        if progress:
            progress(count)

    write(chunks())
    return count


KITTI = Exporter(
    "kitti",
    ".zip",
    "KITTI object labels, one file per frame (with calib files when a camera is given), "
    "zipped (point-cloud-object-detection jobs)",
    export_kitti,
    KITTI_TASK_TYPES,
    missing=lambda session, job: nothing_to_write(session, job, "KITTI"),
)
