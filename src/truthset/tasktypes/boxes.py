"""Bounding boxes: Ground Truth's ``groundtruth/object-detection``.

Answer (the crowd-bounding-box tool's payload, also accepted wrapped in its element
name): ``{"boundingBoxes": [{"label", "left", "top", "width", "height"}],
"inputImageProperties": {"width", "height"}}`` in image pixels, origin top-left, plus
``initialValueModified`` in adjustment jobs.

Label: ``{"image_size": [{"width", "height", "depth": 3}], "annotations": [{"class_id",
"left", "top", "width", "height"}]}``; metadata ``{"objects": [{"confidence"}],
"class-map": {"<id>": name}}`` (same order as ``annotations``). Consolidation:
:class:`truthset.consensus.spatial.BoundingBoxConsolidator` (IoU matching across workers,
skill-weighted support vote and edges).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from truthset.consensus.spatial import BoundingBoxConsolidator, box_iou
from truthset.consensus.spatial.validate import validate_bounding_box_answer
from truthset.tasktypes._objects import SIZE_TOLERANCE, ImageObjectsType
from truthset.tasktypes._spatial import number
from truthset.tasktypes.base import LabelConfig


@dataclass(frozen=True)
class BoundingBoxType(ImageObjectsType):
    def _validate(self, payload: dict[str, Any], labels: list[str]) -> None:
        validate_bounding_box_answer(payload, labels=labels, tolerance=SIZE_TOLERANCE)

    def _normalize(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "label": obj["label"],
            **{k: number(obj[k]) for k in ("left", "top", "width", "height")},
        }

    def _from_annotation(self, annotation: Mapping[str, Any], label: str) -> dict[str, Any]:
        return {"label": label, **{k: annotation[k] for k in ("left", "top", "width", "height")}}

    def _similarity(self, a: Any, b: Any, size: tuple[int, int]) -> float:
        keys = ("left", "top", "width", "height")
        return float(box_iou(np.array([a[k] for k in keys]), np.array([b[k] for k in keys])))

    def _consolidator(
        self, config: LabelConfig, image_size: tuple[int, int] | None, params: dict[str, Any]
    ) -> Any:
        return BoundingBoxConsolidator(labels=list(config.labels), image_size=image_size, **params)


BOUNDING_BOX = BoundingBoxType(
    name="bounding-box",
    output_type="groundtruth/object-detection",
    ui_module="tools/bbox.js",
    key="boundingBoxes",
    annotation_type="BoundingBox",
    supports_auto_labeling=True,
    method="box-iou-vote",
    consolidation_keys=("iou_threshold", "min_support", "method"),
)
