"""Label verification: Ground Truth's ``groundtruth/label-verification``.

A verification job is chained from an earlier job (``input_job``); the worker sees that
job's label of the item (``prior_label`` in the ``next`` response) and gives a verdict.
The label config lists the verdicts (at least two, e.g. ``["good", "bad"]``; their order
gives the class ids). Answer ``{"label": <verdict>, "comment": <optional text of at most
1000 characters>}``.

Label value: the verdict's class id as a string (``"1"``, as in Ground Truth's published
example); metadata ``{"class-name", "confidence", "worker-feedback": [{"comment"}]}``.
Consolidation: weighted majority vote, confidence = vote share (0.00 with one worker), ties
to the verdict given first; ``worker-feedback`` holds every non-blank comment, in
submission order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from truthset.errors import BadInput
from truthset.tasktypes._spatial import check_job_settings
from truthset.tasktypes.base import (
    Consolidation,
    LabelConfig,
    WorkerAnswer,
    parse_gt_label_config,
)

MAX_COMMENT = 1000


@dataclass(frozen=True)
class LabelVerificationType:
    name: str = "label-verification"
    # The verified labels are images (boxes, masks) in Ground Truth; the tool renders the
    # prior label over the item whatever its media.
    media: str = "image"
    ui_module: str = "tools/verify.js"
    output_type: str = "groundtruth/label-verification"
    supports_auto_labeling: bool = False
    supports_adjustment: bool = False
    requires_input_job: bool = True

    def parse_label_config(self, raw: Any) -> LabelConfig:
        return parse_gt_label_config(raw, min_labels=2)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Raise BadInput for job settings this type cannot use (for job creation)."""
        check_job_settings(settings, ())

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        if not isinstance(answer, dict) or set(answer) - {"label", "comment"}:
            raise BadInput(
                'answer must be an object {"label": <verdict>, "comment": <optional text>}'
            )
        label = answer.get("label")
        if not isinstance(label, str):
            raise BadInput(f"answer.label: {label!r} is not a verdict name")
        if label not in config.labels:
            raise BadInput(
                f"answer.label: {label!r} is not one of the verdicts {list(config.labels)}"
            )
        comment = answer.get("comment")
        if comment is None:
            comment = ""
        if not isinstance(comment, str):
            raise BadInput(f"answer.comment: {comment!r} is not text")
        if len(comment) > MAX_COMMENT:
            raise BadInput(
                f"answer.comment: {len(comment)} characters, at most {MAX_COMMENT} are allowed"
            )
        out: dict[str, Any] = {"label": label}
        if comment.strip():
            out["comment"] = comment.strip()
        return out

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation:
        if not answers:
            raise ValueError("no answers to consolidate")
        votes: dict[str, float] = {}
        for a in answers:
            votes[a.content["label"]] = votes.get(a.content["label"], 0.0) + max(
                float(a.weight), 0.0
            )
        first = {a.content["label"]: i for i, a in reversed(list(enumerate(answers)))}
        best = max(first, key=lambda lab: (votes[lab], -first[lab]))
        total = sum(votes.values())
        share = votes[best] / total if total > 0 else 0.0
        confidence = 0.0 if len(answers) <= 1 else round(share, 2)
        feedback = [
            {"comment": a.content["comment"]}
            for a in answers
            if isinstance(a.content.get("comment"), str) and a.content["comment"].strip()
        ]
        return Consolidation(
            value=str(config.class_id(best)),
            meta={"class-name": best, "confidence": confidence, "worker-feedback": feedback},
            confidence=confidence,
            method="majority-vote",
        )

    def agreement(
        self, answer: dict[str, Any], reference: dict[str, Any], config: LabelConfig
    ) -> float:
        """1.0 for the same verdict, else 0.0 (comments do not count)."""
        return float(answer.get("label") == reference.get("label"))


LABEL_VERIFICATION = LabelVerificationType()
