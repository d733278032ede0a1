"""Video tracks: keyframes expanded into one shape per frame.

A track is a list of keyframes sorted by frame, each ``{"frame": i, <shape key>: geometry}``
or ``{"frame": i, "outside": true}`` (the object has left the picture from that frame on),
optionally with ``"label-category-attributes"`` that override the track's own from that
frame on. The shape keys and geometries (pixels of the frame):

* ``box``: ``{"left", "top", "width", "height"}``
* ``polygon``: ``{"points": [[x, y], ...]}`` (closed outline, 3 or more points)
* ``polyline``: ``{"points": [[x, y], ...]}`` (open line, 2 or more points)
* ``keypoint``: ``{"x", "y"}``

The rules (the browser's tools/video-tracks.js implements the same ones, and a test
checks that both expand the same keyframes alike):

* **Detection** (``interpolate=False``): a track's shape is on its keyframes only.
* **Tracking** (``interpolate=True``), CVAT's track rule: between two consecutive keyframes
  that both carry a shape, every frame gets the linear blend at ``t = (f - f0) / (f1 - f0)``;
  a shape keyframe followed by an ``outside`` one is held (unchanged) up to the frame
  before it, and the last shape keyframe is held to the sequence's last frame: an object
  stays until the worker marks it outside. After an ``outside`` keyframe the track is
  absent until its next shape keyframe. A keyframe's own frame gets its own shape exactly.
  Ground Truth's SeqLabel.json lists every frame's objects, so what it gets is this
  expansion frame by frame.
* **Point-cloud cuboid tracks** (:func:`expand_keyframes` without ``hold_to``): the same
  blend between shape keyframes, but nothing is held (Ground Truth's 3D tool carries an
  object on by its explicit autofill, which writes a keyframe on the last frame).
* Boxes and keypoints blend number by number. Polygons and polylines blend vertex by
  vertex when both keyframes have the same number of vertices; otherwise both are
  resampled along their outline to the larger count (:func:`align_outlines`) first.

Nothing here rounds: the label writer decides how many decimals a pixel keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SHAPES = ("box", "polygon", "polyline", "keypoint")
# The per-frame list in Ground Truth's SeqLabel.json, by shape.
SHAPE_LIST_KEY = {
    "box": "annotations",
    "polygon": "polygons",
    "polyline": "polylines",
    "keypoint": "keypoints",
}
# The label config's annotationType, by shape (BoundingBox is Ground Truth's default).
ANNOTATION_TYPE_SHAPE = {
    "BoundingBox": "box",
    "Polygon": "polygon",
    "Polyline": "polyline",
    "Keypoint": "keypoint",
}
BOX_KEYS = ("left", "top", "width", "height")
ATTRIBUTES_KEY = "label-category-attributes"

Geometry = dict[str, Any]
# blend(a, b, t): the geometries at the fractions t (1-d array, each in (0, 1)) of the way
# from geometry a to geometry b.
Blend = Callable[[Mapping[str, Any], Mapping[str, Any], np.ndarray], list[Geometry]]


@dataclass(frozen=True)
class FrameShape:
    """One track's shape on one frame, with the attributes that hold there."""

    frame: int
    geometry: Geometry
    attributes: dict[str, Any]
    # Whether a worker drew it (a keyframe) rather than it being interpolated.
    keyframe: bool


# -- outlines ---------------------------------------------------------------------------------


def _points(geometry: Mapping[str, Any]) -> np.ndarray:
    return np.asarray(geometry["points"], dtype=np.float64).reshape(-1, 2)


def resample_closed(points: np.ndarray, n: int) -> np.ndarray:
    """``n`` points evenly spaced by arc length along the closed outline ``points`` (k, 2),
    the first at ``points[0]``: at lengths ``k * L / n``, k = 0..n-1."""
    ring = np.vstack([points, points[:1]])
    return _at_lengths(ring, np.arange(n) * (_length(ring) / n))


def resample_open(points: np.ndarray, n: int) -> np.ndarray:
    """``n`` points evenly spaced by arc length along the open line ``points`` (k, 2),
    both ends kept: at lengths ``k * L / (n - 1)``, k = 0..n-1."""
    return _at_lengths(points, np.linspace(0.0, _length(points), n))


def _length(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def _at_lengths(points: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    cumulative = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    if cumulative[-1] == 0:
        return np.repeat(points[:1], len(lengths), axis=0)
    return np.column_stack(
        [np.interp(lengths, cumulative, points[:, 0]), np.interp(lengths, cumulative, points[:, 1])]
    )


def signed_area(points: np.ndarray) -> float:
    """Shoelace area: positive for one winding, negative for the other."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def align_outlines(a: np.ndarray, b: np.ndarray, *, closed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Two outlines with the same number of points, point ``k`` of one to blend with
    point ``k`` of the other.

    Same count: unchanged. Otherwise ``n = max(len(a), len(b))`` and

    * closed (polygons): the closest pair of vertices ``(a[i], b[j])`` (the first in
      row-major order on a tie) starts both outlines; when their windings differ (signed
      area), ``b`` is walked the other way from ``b[j]``; then both are resampled with
      :func:`resample_closed` to ``n``;
    * open (polylines): both are resampled end to end with :func:`resample_open` to ``n``
      (the ends are the natural pair of a line).
    """
    if len(a) == len(b):
        return a, b
    n = max(len(a), len(b))
    if not closed:
        return resample_open(a, n), resample_open(b, n)
    distances = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    i, j = np.unravel_index(int(np.argmin(distances)), distances.shape)
    a = np.roll(a, -int(i), axis=0)
    b = np.roll(b, -int(j), axis=0)
    if (signed_area(a) > 0) != (signed_area(b) > 0):
        b = np.vstack([b[:1], b[1:][::-1]])
    return resample_closed(a, n), resample_closed(b, n)


# -- blends -----------------------------------------------------------------------------------


def _blend_numbers(keys: Sequence[str]) -> Blend:
    def blend(a: Mapping[str, Any], b: Mapping[str, Any], t: np.ndarray) -> list[Geometry]:
        start = np.array([float(a[k]) for k in keys])
        stop = np.array([float(b[k]) for k in keys])
        rows = start + t[:, None] * (stop - start)
        return [dict(zip(keys, row.tolist(), strict=True)) for row in rows]

    return blend


def _blend_outline(closed: bool) -> Blend:
    def blend(a: Mapping[str, Any], b: Mapping[str, Any], t: np.ndarray) -> list[Geometry]:
        start, stop = align_outlines(_points(a), _points(b), closed=closed)
        frames = start[None] + t[:, None, None] * (stop - start)[None]
        return [{"points": f.tolist()} for f in frames]

    return blend


BLENDS: dict[str, Blend] = {
    "box": _blend_numbers(BOX_KEYS),
    "keypoint": _blend_numbers(("x", "y")),
    "polygon": _blend_outline(closed=True),
    "polyline": _blend_outline(closed=False),
}


def interpolate(shape: str, a: Mapping[str, Any], b: Mapping[str, Any], t: float) -> Geometry:
    """The geometry ``t`` (0..1) of the way from ``a`` to ``b``; ``a`` and ``b`` themselves
    at 0 and 1."""
    if t <= 0:
        return copy_geometry(a)
    if t >= 1:
        return copy_geometry(b)
    return BLENDS[shape](a, b, np.array([float(t)]))[0]


def copy_geometry(geometry: Mapping[str, Any]) -> Geometry:
    if "points" in geometry:
        return {"points": [[float(x), float(y)] for x, y in geometry["points"]]}
    return {k: float(v) for k, v in geometry.items()}


# -- tracks -----------------------------------------------------------------------------------


def expand_keyframes(
    keyframes: Sequence[Mapping[str, Any]],
    *,
    key: str,
    blend: Blend | None,
    track_attributes: Mapping[str, Any] | None = None,
    hold_to: int | None = None,
) -> list[FrameShape]:
    """Per frame where the track is present, its shape: the general rule for any geometry
    stored under ``key`` (``blend=None``: detection, keyframes only). Point-cloud cuboid
    tracks use it with their own blend.

    ``hold_to`` (with a blend): the last frame a shape is held to after the last shape
    keyframe; a shape keyframe followed by an ``outside`` one is held up to the frame before
    it too. None: nothing is held."""
    out: list[FrameShape] = []
    attributes = dict(track_attributes or {})
    previous: Mapping[str, Any] | None = None

    def hold(source: Mapping[str, Any], stop: int) -> None:
        start = int(source["frame"])
        held = dict(attributes)
        out.extend(
            FrameShape(f, copy_geometry(source[key]), held, keyframe=False)
            for f in range(start + 1, stop)
        )

    holding = blend is not None and hold_to is not None
    for kf in keyframes:
        frame = int(kf["frame"])
        if previous is not None and blend is not None and key in previous:
            start = int(previous["frame"])
            if key in kf and frame - start > 1:
                steps = np.arange(start + 1, frame)
                geometries = blend(previous[key], kf[key], (steps - start) / (frame - start))
                held = dict(attributes)
                out.extend(
                    FrameShape(int(f), g, held, keyframe=False)
                    for f, g in zip(steps.tolist(), geometries, strict=True)
                )
            elif holding and key not in kf:
                hold(previous, frame)
        own = kf.get(ATTRIBUTES_KEY)
        if own:
            attributes = {**attributes, **own}
        if key in kf:
            out.append(FrameShape(frame, copy_geometry(kf[key]), dict(attributes), keyframe=True))
        previous = kf
    if blend is not None and hold_to is not None and previous is not None and key in previous:
        hold(previous, hold_to + 1)
    return out


def _last_frame(interpolate: bool, frames: int | None) -> int | None:
    if not interpolate:
        return None
    if frames is None:
        raise ValueError("a tracking expansion needs the sequence's number of frames")
    return frames - 1


def expand_track(
    keyframes: Sequence[Mapping[str, Any]],
    shape: str,
    *,
    interpolate: bool,
    frames: int | None = None,
    track_attributes: Mapping[str, Any] | None = None,
) -> list[FrameShape]:
    """The frames a (validated) track is present on, with its shape and attributes there.

    ``keyframes`` sorted by frame, each carrying ``shape`` (the geometry key) or
    ``outside``; ``interpolate`` for tracking, not for detection; ``frames``, the
    sequence's number of frames, is needed for tracking (the last shape is held to the
    end).
    """
    if shape not in BLENDS:
        raise ValueError(f"shape {shape!r} is not one of {', '.join(SHAPES)}")
    return expand_keyframes(
        keyframes,
        key=shape,
        blend=BLENDS[shape] if interpolate else None,
        track_attributes=track_attributes,
        hold_to=_last_frame(interpolate, frames),
    )


def number_of_frames(answer: Mapping[str, Any]) -> int:
    """The answer's ``number-of-frames`` (validation makes it the sequence's); for an
    answer without it, one past its last keyframe."""
    given = answer.get("number-of-frames")
    if isinstance(given, int) and not isinstance(given, bool):
        return given
    last = [
        int(k["frame"])
        for t in answer.get("tracks") or []
        for k in t.get("keyframes") or []
        if isinstance(k, Mapping) and "frame" in k
    ]
    return max(last, default=-1) + 1


def visible_frames(
    keyframes: Sequence[Mapping[str, Any]],
    shape: str,
    *,
    interpolate: bool,
    frames: int | None = None,
) -> list[int]:
    """The frames a track is present on (not ``outside``), without building shapes."""
    last = _last_frame(interpolate, frames)
    out: list[int] = []
    previous: Mapping[str, Any] | None = None
    for kf in keyframes:
        frame = int(kf["frame"])
        if interpolate and previous is not None and shape in previous:
            out.extend(range(int(previous["frame"]) + 1, frame))
        if shape in kf:
            out.append(frame)
        previous = kf
    if last is not None and previous is not None and shape in previous:
        out.extend(range(int(previous["frame"]) + 1, last + 1))
    return out


# -- conversions to and from Ground Truth's SeqLabel objects ------------------------------------


def to_seqlabel_geometry(shape: str, geometry: Mapping[str, Any], decimals: int = 2) -> Geometry:
    """A geometry as Ground Truth writes it in a SeqLabel.json object: boxes
    ``height, width, top, left``; polygons and polylines ``vertices: [{"x", "y"}]``;
    keypoints ``x, y``. Whole numbers are written as ints."""

    def num(v: Any) -> int | float:
        r = round(float(v), decimals)
        return int(r) if r.is_integer() else r

    if shape == "box":
        return {k: num(geometry[k]) for k in ("height", "width", "top", "left")}
    if shape == "keypoint":
        return {"x": num(geometry["x"]), "y": num(geometry["y"])}
    return {"vertices": [{"x": num(x), "y": num(y)} for x, y in geometry["points"]]}


def from_seqlabel_geometry(shape: str, obj: Mapping[str, Any]) -> Geometry:
    """The inverse of :func:`to_seqlabel_geometry` (raises KeyError / TypeError / ValueError
    on a malformed object; callers name the field)."""
    if shape == "box":
        return {k: float(obj[k]) for k in BOX_KEYS}
    if shape == "keypoint":
        return {"x": float(obj["x"]), "y": float(obj["y"])}
    return {"points": [[float(v["x"]), float(v["y"])] for v in obj["vertices"]]}


def geometries_equal(
    shape: str, a: Mapping[str, Any], b: Mapping[str, Any], tol: float = 1e-6
) -> bool:
    """Whether two geometries of ``shape`` are the same within ``tol`` pixels."""
    if shape in ("polygon", "polyline"):
        pa, pb = _points(a), _points(b)
        return pa.shape == pb.shape and bool(np.all(np.abs(pa - pb) <= tol))
    keys = BOX_KEYS if shape == "box" else ("x", "y")
    return all(abs(float(a[k]) - float(b[k])) <= tol for k in keys)


def flat_geometry(shape: str, geometry: Mapping[str, Any]) -> np.ndarray:
    """A geometry's numbers in a fixed order (a polygon's points row by row)."""
    if shape in ("polygon", "polyline"):
        return _points(geometry).ravel()
    return np.array([float(geometry[k]) for k in (BOX_KEYS if shape == "box" else ("x", "y"))])


def keyframes_from_frames(
    shapes: Sequence[FrameShape],
    shape: str,
    *,
    interpolate: bool,
    frames: int | None = None,
    tol: float = 1.0,
) -> list[dict[str, Any]]:
    """Keyframes that expand back to the per-frame ``shapes`` of one object (sorted by
    frame, one per frame) within ``tol`` pixels: a label made per frame (an imported
    SeqLabel.json, a consolidated label) turned back into the answer a worker adjusts.

    Detection: every frame is a keyframe. Tracking: the frames are cut into blocks of
    consecutive frames with the same attributes and vertex count, and each block into
    straight stretches whose blend predicts every frame in between (found by doubling,
    then bisecting, the stretch; every stretch taken is checked, so the expansion is
    always within ``tol``, though not always with the fewest keyframes). A gap between two
    blocks gets an ``outside`` keyframe on its first frame, and so does the frame after the
    last block when it ends before the sequence's last frame (``frames`` is needed: the
    last shape would otherwise be held to the end); a block that ends standing still
    before a gap or the end needs no keyframe on its last frame, as its shape is held
    there. A keyframe carries
    ``label-category-attributes`` where the attributes change (the first one when it has
    any); an attribute cannot be taken away later, as the answer's overrides only add.
    """
    out: list[dict[str, Any]] = []
    in_force: dict[str, Any] = {}

    def emit(item: FrameShape) -> None:
        nonlocal in_force
        kf: dict[str, Any] = {"frame": item.frame, shape: copy_geometry(item.geometry)}
        if any(k not in in_force or in_force[k] != v for k, v in item.attributes.items()):
            kf[ATTRIBUTES_KEY] = dict(item.attributes)
            in_force = {**in_force, **item.attributes}
        out.append(kf)

    last = _last_frame(interpolate, frames)
    blocks = _blocks(shapes, shape)
    covered = -1  # the last frame of the blocks so far
    for n, block in enumerate(blocks):
        first = block[0][0]
        if out and interpolate and covered + 1 < first.frame:
            out.append({"frame": covered + 1, "outside": True})
        covered = block[-1][0].frame
        if not interpolate:
            for item, _ in block:
                emit(item)
            continue
        # The block's last shape is held on (to an outside keyframe or the sequence's end)
        # unless the next block starts right after it.
        held_on = n + 1 == len(blocks) or blocks[n + 1][0][0].frame > covered + 1
        values = np.stack([v for _, v in block])
        i = 0
        emit(block[0][0])
        while i < len(block) - 1:
            j = _longest_stretch(values, i, tol)
            still = float(np.abs(values[i : j + 1] - values[i]).max()) <= tol
            if not (j == len(block) - 1 and held_on and still):
                emit(block[j][0])
            i = j
    if last is not None and out and covered < last:
        out.append({"frame": covered + 1, "outside": True})
    return out


def _blocks(shapes: Sequence[FrameShape], shape: str) -> list[list[tuple[FrameShape, np.ndarray]]]:
    blocks: list[list[tuple[FrameShape, np.ndarray]]] = []
    for item in shapes:
        value = flat_geometry(shape, item.geometry)
        if blocks:
            last, last_value = blocks[-1][-1]
            if (
                item.frame == last.frame + 1
                and value.shape == last_value.shape
                and item.attributes == last.attributes
            ):
                blocks[-1].append((item, value))
                continue
        blocks.append([(item, value)])
    return blocks


def _straight(values: np.ndarray, i: int, j: int, tol: float) -> bool:
    if j - i < 2:
        return True
    t = (np.arange(i + 1, j) - i) / (j - i)
    guess = values[i] + t[:, None] * (values[j] - values[i])
    return float(np.abs(guess - values[i + 1 : j]).max()) <= tol


def _longest_stretch(values: np.ndarray, i: int, tol: float) -> int:
    """A far end ``j > i`` of a checked straight stretch from ``i``."""
    last = len(values) - 1
    good, step = i + 1, 2
    while i + step <= last and _straight(values, i, i + step, tol):
        good, step = i + step, step * 2
    bad = min(i + step, last + 1)
    while bad - good > 1:
        middle = (good + bad) // 2
        if _straight(values, i, middle, tol):
            good = middle
        else:
            bad = middle
    return good
