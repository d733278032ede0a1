"""Validation of raw worker answers, for the task-type plugins.

Each function takes the tool payload (or any shape ``unwrap_answer`` accepts) and the
item's facts (image size, text, label list) and raises ``ValueError`` whose message
starts with the offending field path and shows the value, e.g.
``boundingBoxes[1].left: -3 is outside the image (width 800)``. They return nothing.

Geometry may touch the image border: coordinates in ``[0, width]`` and ``[0, height]``
are accepted (``tolerance`` pixels more, for tools that round outwards).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._common import unwrap_answer
from .masks import BACKGROUND, _names, decode_label_png, hex_to_rgb
from .transcripts import transcript_text


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field}: {value!r} is not a number")
    if not math.isfinite(value):
        raise ValueError(f"{field}: {value!r} is not a finite number")
    return float(value)


def _label(entry: Mapping[str, Any], field: str, labels: Sequence[Any] | None) -> None:
    if "label" not in entry:
        raise ValueError(f"{field}.label: missing")
    value = entry["label"]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field}.label: {value!r} is not a label name")
    if labels is not None:
        names = _names(labels)
        if value not in names:
            raise ValueError(f"{field}.label: {value!r} is not in the label list {names}")


def _size(image_size: Any) -> tuple[float, float]:
    if isinstance(image_size, Mapping):
        return float(image_size["width"]), float(image_size["height"])
    w, h = image_size
    return float(w), float(h)


def _list(payload: Mapping[str, Any], key: str) -> list[Any]:
    value = payload.get(key)
    if not isinstance(value, list):
        raise ValueError(f"{key}: {value!r} is not a list")
    return value


def _image_properties(payload: Mapping[str, Any], image_size: Any) -> tuple[float, float]:
    """The image size to check against; the answer's own properties must agree with it."""
    props = payload.get("inputImageProperties")
    if image_size is None:
        if not isinstance(props, Mapping):
            raise ValueError("inputImageProperties: missing and no image size given")
        width = _number(props.get("width"), "inputImageProperties.width")
        height = _number(props.get("height"), "inputImageProperties.height")
        return width, height
    width, height = _size(image_size)
    if isinstance(props, Mapping):
        for key, expected in (("width", width), ("height", height)):
            got = props.get(key)
            if got is not None and _number(got, f"inputImageProperties.{key}") != expected:
                raise ValueError(
                    f"inputImageProperties.{key}: {got} differs from the image's {expected:g}"
                )
    return width, height


def _point(
    point: Mapping[str, Any], field: str, width: float, height: float, tolerance: float
) -> None:
    for key, limit, name in (("x", width, "width"), ("y", height, "height")):
        value = _number(point.get(key), f"{field}.{key}")
        if value < -tolerance or value > limit + tolerance:
            raise ValueError(f"{field}.{key}: {value:g} is outside the image ({name} {limit:g})")


def validate_bounding_box_answer(
    answer: Any,
    *,
    image_size: Any = None,
    labels: Sequence[Any] | None = None,
    tolerance: float = 0.0,
) -> None:
    """Boxes: numbers, positive size, inside the image, labels from the config."""
    payload = unwrap_answer(answer, "boundingBoxes")
    width, height = _image_properties(payload, image_size)
    for i, box in enumerate(_list(payload, "boundingBoxes")):
        field = f"boundingBoxes[{i}]"
        if not isinstance(box, Mapping):
            raise ValueError(f"{field}: {box!r} is not an object")
        _label(box, field, labels)
        vals = {k: _number(box.get(k), f"{field}.{k}") for k in ("left", "top", "width", "height")}
        for k in ("width", "height"):
            if vals[k] <= 0:
                raise ValueError(f"{field}.{k}: {vals[k]:g} must be positive")
        if vals["left"] < -tolerance:
            raise ValueError(
                f"{field}.left: {vals['left']:g} is outside the image (width {width:g})"
            )
        if vals["top"] < -tolerance:
            raise ValueError(
                f"{field}.top: {vals['top']:g} is outside the image (height {height:g})"
            )
        if vals["left"] + vals["width"] > width + tolerance:
            raise ValueError(
                f"{field}.width: left {vals['left']:g} + width {vals['width']:g}"
                f" is outside the image (width {width:g})"
            )
        if vals["top"] + vals["height"] > height + tolerance:
            raise ValueError(
                f"{field}.height: top {vals['top']:g} + height {vals['height']:g}"
                f" is outside the image (height {height:g})"
            )


def _validate_vertices(
    payload: Mapping[str, Any],
    key: str,
    min_vertices: int,
    width: float,
    height: float,
    labels: Sequence[Any] | None,
    tolerance: float,
    max_vertices: int | None = None,
) -> None:
    for i, shape in enumerate(_list(payload, key)):
        field = f"{key}[{i}]"
        if not isinstance(shape, Mapping):
            raise ValueError(f"{field}: {shape!r} is not an object")
        _label(shape, field, labels)
        vertices = shape.get("vertices")
        if not isinstance(vertices, list):
            raise ValueError(f"{field}.vertices: {vertices!r} is not a list")
        if len(vertices) < min_vertices or (
            max_vertices is not None and len(vertices) > max_vertices
        ):
            need = f"{min_vertices}" if max_vertices is None else f"{min_vertices}-{max_vertices}"
            raise ValueError(f"{field}.vertices: {len(vertices)} vertices, need {need}")
        for j, v in enumerate(vertices):
            if not isinstance(v, Mapping):
                raise ValueError(f"{field}.vertices[{j}]: {v!r} is not a point")
            _point(v, f"{field}.vertices[{j}]", width, height, tolerance)
        if min_vertices >= 3:
            xs = np.array([float(v["x"]) for v in vertices])
            ys = np.array([float(v["y"]) for v in vertices])
            area = 0.5 * abs(float(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))))
            if area == 0:
                raise ValueError(f"{field}.vertices: the polygon has zero area")


def validate_polygon_answer(
    answer: Any,
    *,
    image_size: Any = None,
    labels: Sequence[Any] | None = None,
    tolerance: float = 0.0,
) -> None:
    """Polygons: at least 3 vertices, non-zero area, inside the image, labels from the config."""
    payload = unwrap_answer(answer, "polygons")
    width, height = _image_properties(payload, image_size)
    _validate_vertices(payload, "polygons", 3, width, height, labels, tolerance)


def validate_polyline_answer(
    answer: Any,
    *,
    image_size: Any = None,
    labels: Sequence[Any] | None = None,
    tolerance: float = 0.0,
) -> None:
    """Polylines (>= 2 vertices) or lines (exactly 2), inside the image."""
    try:
        payload = unwrap_answer(answer, "polylines")
        key, top = "polylines", None
    except ValueError:
        payload = unwrap_answer(answer, "lines")
        key, top = "lines", 2
    width, height = _image_properties(payload, image_size)
    _validate_vertices(payload, key, 2, width, height, labels, tolerance, max_vertices=top)


def validate_keypoint_answer(
    answer: Any,
    *,
    image_size: Any = None,
    labels: Sequence[Any] | None = None,
    tolerance: float = 0.0,
) -> None:
    """Keypoints: numbers inside the image, labels from the config."""
    payload = unwrap_answer(answer, "keypoints")
    width, height = _image_properties(payload, image_size)
    for i, point in enumerate(_list(payload, "keypoints")):
        field = f"keypoints[{i}]"
        if not isinstance(point, Mapping):
            raise ValueError(f"{field}: {point!r} is not an object")
        _label(point, field, labels)
        _point(point, field, width, height, tolerance)


def validate_semantic_segmentation_answer(
    answer: Any, *, image_size: Any = None, labels: Sequence[Any]
) -> np.ndarray:
    """Mask PNG: decodable, the image's size, colours only from ``labelMappings``,
    mapping labels from the config. Returns the decoded class-index mask."""
    payload = unwrap_answer(answer, "labeledImage")
    width, height = _image_properties(payload, image_size)
    image = payload["labeledImage"]
    if not isinstance(image, Mapping) or not isinstance(image.get("pngImageData"), str):
        raise ValueError("labeledImage.pngImageData: missing or not a base64 string")
    mappings = payload.get("labelMappings") or {}
    if not isinstance(mappings, Mapping):
        raise ValueError(f"labelMappings: {mappings!r} is not an object")
    names = _names(labels)
    for name, entry in mappings.items():
        if name not in names and name != BACKGROUND:
            raise ValueError(
                f"labelMappings.{name}: label {name!r} is not in the label list {names}"
            )
        color = entry.get("color") if isinstance(entry, Mapping) else entry
        try:
            hex_to_rgb(str(color))
        except ValueError:
            raise ValueError(
                f"labelMappings.{name}.color: {color!r} is not a #rrggbb colour"
            ) from None
    mask = decode_label_png(image["pngImageData"], mappings, names)
    if mask.shape != (int(height), int(width)):
        raise ValueError(
            f"labeledImage.pngImageData: mask is {mask.shape[1]}x{mask.shape[0]},"
            f" the image is {width:g}x{height:g}"
        )
    return mask


def validate_class_mask(mask: np.ndarray, *, image_size: Any, n_labels: int) -> None:
    """A class-index mask array: 2-d integers, the image's size, classes 0..n_labels."""
    m = np.asarray(mask)
    width, height = _size(image_size)
    if m.ndim != 2 or not np.issubdtype(m.dtype, np.integer):
        raise ValueError(f"mask: expected a 2-d integer array, got {m.dtype} with shape {m.shape}")
    if m.shape != (int(height), int(width)):
        raise ValueError(
            f"mask: shape {m.shape} differs from the image's ({int(height)}, {int(width)})"
        )
    if m.size and (int(m.min()) < 0 or int(m.max()) > n_labels):
        bad = int(m.max()) if int(m.max()) > n_labels else int(m.min())
        raise ValueError(f"mask: class {bad} is outside 0..{n_labels}")


def validate_named_entity_answer(
    answer: Any, *, text: str, labels: Sequence[Any] | None = None, allow_overlap: bool = True
) -> None:
    """Entities: integer offsets, non-empty, inside the text, labels from the config."""
    payload = unwrap_answer(answer, "entities")
    spans = []
    for i, ent in enumerate(_list(payload, "entities")):
        field = f"entities[{i}]"
        if not isinstance(ent, Mapping):
            raise ValueError(f"{field}: {ent!r} is not an object")
        _label(ent, field, labels)
        offsets = {}
        for key in ("startOffset", "endOffset"):
            v = ent.get(key)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{field}.{key}: {v!r} is not an integer offset")
            if v < 0 or v > len(text):
                raise ValueError(f"{field}.{key}: {v} is outside the text (length {len(text)})")
            offsets[key] = v
        if offsets["endOffset"] <= offsets["startOffset"]:
            raise ValueError(
                f"{field}.endOffset: {offsets['endOffset']} is not after startOffset"
                f" {offsets['startOffset']} (empty span)"
            )
        if not text[offsets["startOffset"] : offsets["endOffset"]].strip():
            raise ValueError(
                f"{field}: span {offsets['startOffset']}-{offsets['endOffset']} is only whitespace"
            )
        spans.append((offsets["startOffset"], offsets["endOffset"], i))
    if not allow_overlap:
        spans.sort()
        for (s0, e0, i0), (s1, _, i1) in zip(spans, spans[1:], strict=False):
            if s1 < e0:
                raise ValueError(
                    f"entities[{i1}].startOffset: {s1} overlaps entities[{i0}] ({s0}-{e0})"
                )


def validate_transcription_answer(answer: Any, *, max_length: int = 100_000) -> None:
    """Transcript: text, not blank, at most ``max_length`` characters."""
    try:
        text = transcript_text(answer)
    except ValueError as exc:
        raise ValueError(f"transcription: {exc}") from None
    if not text.strip():
        raise ValueError(f"transcription: {text!r} is blank")
    if len(text) > max_length:
        raise ValueError(f"transcription: {len(text)} characters, more than {max_length}")


VALIDATORS = {
    "bounding-box": validate_bounding_box_answer,
    "polygon": validate_polygon_answer,
    "polyline": validate_polyline_answer,
    "keypoint": validate_keypoint_answer,
    "semantic-segmentation": validate_semantic_segmentation_answer,
    "named-entity": validate_named_entity_answer,
    "transcription": validate_transcription_answer,
}
