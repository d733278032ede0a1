"""Ground Truth's point cloud input: the single-frame manifest line and the frames of a
sequence file, validated into :class:`FrameInfo` values.

A single-frame line (object detection, semantic segmentation)::

    {"source-ref": "s3://b/frames/f1.bin",
     "source-ref-metadata": {"format": "binary/xyzi", "unix-timestamp": 1566861644.75,
        "ego-vehicle-pose": {"position": {"x", "y", "z"}, "heading": {"qx", "qy", "qz", "qw"}},
        "prefix": "s3://b/images/",
        "images": [{"image-path": "cam0/f1.jpg", "unix-timestamp": ..., "fx", "fy", "cx", "cy",
                    "k1", "k2", "k3", "k4", "p1", "p2", "skew", "position": {...},
                    "heading": {...}, "camera-model": "pinhole" | "fisheye"}]}}

A tracking item's ``source-ref`` is a sequence file (``media/sequences.py`` parses it);
each of its frames carries the same keys beside ``frame``. ``unix-timestamp`` is
required for every frame, as Ground Truth requires it. An image's path is the
``prefix`` (the frame's, else the sequence's, else the point cloud's folder) joined with
``image-path``, unless ``image-path`` is itself an ``s3://`` URI or an absolute path.
Errors name the field: ``source-ref-metadata.images[1].fx: ...``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from truthset.errors import BadInput
from truthset.media.point_clouds import parse_format
from truthset.media.sequences import load_sequence
from truthset.media.storage import AllowedRoots

CAMERA_MODELS = ("pinhole", "fisheye")
DISTORTION_KEYS = ("k1", "k2", "k3", "k4", "p1", "p2", "skew")
MAX_IMAGES = 16


@dataclass(frozen=True)
class Pose:
    """A position (metres) and a unit quaternion heading (qx, qy, qz, qw)."""

    position: tuple[float, float, float]
    heading: tuple[float, float, float, float]

    def as_json(self) -> dict[str, Any]:
        x, y, z = self.position
        qx, qy, qz, qw = self.heading
        return {
            "position": {"x": x, "y": y, "z": z},
            "heading": {"qx": qx, "qy": qy, "qz": qz, "qw": qw},
        }


@dataclass(frozen=True)
class CameraImage:
    """One camera of a frame: where its image is, its intrinsics and its pose (extrinsics
    in the point cloud's frame)."""

    index: int
    ref: str
    image_path: str
    camera_model: str
    fx: float
    fy: float
    cx: float
    cy: float
    distortion: dict[str, float]
    pose: Pose
    unix_timestamp: float | None = None

    def calibration(self) -> dict[str, Any]:
        """The keys the viewer and the projection maths read (Ground Truth's names)."""
        return {
            "index": self.index,
            "camera-model": self.camera_model,
            "fx": self.fx,
            "fy": self.fy,
            "cx": self.cx,
            "cy": self.cy,
            **self.distortion,
            **self.pose.as_json(),
            **({"unix-timestamp": self.unix_timestamp} if self.unix_timestamp is not None else {}),
        }


@dataclass(frozen=True)
class FrameInfo:
    """One point cloud frame of an item: its file, format and sensor data."""

    index: int
    ref: str
    format: str | None
    unix_timestamp: float
    frame_no: Any = None
    ego_pose: Pose | None = None
    images: tuple[CameraImage, ...] = ()


def _number(value: Any, where: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(f"{where}: {value!r} is not a number")
    out = float(value)
    if not math.isfinite(out):
        raise BadInput(f"{where}: {value!r} is not a finite number")
    if positive and out <= 0:
        raise BadInput(f"{where}: {value!r} must be greater than 0")
    return out


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadInput(f"{where}: {value!r} is not an object")
    return value


def parse_pose(value: Any, where: str) -> Pose:
    """``{"position": {x, y, z}, "heading": {qx, qy, qz, qw}}``; the quaternion is
    normalised (it must not be zero)."""
    pose = _object(value, where)
    position = _object(pose.get("position"), f"{where}.position")
    heading = _object(pose.get("heading"), f"{where}.heading")
    xyz = tuple(_number(position.get(k), f"{where}.position.{k}") for k in ("x", "y", "z"))
    q = [_number(heading.get(k), f"{where}.heading.{k}") for k in ("qx", "qy", "qz", "qw")]
    norm = math.sqrt(sum(v * v for v in q))
    if norm < 1e-9:
        raise BadInput(f"{where}.heading: the quaternion is zero")
    qx, qy, qz, qw = (v / norm for v in q)
    return Pose(position=(xyz[0], xyz[1], xyz[2]), heading=(qx, qy, qz, qw))


def join_ref(prefix: str, path: str) -> str:
    """``prefix`` + ``path`` (one slash between), or ``path`` when it is absolute."""
    if path.startswith("s3://") or path.startswith("/") or path.startswith("file://"):
        return path
    return prefix + path if prefix.endswith("/") else f"{prefix}/{path}"


def folder_of(ref: str) -> str:
    return ref.rsplit("/", 1)[0] + "/" if "/" in ref else ""


def parse_image(value: Any, where: str, index: int, prefix: str) -> CameraImage:
    image = _object(value, where)
    path = image.get("image-path")
    if not isinstance(path, str) or not path.strip():
        raise BadInput(f"{where}.image-path: {path!r} is not a path")
    model = image.get("camera-model", "pinhole")
    if model not in CAMERA_MODELS:
        raise BadInput(f"{where}.camera-model: {model!r} is not one of {', '.join(CAMERA_MODELS)}")
    fx, fy = (_number(image.get(k), f"{where}.{k}", positive=True) for k in ("fx", "fy"))
    cx, cy = (_number(image.get(k), f"{where}.{k}") for k in ("cx", "cy"))
    distortion = {k: _number(image.get(k, 0), f"{where}.{k}") for k in DISTORTION_KEYS}
    stamp = image.get("unix-timestamp")
    return CameraImage(
        index=index,
        ref=join_ref(prefix, path),
        image_path=path,
        camera_model=str(model),
        fx=fx,
        fy=fy,
        cx=cx,
        cy=cy,
        distortion=distortion,
        pose=parse_pose(image, where),
        unix_timestamp=None if stamp is None else _number(stamp, f"{where}.unix-timestamp"),
    )


def parse_frame(
    ref: str,
    meta: Any,
    where: str,
    *,
    index: int = 0,
    frame_no: Any = None,
    prefix: str | None = None,
) -> FrameInfo:
    """A frame from its metadata (``source-ref-metadata``, or a sequence frame's keys)."""
    data = _object(meta, where)
    fmt = data.get("format")
    if fmt is not None:
        parse_format(fmt, f"{where}.format")
    if "unix-timestamp" not in data:
        raise BadInput(
            f"{where}.unix-timestamp: required (Ground Truth requires it for every frame)"
        )
    stamp = _number(data["unix-timestamp"], f"{where}.unix-timestamp")
    pose = data.get("ego-vehicle-pose")
    own_prefix = data.get("prefix")
    if own_prefix is not None and not isinstance(own_prefix, str):
        raise BadInput(f"{where}.prefix: {own_prefix!r} is not a string")
    image_prefix = own_prefix or prefix or folder_of(ref)
    images = data.get("images") or []
    if not isinstance(images, list):
        raise BadInput(f"{where}.images: {images!r} is not a list")
    if len(images) > MAX_IMAGES:
        raise BadInput(f"{where}.images: {len(images)} cameras, more than {MAX_IMAGES}")
    return FrameInfo(
        index=index,
        ref=ref,
        format=fmt,
        unix_timestamp=stamp,
        frame_no=frame_no,
        ego_pose=None if pose is None else parse_pose(pose, f"{where}.ego-vehicle-pose"),
        images=tuple(
            parse_image(image, f"{where}.images[{i}]", i, image_prefix)
            for i, image in enumerate(images)
        ),
    )


def single_frame(item: Mapping[str, Any]) -> FrameInfo:
    """The frame of a single-frame manifest line."""
    ref = item.get("source-ref")
    if not isinstance(ref, str):
        raise BadInput("source-ref: a point cloud item needs a source-ref to its frame file")
    if "source-ref-metadata" not in item:
        raise BadInput(
            "source-ref-metadata: required for a point cloud frame (at least its unix-timestamp)"
        )
    return parse_frame(ref, item["source-ref-metadata"], "source-ref-metadata")


def is_sequence_ref(ref: str) -> bool:
    """Whether an item's ``source-ref`` names a sequence file rather than one frame."""
    return os.path.splitext(ref.lower())[1] == ".json"


def sequence_frames(
    ref: str, *, roots: AllowedRoots | None = None, endpoint_url: str | None = None
) -> tuple[FrameInfo, ...]:
    """The frames of a point cloud sequence file, in Ground Truth's order (the UTF-8 order
    of their names); images are found under the sequence's prefix."""
    sequence = load_sequence(ref, roots=roots, endpoint_url=endpoint_url)
    frames = []
    for frame in sequence.frames:
        meta = dict(frame.extra)
        if frame.unix_timestamp is not None:
            meta["unix-timestamp"] = frame.unix_timestamp
        where = f"sequence file {ref}: frame {frame.frame!r}"
        frames.append(
            parse_frame(
                frame.ref,
                meta,
                where,
                index=frame.index,
                frame_no=frame.frame_no,
                prefix=sequence.prefix,
            )
        )
    return tuple(frames)


def item_frames(
    item: Mapping[str, Any], *, roots: AllowedRoots | None = None, endpoint_url: str | None = None
) -> tuple[FrameInfo, ...]:
    """An item's frames: one for a single-frame line, every frame of a sequence file.
    With ``roots`` every frame file and camera image must lie inside them."""
    ref = item.get("source-ref")
    if isinstance(ref, str) and is_sequence_ref(ref) and "source-ref-metadata" not in item:
        frames = sequence_frames(ref, roots=roots, endpoint_url=endpoint_url)
    else:
        frames = (single_frame(item),)
    if roots is not None:
        for frame in frames:
            for where, target in [(frame.ref, frame.ref)] + [
                (f"image {image.index} of {frame.ref}", image.ref) for image in frame.images
            ]:
                if not roots.allows(target):
                    raise BadInput(f"{where} ({target}) is outside the allowed roots and buckets")
    return frames
