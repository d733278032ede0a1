"""Named-entity recognition: Ground Truth's ``groundtruth/text-span``.

Label config: the category file, whose labels may carry ``shortDisplayName``, plus the
optional ``instructions`` object ``{"shortInstruction", "fullInstruction"}`` (HTML).

Answer (crowd-entity-annotation's payload): ``{"entities": [{"label", "startOffset",
"endOffset"}]}``, offsets in Unicode code points of the item's ``source`` text (Python
string indices), ``endOffset`` the first code point after the span; spans are non-empty,
not only whitespace, inside the text; overlapping spans are allowed.

Label ``{"annotations": {"labels": [<the config's label entries>], "entities": [{"label",
"startOffset", "endOffset"}]}}``, metadata ``{"entities": [{"confidence"}]}`` in the same
order. Consolidation: :class:`truthset.consensus.spatial.NamedEntityConsolidator`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from truthset.consensus.spatial import NamedEntityConsolidator, span_jaccard
from truthset.consensus.spatial.validate import validate_named_entity_answer
from truthset.errors import BadInput
from truthset.tasktypes._agreement import soft_f1
from truthset.tasktypes._spatial import (
    MAX_OBJECTS,
    adjustment_meta,
    check_job_settings,
    checked,
    initial_value_modified,
    object_list,
    overall_confidence,
    payload_of,
    single_worker_objects,
    usable_params,
    worker_skills,
)
from truthset.tasktypes.base import (
    Consolidation,
    LabelConfig,
    WorkerAnswer,
    parse_gt_label_config,
)

MAX_SHORT_NAME = 16
NER_PARAMS = ("jaccard_threshold", "min_support")
MAX_INSTRUCTIONS = 200_000


@dataclass(frozen=True)
class NamedEntityType:
    name: str = "named-entity-recognition"
    media: str = "text"
    ui_module: str = "tools/ner.js"
    output_type: str = "groundtruth/text-span"
    supports_auto_labeling: bool = False
    supports_adjustment: bool = True

    def parse_label_config(self, raw: Any) -> LabelConfig:
        config = parse_gt_label_config(raw, min_labels=1)
        for i, entry in enumerate(config.raw["labels"]):
            if "shortDisplayName" in entry:
                short = entry["shortDisplayName"]
                if not isinstance(short, str) or not 0 < len(short.strip()) <= MAX_SHORT_NAME:
                    raise BadInput(
                        f"label config: labels[{i}].shortDisplayName {short!r} must be text of"
                        f" 1 to {MAX_SHORT_NAME} characters"
                    )
        if "instructions" in config.raw:
            instructions = config.raw["instructions"]
            if not isinstance(instructions, dict):
                raise BadInput(
                    "label config: instructions must be an object"
                    ' {"shortInstruction": ..., "fullInstruction": ...}'
                )
            for key, value in instructions.items():
                if key not in ("shortInstruction", "fullInstruction"):
                    raise BadInput(f"label config: instructions.{key} is not a known field")
                if not isinstance(value, str) or len(value) > MAX_INSTRUCTIONS:
                    raise BadInput(
                        f"label config: instructions.{key} must be text of at most"
                        f" {MAX_INSTRUCTIONS:,} characters"
                    )
        return config

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Raise BadInput for job settings this type cannot use (for job creation)."""
        check_job_settings(settings, NER_PARAMS)

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        text = item.get("source")
        if not isinstance(text, str):
            raise BadInput("item: named-entity recognition needs inline text ('source')")
        payload = payload_of(answer, "entities")
        entities = object_list(payload, "entities", MAX_OBJECTS)
        checked(
            lambda: validate_named_entity_answer(
                {"entities": entities}, text=text, labels=list(config.labels)
            )
        )
        return {
            "entities": [
                {"label": e["label"], "startOffset": e["startOffset"], "endOffset": e["endOffset"]}
                for e in entities
            ],
            **initial_value_modified(payload),
        }

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation:
        if not answers:
            raise ValueError("no answers to consolidate")
        ids, skills = worker_skills(answers)
        params = usable_params(settings, NER_PARAMS)
        fitted = NamedEntityConsolidator(labels=list(config.raw["labels"]), **params).fit(
            [a.content for a in answers], worker_ids=ids, skills=skills
        )
        meta: dict[str, Any] = dict(fitted.metadata_)
        meta["entities"] = single_worker_objects(meta["entities"], answers, settings)
        meta.update(adjustment_meta(answers, settings))
        confidence = overall_confidence(
            [e["confidence"] for e in fitted.metadata_["entities"]],
            answers,
            lambda content: not content.get("entities"),
            settings,
        )
        return Consolidation(
            value=fitted.label_, meta=meta, confidence=confidence, method="span-vote"
        )

    def agreement(
        self, answer: dict[str, Any], reference: dict[str, Any], config: LabelConfig
    ) -> float:
        """Soft F1 in [0, 1] of the spans (same label, Jaccard >= 0.5) against a reference."""

        def span(e: dict[str, Any]) -> tuple[int, int]:
            return int(e["startOffset"]), int(e["endOffset"])

        return soft_f1(
            answer.get("entities") or [],
            reference.get("entities") or [],
            lambda e: e["label"],
            lambda a, b: span_jaccard(span(a), span(b)),
            0.5,
        )

    def initial_answer(
        self, value: Any, meta: dict[str, Any], config: LabelConfig
    ) -> dict[str, Any]:
        """The tool's initial value for an adjustment job, from an earlier job's label."""
        return {"entities": [dict(e) for e in value["annotations"]["entities"]]}


NAMED_ENTITY_RECOGNITION = NamedEntityType()
