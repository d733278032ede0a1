"""Keypoints on images.

Ground Truth has a keypoint tool (crowd-keypoint) but no built-in image keypoint task
type and so no published output; truthset writes ``groundtruth/keypoint`` in the shape of
its object-detection output. Answer ``{"keypoints": [{"label", "x", "y"}],
"inputImageProperties"}``; label ``{"image_size": [...], "annotations": [{"class_id", "x",
"y"}]}``, metadata ``objects`` confidences and ``class-map``. Consolidation:
:class:`truthset.consensus.spatial.KeypointConsolidator` (distance matching, weighted mean).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from truthset.consensus.spatial import KeypointConsolidator
from truthset.consensus.spatial.validate import validate_keypoint_answer
from truthset.tasktypes._objects import SIZE_TOLERANCE, ImageObjectsType
from truthset.tasktypes._spatial import number
from truthset.tasktypes.base import LabelConfig


@dataclass(frozen=True)
class KeypointType(ImageObjectsType):
    def _validate(self, payload: dict[str, Any], labels: list[str]) -> None:
        validate_keypoint_answer(payload, labels=labels, tolerance=SIZE_TOLERANCE)

    def _normalize(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        return {"label": obj["label"], "x": number(obj["x"]), "y": number(obj["y"])}

    def _from_annotation(self, annotation: Mapping[str, Any], label: str) -> dict[str, Any]:
        return {"label": label, "x": annotation["x"], "y": annotation["y"]}

    def _similarity(self, a: Any, b: Any, size: tuple[int, int]) -> float:
        # The consolidator's defaults: matched within 5% of the image diagonal, scored
        # by a gaussian of half that radius (1 on the spot, ~0.14 at the radius).
        sigma = 0.025 * math.hypot(*size)
        d2 = (float(a["x"]) - float(b["x"])) ** 2 + (float(a["y"]) - float(b["y"])) ** 2
        return math.exp(-d2 / (2 * sigma**2)) if sigma > 0 else float(d2 == 0)

    def _consolidator(
        self, config: LabelConfig, image_size: tuple[int, int] | None, params: dict[str, Any]
    ) -> Any:
        return KeypointConsolidator(labels=list(config.labels), image_size=image_size, **params)


KEYPOINT = KeypointType(
    name="keypoint",
    output_type="groundtruth/keypoint",
    ui_module="tools/keypoint.js",
    key="keypoints",
    annotation_type="Keypoint",
    method="keypoint-vote",
    match_threshold=math.exp(-2),
    consolidation_keys=("distance_threshold", "scale", "min_support"),
)
