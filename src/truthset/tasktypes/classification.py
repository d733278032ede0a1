"""Image and text classification, single and multi-label."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from truthset.errors import BadInput
from truthset.tasktypes.base import (
    Consolidation,
    LabelConfig,
    WorkerAnswer,
    parse_gt_label_config,
)


def _vote_confidence(share: float, n_answers: int) -> float:
    # Ground Truth reports 0.00 when a single worker labeled the object.
    return 0.0 if n_answers <= 1 else round(share, 2)


@dataclass(frozen=True)
class SingleLabelClassification:
    name: str
    media: str
    output_type: str
    ui_module: str = "tools/classify.js"
    supports_auto_labeling: bool = True
    multi_label: bool = False

    def parse_label_config(self, raw: Any) -> LabelConfig:
        return parse_gt_label_config(raw, min_labels=2)

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        if not isinstance(answer, dict) or set(answer) - {"label"}:
            raise BadInput('answer must be an object {"label": <one of the job\'s labels>}')
        label = answer.get("label")
        if not isinstance(label, str):
            raise BadInput("answer.label must be a string")
        if label not in config.labels:
            raise BadInput(f"answer.label {label!r} is not one of the job's labels")
        return {"label": label}

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation:
        """Weighted majority vote; ties go to the label first given (stable, documented)."""
        if not answers:
            raise ValueError("no answers to consolidate")
        votes: dict[str, float] = {}
        for a in answers:
            votes[a.content["label"]] = votes.get(a.content["label"], 0.0) + a.weight
        total = sum(votes.values())
        order = {a.content["label"]: i for i, a in reversed(list(enumerate(answers)))}
        best = max(votes, key=lambda lab: (votes[lab], -order[lab]))
        confidence = _vote_confidence(votes[best] / total, len(answers))
        return Consolidation(
            value=config.class_id(best),
            meta={"class-name": best, "confidence": confidence},
            confidence=confidence,
            method="majority-vote",
        )


@dataclass(frozen=True)
class MultiLabelClassification:
    name: str
    media: str
    output_type: str
    ui_module: str = "tools/classify.js"
    supports_auto_labeling: bool = False
    multi_label: bool = True

    def parse_label_config(self, raw: Any) -> LabelConfig:
        return parse_gt_label_config(raw, min_labels=2)

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        if not isinstance(answer, dict) or set(answer) - {"labels"}:
            raise BadInput('answer must be an object {"labels": [<labels of the job>]}')
        labels = answer.get("labels")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise BadInput("answer.labels must be a list of strings")
        for lab in labels:
            if lab not in config.labels:
                raise BadInput(f"answer.labels: {lab!r} is not one of the job's labels")
        if len(set(labels)) != len(labels):
            raise BadInput("answer.labels lists a label twice")
        # Keep the job's label order so that equal answers compare equal.
        return {"labels": [lab for lab in config.labels if lab in labels]}

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation:
        """Ground Truth's rule: every class chosen by at least one worker, with the
        (weighted) share of workers who chose it as that class's confidence."""
        if not answers:
            raise ValueError("no answers to consolidate")
        total = sum(a.weight for a in answers)
        chosen: dict[str, float] = {}
        for a in answers:
            for lab in a.content["labels"]:
                chosen[lab] = chosen.get(lab, 0.0) + a.weight
        class_ids = [config.class_id(lab) for lab in config.labels if lab in chosen]
        class_map = {str(config.class_id(lab)): lab for lab in config.labels if lab in chosen}
        confidence_map = {
            str(config.class_id(lab)): _vote_confidence(chosen[lab] / total, len(answers))
            for lab in config.labels
            if lab in chosen
        }
        overall = (
            min(confidence_map.values()) if confidence_map else _vote_confidence(1.0, len(answers))
        )
        return Consolidation(
            value=class_ids,
            meta={"class-map": class_map, "confidence-map": confidence_map},
            confidence=overall,
            method="majority-vote",
        )


IMAGE_SINGLE = SingleLabelClassification(
    name="image-classification", media="image", output_type="groundtruth/image-classification"
)
TEXT_SINGLE = SingleLabelClassification(
    name="text-classification", media="text", output_type="groundtruth/text-classification"
)
IMAGE_MULTI = MultiLabelClassification(
    name="image-classification-multilabel",
    media="image",
    output_type="groundtruth/image-classification-multilabel",
)
TEXT_MULTI = MultiLabelClassification(
    name="text-classification-multilabel",
    media="text",
    output_type="groundtruth/text-classification-multilabel",
)
