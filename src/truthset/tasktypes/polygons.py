"""Polygons, instance segmentation and polylines on images.

Ground Truth publishes no image output for these (its polygon, polyline and keypoint
tools are template elements; only video frame jobs have built-in types, whose
annotations live in a ``SeqLabel.json``). truthset writes them the way Ground Truth
writes boxes, so code that reads object-detection output reads these too:

* ``polygon`` — type ``groundtruth/polygon``; answer ``{"polygons": [{"label",
  "vertices": [{"x", "y"}, ...]}], "inputImageProperties"}`` (3 to 1000 vertices, non-zero
  area, inside the image); label ``{"image_size": [...], "annotations": [{"class_id",
  "vertices": [{"x", "y"}]}]}``, metadata ``objects`` confidences and ``class-map``.
* ``instance-segmentation`` — type ``groundtruth/instance-segmentation``; the polygon
  answer, or the crowd-instance-segmentation tool's ``{"labeledImage": {"pngImageData"},
  "instances": [{"color", "label"}], "inputImageProperties"}`` (one colour per instance);
  the same label as ``polygon`` (each instance traced to its outline).
* ``polyline`` — type ``groundtruth/polyline``; answer ``{"polylines": [{"label",
  "vertices"}]}`` (2 to 1000 vertices) or ``{"lines": [...]}`` (exactly 2); label with
  ``vertices`` per annotation.

Consolidation: :class:`truthset.consensus.spatial.PolygonConsolidator` (mask IoU matching,
pixel vote, outline) and :class:`~truthset.consensus.spatial.PolylineConsolidator`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from truthset.consensus.spatial import PolygonConsolidator, PolylineConsolidator
from truthset.consensus.spatial.masks import _png_bytes, hex_to_rgb, rgb_to_hex
from truthset.consensus.spatial.polygons import crop_iou, instance_crops, rasterize_polygon
from truthset.consensus.spatial.polylines import line_distance, resample
from truthset.consensus.spatial.validate import validate_polygon_answer, validate_polyline_answer
from truthset.errors import BadInput
from truthset.tasktypes import _attribute_answers as attrs
from truthset.tasktypes._objects import SIZE_TOLERANCE, ImageObjectsType
from truthset.tasktypes._spatial import (
    MAX_OBJECTS,
    check_png_header,
    check_vertex_counts,
    checked,
    initial_value_modified,
    number,
    object_list,
    payload_of,
    resolve_image_size,
    size_props,
)
from truthset.tasktypes.base import LabelConfig


def _vertices(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"x": number(v["x"]), "y": number(v["y"])} for v in obj["vertices"]]


@dataclass(frozen=True)
class PolygonType(ImageObjectsType):
    def _check_limits(self, objects: list[Any], key: str) -> None:
        check_vertex_counts(objects, key)

    def _validate(self, payload: dict[str, Any], labels: list[str]) -> None:
        validate_polygon_answer(payload, labels=labels, tolerance=SIZE_TOLERANCE)

    def _prepare(self, payload: Mapping[str, Any], size: tuple[int, int]) -> list[Any]:
        if "instances" in payload and "polygons" not in payload:
            return instance_crops(payload)
        return [
            (p["label"], rasterize_polygon(p["vertices"], *size))
            for p in payload.get("polygons") or []
        ]

    def _similarity(self, a: Any, b: Any, size: tuple[int, int]) -> float:
        return crop_iou(a, b)

    def _normalize(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {"label": obj["label"], "vertices": _vertices(obj)}

    def _from_annotation(self, annotation: Mapping[str, Any], label: str) -> dict[str, Any]:
        return {"label": label, "vertices": _vertices(annotation)}

    def _consolidator(
        self, config: LabelConfig, image_size: tuple[int, int] | None, params: dict[str, Any]
    ) -> Any:
        return PolygonConsolidator(labels=list(config.labels), image_size=image_size, **params)


@dataclass(frozen=True)
class InstanceSegmentationType(PolygonType):
    """Polygon answers, or one PNG painted with one colour per instance."""

    def _payload(self, answer: Any) -> Mapping[str, Any]:
        if isinstance(answer, Mapping):
            for key in ("polygons", "instances"):
                try:
                    return payload_of(answer, key)
                except BadInput:
                    continue
        return payload_of(answer, "polygons")

    def _list_key(self, payload: Mapping[str, Any]) -> str:
        return "polygons" if "polygons" in payload else "instances"

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        payload = self._payload(answer)
        if "polygons" in payload:
            return super().validate_answer(payload, config, item)
        instances = object_list(payload, "instances", MAX_OBJECTS)
        size = resolve_image_size(payload, item)
        png = _instance_png(payload, size, instances, list(config.labels))
        values = attrs.check_object_attributes(instances, "instances", config)
        return {
            "labeledImage": {"pngImageData": png},
            "instances": [
                attrs.with_attributes(
                    {"color": rgb_to_hex(hex_to_rgb(i["color"])), "label": i["label"]}, v
                )
                for i, v in zip(instances, values, strict=True)
            ],
            "inputImageProperties": size_props(size),
            **attrs.frame_part(attrs.check_frame_attributes(payload, config)),
            **initial_value_modified(payload),
        }


def _instance_png(
    payload: Mapping[str, Any],
    size: tuple[int, int],
    instances: list[Any],
    labels: list[str],
) -> str:
    """Check the instance PNG; return its base64 text."""
    image = payload.get("labeledImage")
    data = image.get("pngImageData") if isinstance(image, Mapping) else None
    check_png_header(data, size)
    assert isinstance(data, str)
    colors: dict[int, int] = {}
    for i, inst in enumerate(instances):
        field = f"answer.instances[{i}]"
        if not isinstance(inst, Mapping):
            raise BadInput(f"{field}: {inst!r} is not an object")
        label = inst.get("label")
        if label not in labels:
            raise BadInput(f"{field}.label: {label!r} is not in the label list {labels}")
        try:
            r, g, b = hex_to_rgb(str(inst.get("color")))
        except ValueError:
            raise BadInput(
                f"{field}.color: {inst.get('color')!r} is not a #rrggbb colour"
            ) from None
        packed = r << 16 | g << 8 | b
        if packed == 0xFFFFFF:
            raise BadInput(f"{field}.color: #ffffff is the background colour")
        if packed in colors:
            raise BadInput(
                f"{field}.color: {inst['color']} is also instances[{colors[packed]}]'s colour"
            )
        colors[packed] = i
    try:
        with Image.open(io.BytesIO(checked(lambda: _png_bytes(data)))) as im:
            im.load()
            rgba = np.asarray(im.convert("RGBA"))
    except BadInput:
        raise
    except Exception as exc:
        raise BadInput(f"answer.labeledImage.pngImageData: not a readable PNG ({exc})") from None
    packed_px = (
        rgba[..., 0].astype(np.uint32) << 16 | rgba[..., 1].astype(np.uint32) << 8 | rgba[..., 2]
    )
    painted = packed_px[(rgba[..., 3] > 0) & (packed_px != 0xFFFFFF)]
    present = set(np.unique(painted).tolist())
    for value in sorted(present - set(colors)):
        color = rgb_to_hex(((value >> 16) & 255, (value >> 8) & 255, value & 255))
        raise BadInput(
            f"answer.labeledImage.pngImageData: colour {color} is not the colour of an instance"
        )
    for packed, i in colors.items():
        if packed not in present:
            raise BadInput(
                f"answer.instances[{i}].color: {instances[i]['color']} is not painted in the image"
            )
    return data


@dataclass(frozen=True)
class PolylineType(ImageObjectsType):
    def _payload(self, answer: Any) -> Mapping[str, Any]:
        if isinstance(answer, Mapping):
            try:
                return payload_of(answer, "polylines")
            except BadInput:
                pass
            try:
                return payload_of(answer, "lines")
            except BadInput:
                pass
        return payload_of(answer, "polylines")

    def _list_key(self, payload: Mapping[str, Any]) -> str:
        return "polylines" if "polylines" in payload else "lines"

    def _check_limits(self, objects: list[Any], key: str) -> None:
        check_vertex_counts(objects, key)

    def _validate(self, payload: dict[str, Any], labels: list[str]) -> None:
        validate_polyline_answer(payload, labels=labels, tolerance=SIZE_TOLERANCE)

    def _prepare(self, payload: Mapping[str, Any], size: tuple[int, int]) -> list[Any]:
        return [
            (
                line["label"],
                resample(np.array([(float(v["x"]), float(v["y"])) for v in line["vertices"]]), 32),
            )
            for line in payload.get(self._list_key(payload)) or []
        ]

    def _similarity(self, a: Any, b: Any, size: tuple[int, int]) -> float:
        # The consolidator's default radius: 3% of the image diagonal.
        radius = 0.03 * float(np.hypot(*size))
        return max(0.0, 1.0 - line_distance(a, b)[0] / radius) if radius > 0 else 0.0

    def _normalize(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {"label": obj["label"], "vertices": _vertices(obj)}

    def _from_annotation(self, annotation: Mapping[str, Any], label: str) -> dict[str, Any]:
        return {"label": label, "vertices": _vertices(annotation)}

    def _consolidator(
        self, config: LabelConfig, image_size: tuple[int, int] | None, params: dict[str, Any]
    ) -> Any:
        return PolylineConsolidator(labels=list(config.labels), image_size=image_size, **params)


POLYGON = PolygonType(
    name="polygon",
    output_type="groundtruth/polygon",
    ui_module="tools/polygon.js",
    key="polygons",
    annotation_type="Polygon",
    method="polygon-mask-vote",
    consolidation_keys=("iou_threshold", "min_support", "vote_threshold"),
)
INSTANCE_SEGMENTATION = InstanceSegmentationType(
    name="instance-segmentation",
    output_type="groundtruth/instance-segmentation",
    # The polygon tool with the assisted modes (four extreme points, grow).
    ui_module="tools/instance.js",
    key="polygons",
    annotation_type="Polygon",
    method="polygon-mask-vote",
    consolidation_keys=("iou_threshold", "min_support", "vote_threshold"),
)
POLYLINE = PolylineType(
    name="polyline",
    output_type="groundtruth/polyline",
    ui_module="tools/polyline.js",
    key="polylines",
    annotation_type="Polyline",
    method="polyline-vote",
    match_threshold=1e-9,
    consolidation_keys=("distance_threshold", "min_support"),
)
