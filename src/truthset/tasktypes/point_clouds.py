"""3D point cloud object detection: Ground Truth's ``groundtruth/point_cloud_object_detection``.

The item is a point cloud frame (``source-ref`` + ``source-ref-metadata``, see
media/point_cloud_frames.py); the answer is a list of cuboids (tasktypes/_cuboid_answers.py);
the label holds them inline, as Ground Truth writes them::

    {"annotations": [{"label-category-attributes": {...}, "object-name": "Car:1",
                      "class-id": 0, "center-x", "center-y", "center-z", "length",
                      "width", "height", "roll", "pitch", "yaw"}]}

with metadata ``{"objects": [{"confidence"}], "class_map": {"0": "Car"},
"dataset-object-attributes": {...}}`` (frame attributes). Several workers' cuboids are
consolidated by consensus/spatial/cuboids.py (3D IoU matching, skill-weighted means).
Tracking and semantic segmentation are in point_cloud_tracking.py and
point_cloud_segmentation.py; what the three share is here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from truthset.errors import BadInput
from truthset.tasktypes import _attribute_answers as attrs
from truthset.tasktypes._agreement import soft_f1
from truthset.tasktypes._cuboid_answers import ATTRIBUTES_KEY, check_detection
from truthset.tasktypes._spatial import (
    adjustment_meta,
    check_job_settings,
    overall_confidence,
    single_worker_confidence,
    usable_params,
    worker_skills,
)
from truthset.tasktypes.base import Consolidation, LabelConfig, WorkerAnswer, parse_gt_label_config

CONSOLIDATION_KEYS = ("iou_threshold", "min_support")
DECIMALS = 4
_OBJECT_NAME = re.compile(r"^(.*):([1-9][0-9]*)$")
# Ground Truth's 3D label configs take at most 30 labels.
MAX_LABELS = 30


def parse_point_cloud_config(raw: Any, *, max_labels: int = MAX_LABELS) -> LabelConfig:
    config = parse_gt_label_config(raw, min_labels=1, with_attributes=True)
    if config.annotation_type is not None:
        raise BadInput(
            "label config: annotationType: video frame jobs only; a point cloud job draws cuboids"
        )
    if len(config.labels) > max_labels:
        raise BadInput(f"label config: {len(config.labels)} labels; at most {max_labels}")
    return config


def frame_of(item: Mapping[str, Any]) -> Any:
    """The item's frame metadata, validated (BadInput naming the field)."""
    from truthset.media.point_cloud_frames import single_frame

    try:
        return single_frame(item)
    except BadInput as exc:
        raise BadInput(f"item: {exc.detail}") from None


def cuboid_array(obj: Mapping[str, Any]) -> np.ndarray:
    from truthset.geometry.cuboids import from_json

    return from_json(obj)


def cuboid_edit_numbers(obj: Mapping[str, Any]) -> np.ndarray:
    """A cuboid's numbers for the editsAllowed check: centre and size, then each angle's
    cosine and sine (an angle and itself plus a turn are the same pose)."""
    c = cuboid_array(obj)
    return np.concatenate([c[:6], np.cos(c[6:]), np.sin(c[6:])])


def cuboid_json(c: np.ndarray) -> dict[str, float]:
    from truthset.geometry.cuboids import to_json

    return to_json(c, DECIMALS)


def object_name(label: str, number: int) -> str:
    return f"{label}:{number}"


def parse_object_name(name: Any, label: str) -> int | None:
    """The number of ``"Car:3"`` when it names ``label``."""
    match = _OBJECT_NAME.match(name) if isinstance(name, str) else None
    return int(match.group(2)) if match and match.group(1) == label else None


def unique_numbers(wanted: Sequence[tuple[str, int]]) -> list[int]:
    """Numbers per object, the wanted one unless an earlier object of the label has it
    (then the next free one)."""
    taken: dict[str, set[int]] = {}
    out = []
    for label, number in wanted:
        used = taken.setdefault(label, set())
        while number in used:
            number += 1
        used.add(number)
        out.append(number)
    return out


def class_map(labels: Sequence[str], config: LabelConfig) -> dict[str, str]:
    ids = sorted({config.class_id(label) for label in labels})
    return {str(i): config.labels[i] for i in ids}


def names_of(meta: Mapping[str, Any], config: LabelConfig) -> dict[int, str]:
    """Class id to name: the label's class map (Ground Truth's 3D detection writes
    ``class_map``, tracking ``class-map``), else the label config's order."""
    names = dict(enumerate(config.labels))
    for key in ("class_map", "class-map"):
        for k, name in (meta.get(key) or {}).items():
            names[int(k)] = str(name)
    return names


@dataclass(frozen=True)
class PointCloudType:
    """What the three point cloud task types share."""

    name: str
    output_type: str
    media: str = "point-cloud"
    ui_module: str = "tools/pointcloud.js"
    supports_auto_labeling: bool = False
    supports_adjustment: bool = True
    # The viewer starts an adjustment job from the earlier label in the answer shape
    # (jobs.views runs `initial_answer` on it).
    prior_label_as_answer: bool = True

    def parse_label_config(self, raw: Any) -> LabelConfig:
        return parse_point_cloud_config(raw)

    def check_settings(self, settings: dict[str, Any]) -> None:
        check_job_settings(settings, CONSOLIDATION_KEYS)


@dataclass(frozen=True)
class PointCloudDetectionType(PointCloudType):
    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        frame_of(item)
        return check_detection(answer, config)

    def check_edits(self, content: Mapping[str, Any], prior: Any, config: LabelConfig) -> None:
        """The label config's editsAllowed against the earlier label (tasktypes/_edits.py)."""
        from truthset.tasktypes._edits import check_edits, objects_view

        check_edits(
            objects_view(content, "cuboids", cuboid_edit_numbers),
            objects_view(prior, "cuboids", cuboid_edit_numbers),
            config,
            noun="cuboid",
        )

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation:
        from truthset.consensus.spatial.cuboids import CuboidConsolidator

        if not answers:
            raise ValueError("no answers to consolidate")
        ids, skills = worker_skills(answers)
        contents = [a.content for a in answers]
        per_worker = [
            [(o["label"], cuboid_array(o)) for o in c.get("cuboids") or []] for c in contents
        ]
        fitted = CuboidConsolidator(**usable_params(settings, CONSOLIDATION_KEYS)).fit(
            per_worker, [skills[i] for i in ids]
        )
        results = fitted.cuboids_
        single = len(answers) == 1
        own = single_worker_confidence(answers[0], settings) if single else None
        confidences = [own if own is not None else r.confidence for r in results]
        object_values = attrs.consolidate_object_attributes(
            contents,
            ["cuboids"] * len(contents),
            [[(str(w), k) for w, k in r.members] for r in results],
            skills,
        )
        numbers = unique_numbers(
            [
                (r.label, contents[r.members[0][0]]["cuboids"][r.members[0][1]]["number"])
                for r in results
            ]
        )
        annotations = []
        for r, number, values in zip(results, numbers, object_values, strict=True):
            annotation: dict[str, Any] = {}
            if config.has_label_attributes:
                annotation[ATTRIBUTES_KEY] = values
            annotation["object-name"] = object_name(r.label, number)
            annotation["class-id"] = config.class_id(r.label)
            annotation.update(cuboid_json(r.cuboid))
            annotations.append(annotation)
        meta: dict[str, Any] = {
            "objects": [{"confidence": c} for c in confidences],
            "class_map": class_map([r.label for r in results], config),
        }
        if config.frame_attributes:
            meta[attrs.META_FRAME_KEY] = attrs.consolidate_frame_attributes(
                contents, [skills[i] for i in ids]
            )
        meta.update(adjustment_meta(answers, settings))
        confidence = overall_confidence(
            confidences, answers, lambda content: not content.get("cuboids"), settings
        )
        return Consolidation(
            value={"annotations": annotations},
            meta=meta,
            confidence=confidence,
            method="cuboid-iou-vote",
        )

    def initial_answer(
        self, value: Any, meta: Mapping[str, Any], config: LabelConfig
    ) -> dict[str, Any]:
        """An earlier detection label (truthset's or Ground Truth's) as the answer a
        worker adjusts."""
        names = names_of(meta, config)
        cuboids = []
        wanted = []
        for a in value.get("annotations") or []:
            label = names.get(int(a["class-id"]), str(a["class-id"]))
            number = parse_object_name(a.get("object-name"), label) or 1
            wanted.append((label, number))
            obj: dict[str, Any] = {"label": label, "number": number}
            obj.update(cuboid_json(cuboid_array(a)))
            cuboids.append(attrs.with_attributes(obj, a.get(ATTRIBUTES_KEY) or {}))
        for obj, number in zip(cuboids, unique_numbers(wanted), strict=True):
            obj["number"] = number
        return {"cuboids": cuboids, **attrs.prior_frame_attributes(meta)}

    def agreement(
        self, answer: Mapping[str, Any], reference: Mapping[str, Any], config: LabelConfig
    ) -> float:
        """Soft F1 of the cuboids matched by 3D IoU (0.5 to count)."""
        from truthset.consensus.spatial.cuboids import cuboid_similarity

        def prepared(payload: Mapping[str, Any]) -> list[tuple[str, np.ndarray]]:
            return [(o["label"], cuboid_array(o)) for o in payload.get("cuboids") or []]

        return soft_f1(
            prepared(answer),
            prepared(reference),
            lambda o: o[0],
            lambda a, b: cuboid_similarity(a[1], b[1]),
            0.5,
        )


POINT_CLOUD_OBJECT_DETECTION = PointCloudDetectionType(
    name="point-cloud-object-detection",
    output_type="groundtruth/point_cloud_object_detection",
)
