"""Point cloud frames read into numpy: Ground Truth's compact binary and text formats,
PCD (pypcd4) and LAS (laspy), from a local root or S3.

Every reader returns a :class:`PointCloud`: ``points`` float32 (N, 4) of x, y, z and
intensity (0 where the file has none), and ``rgb`` uint8 (N, 3) when the file gives a
colour. Ground Truth's formats (``sms-point-cloud-raw-data-types``):

- ``binary/<fields>`` (``.bin``): little-endian float32 values, one point after another,
  the fields in the order the format names them (``xyz``, ``xyzi``, ``xyzrgb``,
  ``xyzirgb``; any order of x y z i r g b is read); colours as floats 0-255.
- ``text/<fields>`` (``.txt``): one point per line, values separated by spaces.
- the format defaults to ``binary/xyzi`` (and ``text/xyzi`` for a ``.txt`` file).

``.pcd`` (ascii, binary, binary_compressed), ``.las`` and ``.laz`` files are read whatever
the format says; ``.laz`` decompresses through laspy's ``lazrs`` backend (a dependency).

Decoded frames are cached per reference and version (a local file's size and mtime, an
S3 object's ETag), so the viewer's requests for a frame's summary and its points read
the file once.
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from truthset.errors import BadInput
from truthset.media.storage import file_version, read_limited

# A 128-beam sweep holds ~240,000 points; dense survey scans more. Past this the browser
# cannot hold or draw the frame, so it is refused with the limit named.
MAX_POINTS = 2_000_000
# The largest file read (a 2,000,000-point xyzirgb .bin is 56 MB; text takes ~3x).
MAX_BYTES = 256 * 1024 * 1024
# The decoded frames kept in memory, by their size (a 120,000-point frame is ~2.4 MB).
CACHE_BYTES = 512 * 1024 * 1024

FIELD_LETTERS = frozenset("xyzirgb")
BINARY_EXTENSIONS = (".bin",)
TEXT_EXTENSIONS = (".txt",)
PCD_EXTENSIONS = (".pcd",)
LAS_EXTENSIONS = (".las", ".laz")


@dataclass(frozen=True)
class PointCloud:
    """A decoded frame: ``points`` (N, 4) float32 x, y, z, intensity; ``rgb`` (N, 3)
    uint8 or None."""

    points: np.ndarray
    rgb: np.ndarray | None = None

    @property
    def count(self) -> int:
        return int(self.points.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.points.nbytes + (self.rgb.nbytes if self.rgb is not None else 0))

    def bounds(self) -> tuple[list[float], list[float]]:
        """(min, max) of x, y, z; zeros for an empty frame. Worked out once per frame."""
        return self._bounds

    @cached_property
    def _bounds(self) -> tuple[list[float], list[float]]:
        if not self.count:
            return [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
        # Column by column: a reduction over axis 0 of the strided (N, 3) view took 40 ms
        # for 120,000 points, one column at a time well under one.
        columns = [self.points[:, k] for k in range(3)]
        return [float(c.min()) for c in columns], [float(c.max()) for c in columns]


def parse_format(fmt: Any, where: str) -> tuple[str, str]:
    """``("binary" | "text", fields)`` of a Ground Truth format string such as
    ``binary/xyzi``; BadInput naming ``where`` otherwise."""
    if not isinstance(fmt, str):
        raise BadInput(f"{where}: {fmt!r} is not a format string such as 'binary/xyzi'")
    kind, sep, fields = fmt.partition("/")
    if not sep or kind not in ("binary", "text"):
        raise BadInput(
            f"{where}: {fmt!r} is not 'binary/<fields>' or 'text/<fields>' (e.g. 'binary/xyzi')"
        )
    letters = set(fields)
    if not fields or not letters <= FIELD_LETTERS or len(letters) != len(fields):
        raise BadInput(
            f"{where}: {fmt!r}: the fields must be x, y, z and optionally i, r, g, b, each once"
        )
    if not {"x", "y", "z"} <= letters:
        raise BadInput(f"{where}: {fmt!r}: the fields must include x, y and z")
    if letters & {"r", "g", "b"} and not {"r", "g", "b"} <= letters:
        raise BadInput(f"{where}: {fmt!r}: a colour needs all of r, g and b")
    return kind, fields


def default_format(ref: str) -> str | None:
    """The format Ground Truth assumes for a file with no ``format``: ``binary/xyzi``,
    ``text/xyzi`` for ``.txt``; None for PCD and LAS, which describe themselves."""
    ext = os.path.splitext(ref.lower())[1]
    if ext in PCD_EXTENSIONS or ext in LAS_EXTENSIONS:
        return None
    return "text/xyzi" if ext in TEXT_EXTENSIONS else "binary/xyzi"


# -- decoding ---------------------------------------------------------------------------


def decode_points(
    data: bytes, ref: str, fmt: str | None, *, max_points: int = MAX_POINTS
) -> PointCloud:
    """The frame in ``data`` (the bytes of the file ``ref``). PCD and LAS files are known
    by their extension; other files are read as ``fmt`` (the default for the name when
    None)."""
    ext = os.path.splitext(ref.lower())[1]
    if ext in PCD_EXTENSIONS:
        cloud = _decode_pcd(data, ref)
    elif ext in LAS_EXTENSIONS:
        cloud = _decode_las(data, ref)
    else:
        kind, fields = parse_format(fmt or default_format(ref), f"point cloud {ref!r}: format")
        if kind == "binary":
            cloud = _decode_binary(data, ref, fields, max_points)
        else:
            cloud = _decode_text(data, ref, fields, max_points)
    if cloud.count > max_points:
        raise BadInput(
            f"point cloud {ref!r}: {cloud.count:,} points, more than the {max_points:,}"
            " a frame may hold"
        )
    if not np.isfinite(cloud.points[:, :3]).all():
        bad = int(np.flatnonzero(~np.isfinite(cloud.points[:, :3]).all(axis=1))[0])
        raise BadInput(f"point cloud {ref!r}: point {bad} has a coordinate that is NaN or infinite")
    return cloud


def _assemble(values: np.ndarray, fields: str) -> PointCloud:
    """(N, len(fields)) float values into a PointCloud."""
    n = values.shape[0]
    points = np.zeros((n, 4), dtype=np.float32)
    for column, letter in enumerate("xyzi"):
        if letter in fields:
            points[:, column] = values[:, fields.index(letter)]
    rgb = None
    if "r" in fields:
        cols = [fields.index(c) for c in "rgb"]
        rgb = np.clip(np.rint(values[:, cols]), 0, 255).astype(np.uint8)
    return PointCloud(points=points, rgb=rgb)


def _decode_binary(data: bytes, ref: str, fields: str, max_points: int) -> PointCloud:
    width = 4 * len(fields)
    if len(data) % width:
        raise BadInput(
            f"point cloud {ref!r}: {len(data):,} bytes is not a whole number of"
            f" {width}-byte points of binary/{fields} (little-endian float32 each)"
        )
    if len(data) // width > max_points:
        raise BadInput(
            f"point cloud {ref!r}: {len(data) // width:,} points, more than the"
            f" {max_points:,} a frame may hold"
        )
    values = np.frombuffer(data, dtype="<f4").reshape(-1, len(fields))
    return _assemble(values, fields)


def _decode_text(data: bytes, ref: str, fields: str, max_points: int) -> PointCloud:
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) > max_points:
        raise BadInput(
            f"point cloud {ref!r}: {len(lines):,} points, more than the {max_points:,}"
            " a frame may hold"
        )
    try:
        flat = np.array(b" ".join(lines).split(), dtype=np.float64)
    except ValueError:
        for number, line in enumerate(data.splitlines(), start=1):
            try:
                [float(v) for v in line.split()]
            except ValueError:
                raise BadInput(
                    f"point cloud {ref!r}: line {number}: {line[:80]!r} is not numbers"
                ) from None
        raise
    if flat.size != len(lines) * len(fields):
        for number, line in enumerate(data.splitlines(), start=1):
            if line.strip() and len(line.split()) != len(fields):
                raise BadInput(
                    f"point cloud {ref!r}: line {number}: {len(line.split())} values, text/{fields}"
                    f" has {len(fields)}"
                )
    return _assemble(flat.reshape(-1, len(fields)), fields)


def _decode_pcd(data: bytes, ref: str) -> PointCloud:
    from pypcd4 import PointCloud as PcdCloud

    try:
        pcd = PcdCloud.from_fileobj(io.BytesIO(data))  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - any parse failure is the file's
        raise BadInput(f"point cloud {ref!r}: not a readable PCD file ({exc})") from None
    names = list(pcd.fields)
    missing = [c for c in ("x", "y", "z") if c not in names]
    if missing:
        raise BadInput(f"point cloud {ref!r}: the PCD file has no field {missing[0]!r}")
    intensity = next((f for f in ("intensity", "i") if f in names), None)
    wanted = ["x", "y", "z"] + ([intensity] if intensity else [])
    values = np.asarray(pcd.numpy(wanted), dtype=np.float32).reshape(-1, len(wanted))
    points = np.zeros((values.shape[0], 4), dtype=np.float32)
    points[:, : len(wanted)] = values
    rgb = None
    if "rgb" in names:
        packed = np.asarray(pcd.numpy(["rgb"]), dtype=np.float32).reshape(-1)
        rgb = np.asarray(PcdCloud.decode_rgb(packed), dtype=np.uint8).reshape(-1, 3)
    return PointCloud(points=points, rgb=rgb)


def _decode_las(data: bytes, ref: str) -> PointCloud:
    import laspy

    try:
        las = laspy.read(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - any parse failure is the file's
        raise BadInput(f"point cloud {ref!r}: not a readable LAS file ({exc})") from None
    n = len(las.points)
    points = np.zeros((n, 4), dtype=np.float32)
    points[:, 0] = np.asarray(las.x, dtype=np.float64)
    points[:, 1] = np.asarray(las.y, dtype=np.float64)
    points[:, 2] = np.asarray(las.z, dtype=np.float64)
    dims = set(las.point_format.dimension_names)
    if "intensity" in dims:
        points[:, 3] = np.asarray(las.intensity, dtype=np.float32)
    rgb = None
    if {"red", "green", "blue"} <= dims:
        channels = np.stack([np.asarray(las[c]) for c in ("red", "green", "blue")], axis=1)
        # LAS stores 16-bit colours; files written from 8-bit sources keep 0-255.
        scale = 257.0 if channels.max(initial=0) > 255 else 1.0
        rgb = np.clip(np.rint(channels / scale), 0, 255).astype(np.uint8)
    return PointCloud(points=points, rgb=rgb)


# -- reading, with a cache -----------------------------------------------------------------


def _version(ref: str, endpoint_url: str | None) -> str:
    return str(file_version(ref, "point cloud", endpoint_url=endpoint_url))


def _read_bytes(ref: str, endpoint_url: str | None, max_bytes: int) -> bytes:
    return read_limited(ref, "point cloud", max_bytes, endpoint_url=endpoint_url)[0]


class _FrameCache:
    """Decoded frames by (ref, version, format), least recently used first out, bounded
    by their bytes."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str, str | None], PointCloud] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str | None]) -> PointCloud | None:
        with self._lock:
            cloud = self._items.get(key)
            if cloud is not None:
                self._items.move_to_end(key)
            return cloud

    def put(self, key: tuple[str, str, str | None], cloud: PointCloud) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = cloud
            self._bytes += cloud.nbytes
            while self._bytes > self.capacity and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


_CACHE = _FrameCache(CACHE_BYTES)


def frame_version(ref: str, *, endpoint_url: str | None = None) -> str:
    """The file's version string (what an ETag of anything derived from it includes)."""
    return _version(ref, endpoint_url)


def read_points(
    ref: str,
    fmt: str | None = None,
    *,
    endpoint_url: str | None = None,
    max_points: int = MAX_POINTS,
    max_bytes: int = MAX_BYTES,
) -> PointCloud:
    """The frame at ``ref`` (a local path or s3:// URI the caller has checked against the
    allowed roots), decoded as ``fmt``; cached. The arrays are read-only."""
    version = _version(ref, endpoint_url)
    key = (ref, version, fmt)
    cloud = _CACHE.get(key)
    if cloud is None:
        cloud = decode_points(
            _read_bytes(ref, endpoint_url, max_bytes), ref, fmt, max_points=max_points
        )
        cloud.points.setflags(write=False)
        if cloud.rgb is not None:
            cloud.rgb.setflags(write=False)
        _CACHE.put(key, cloud)
    return cloud


@dataclass(frozen=True)
class FrameSummary:
    """What the viewer's frame list shows of a frame, kept apart from the points: a long
    sequence's summaries outlive its decoded frames in the cache."""

    version: str
    count: int
    bounds: tuple[list[float], list[float]]
    has_rgb: bool


_SUMMARIES: OrderedDict[tuple[str, str, str | None], FrameSummary] = OrderedDict()
_SUMMARIES_LOCK = threading.Lock()
MAX_SUMMARIES = 100_000


def frame_summary(
    ref: str, fmt: str | None = None, *, endpoint_url: str | None = None
) -> FrameSummary:
    """The frame's point count, bounds and whether it has colours (reading it once per
    file version)."""
    version = _version(ref, endpoint_url)
    key = (ref, version, fmt)
    with _SUMMARIES_LOCK:
        found = _SUMMARIES.get(key)
    if found is not None:
        return found
    cloud = read_points(ref, fmt, endpoint_url=endpoint_url)
    summary = FrameSummary(version, cloud.count, cloud.bounds(), cloud.rgb is not None)
    with _SUMMARIES_LOCK:
        _SUMMARIES[key] = summary
        while len(_SUMMARIES) > MAX_SUMMARIES:
            _SUMMARIES.popitem(last=False)
    return summary


def clear_cache() -> None:
    """Forget decoded frames (tests; a bucket whose objects were replaced in place)."""
    _CACHE.clear()
    with _SUMMARIES_LOCK:
        _SUMMARIES.clear()


# -- writing the compact formats (exports, tests, the benchmark) ----------------------------


def encode_binary(points: np.ndarray, fields: str = "xyzi", rgb: np.ndarray | None = None) -> bytes:
    """Points in Ground Truth's ``binary/<fields>`` layout (little-endian float32)."""
    n = points.shape[0]
    columns = []
    for letter in fields:
        if letter in "xyzi":
            columns.append(np.asarray(points[:, "xyzi".index(letter)], dtype=np.float32))
        else:
            if rgb is None:
                raise ValueError(f"binary/{fields} needs colours")
            columns.append(np.asarray(rgb[:, "rgb".index(letter)], dtype=np.float32))
    return np.stack(columns, axis=1).reshape(n, len(fields)).astype("<f4").tobytes()
