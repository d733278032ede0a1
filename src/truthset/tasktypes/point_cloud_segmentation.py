"""3D point cloud semantic segmentation: Ground Truth's
``groundtruth/point_cloud_single_frame_semantic_segmentation``.

The answer is a class id per point (``{"point-count", "labels": base64 of zlib(uint8[N])}``,
0 unlabeled, k the label config's label k - 1). The label is Ground Truth's file: the
same encoding without base64 (``array('B', zlib.decompress(data))`` reads it), one byte
per point of the frame in the file's order, written through the exports' label-file
rule (the label attribute ends in ``-ref``); metadata ``{"color-map": {"<id>":
{"class-name", "hex-color", "confidence"}}}`` with "0" the unlabeled class. Several
workers' labels are voted point by point (consensus/spatial/cuboids.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from truthset.errors import BadInput, NotFound
from truthset.tasktypes._cuboid_answers import check_segmentation, decode_labels, encode_labels
from truthset.tasktypes._spatial import (
    adjustment_meta,
    check_job_settings,
    single_worker_confidence,
    worker_skills,
)
from truthset.tasktypes.base import Consolidation, LabelConfig, WorkerAnswer
from truthset.tasktypes.point_clouds import PointCloudType, frame_of, parse_point_cloud_config

LABEL_FILE_NAME = "PointCloudSemanticSegmentation.zlib"
UNLABELED_NAME = "Background"
UNLABELED_COLOR = "#ffffff"
MAX_LABEL_FILE_BYTES = 64 << 20


def frame_point_count(item: Mapping[str, Any]) -> int | None:
    """How many points the item's frame has; None when it cannot be read here."""
    from truthset.media.point_clouds import read_points

    frame = frame_of(item)
    try:
        return read_points(frame.ref, frame.format).count
    except NotFound:
        return None
    except BadInput as exc:
        raise BadInput(f"item: its point cloud cannot be read: {exc.detail}") from None


def color_map(
    config: LabelConfig, confidences: Mapping[int, float], default: float
) -> dict[str, Any]:
    from truthset.consensus.spatial.masks import class_colors

    colors = class_colors(list(config.labels))
    out = {
        "0": {
            "class-name": UNLABELED_NAME,
            "hex-color": UNLABELED_COLOR,
            "confidence": confidences.get(0, default),
        }
    }
    for k, name in enumerate(config.labels, start=1):
        out[str(k)] = {
            "class-name": name,
            "hex-color": colors[k],
            "confidence": confidences.get(k, default),
        }
    return out


@dataclass(frozen=True)
class PointCloudSegmentationType(PointCloudType):
    label_file_name: str = LABEL_FILE_NAME

    def parse_label_config(self, raw: Any) -> LabelConfig:
        config = parse_point_cloud_config(raw)
        if UNLABELED_NAME in config.labels:
            raise BadInput(f"label config: {UNLABELED_NAME!r} is reserved for class 0 (unlabeled)")
        return config

    def check_settings(self, settings: dict[str, Any]) -> None:
        check_job_settings(settings, ())

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        return check_segmentation(answer, config, frame_point_count(item))

    def check_edits(self, content: Mapping[str, Any], prior: Any, config: LabelConfig) -> None:
        """editsAllowed none on a label: the points the earlier label gave it keep it, and
        no other point gets it (the earlier label: Ground Truth's file as an answer, or
        ours, whose file the work API hands over as ``labeledImage``)."""
        from truthset.tasktypes._edits import locked_labels

        locked = locked_labels(config)
        if not locked or not isinstance(prior, Mapping):
            return
        encoded = prior.get("labels")
        if encoded is None:
            encoded = (prior.get("labeledImage") or {}).get("pngImageData")
        if not isinstance(encoded, str):
            return
        count = int(content["point-count"])
        try:
            before = decode_labels(encoded, "the earlier label", count)
        except BadInput:
            return  # the earlier label is of another point count: nothing to keep
        after = decode_labels(content["labels"], "answer.labels", count)
        for label in config.labels:
            if label not in locked:
                continue
            k = config.labels.index(label) + 1
            changed = int(np.count_nonzero((before == k) != (after == k)))
            if changed:
                raise BadInput(
                    f"answer.labels: {changed:,} point{'s' if changed != 1 else ''} changed to or "
                    f"from {label!r}; label "
                    f"{label!r} allows no edits in this job (editsAllowed: none)"
                )

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation:
        from truthset.consensus.spatial.cuboids import PointLabelConsolidator

        if not answers:
            raise ValueError("no answers to consolidate")
        # Answers for another point count than most workers' cannot be voted point by
        # point (possible only when the frame could not be read to check them).
        counts: dict[int, float] = {}
        for a in answers:
            counts[int(a.content["point-count"])] = (
                counts.get(int(a.content["point-count"]), 0) + a.weight
            )
        count = max(counts, key=lambda c: counts[c])
        everyone = answers
        answers = [a for a in answers if int(a.content["point-count"]) == count]
        ids, skills = worker_skills(answers)
        labels = [decode_labels(a.content["labels"], "labels", count) for a in answers]
        fitted = PointLabelConsolidator(n_classes=len(config.labels)).fit(
            labels, [skills[i] for i in ids]
        )
        if len(answers) == 1:
            confidence = single_worker_confidence(answers[0], settings)
            per_class: dict[int, float] = {}
        else:
            confidence = fitted.confidence_
            per_class = fitted.class_confidence_
        meta: dict[str, Any] = {"color-map": color_map(config, per_class, confidence)}
        meta.update(adjustment_meta(everyone, settings))
        return Consolidation(
            value=LABEL_FILE_NAME,
            meta=meta,
            confidence=confidence,
            method="point-vote",
            artifact=zlib.compress(fitted.labels_.tobytes()),
        )

    def initial_answer(
        self, value: Any, meta: Mapping[str, Any], config: LabelConfig
    ) -> dict[str, Any]:
        """An earlier label's classes as the answer a worker adjusts, when the value names
        the file (a label imported from Ground Truth: ``s3://.../x.zlib``). A truthset
        label's file is its artifact, which the work API hands the tool beside this."""
        if not isinstance(value, str) or value == LABEL_FILE_NAME:
            return {}
        from truthset.media.storage import read_document

        data = read_document(value, "point labels", limit=MAX_LABEL_FILE_BYTES)
        try:
            labels = np.frombuffer(zlib.decompress(data), dtype=np.uint8)
        except zlib.error as exc:
            raise BadInput(f"point labels {value!r}: not zlib-compressed ({exc})") from None
        return {"point-count": len(labels), "labels": encode_labels(labels)}

    def agreement(
        self, answer: Mapping[str, Any], reference: Mapping[str, Any], config: LabelConfig
    ) -> float:
        """Mean IoU over the label classes present in either (unlabeled left out); 1.0
        when both label nothing, 0.0 for answers over different point counts."""
        if answer.get("point-count") != reference.get("point-count"):
            return 0.0
        n = int(answer["point-count"])
        a = decode_labels(answer["labels"], "labels", n)
        b = decode_labels(reference["labels"], "labels", n)
        ious = []
        for k in range(1, len(config.labels) + 1):
            inter = int(np.count_nonzero((a == k) & (b == k)))
            union = int(np.count_nonzero((a == k) | (b == k)))
            if union:
                ious.append(inter / union)
        return float(np.mean(ious)) if ious else 1.0


POINT_CLOUD_SEMANTIC_SEGMENTATION = PointCloudSegmentationType(
    name="point-cloud-semantic-segmentation",
    output_type="groundtruth/point_cloud_single_frame_semantic_segmentation",
)
