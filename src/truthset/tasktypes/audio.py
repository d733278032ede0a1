"""Audio classification and transcription.

Ground Truth has no built-in audio task types (audio work there runs on custom
templates, whose output type is ``groundTruth/custom``); truthset names them
``groundtruth/audio-classification`` and ``groundtruth/audio-transcription``.

* ``audio-classification`` — single label, exactly like image and text classification
  (answer ``{"label"}``, label value the class id, metadata ``class-name`` and
  ``confidence``, weighted majority vote).
* ``audio-transcription`` — answer ``{"transcription": "<text>"}`` (not blank, at most
  :data:`MAX_TRANSCRIPT` characters); label value the consolidated text, metadata
  ``{"confidence"}``. Consolidation: ROVER word voting weighted by skill
  (:class:`truthset.consensus.spatial.TranscriptionConsolidator`). No labels are needed; a
  label config, if given, is kept (e.g. for tags the tool offers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from truthset.consensus.spatial import TranscriptionConsolidator
from truthset.consensus.spatial.validate import validate_transcription_answer
from truthset.errors import BadInput
from truthset.tasktypes._agreement import word_agreement
from truthset.tasktypes._spatial import (
    check_job_settings,
    checked,
    single_worker_confidence,
    usable_params,
    worker_skills,
)
from truthset.tasktypes.base import (
    GT_DOCUMENT_VERSION,
    Consolidation,
    LabelConfig,
    WorkerAnswer,
    parse_gt_label_config,
)
from truthset.tasktypes.classification import SingleLabelClassification

MAX_TRANSCRIPT = 20_000
TRANSCRIPTION_PARAMS = ("case_sensitive", "ignore_punctuation")

AUDIO_CLASSIFICATION = SingleLabelClassification(
    name="audio-classification",
    media="audio",
    output_type="groundtruth/audio-classification",
    supports_auto_labeling=False,
)


@dataclass(frozen=True)
class AudioTranscriptionType:
    name: str = "audio-transcription"
    media: str = "audio"
    ui_module: str = "tools/transcribe.js"
    output_type: str = "groundtruth/audio-transcription"
    supports_auto_labeling: bool = False
    supports_adjustment: bool = False

    def parse_label_config(self, raw: Any) -> LabelConfig:
        if raw is None or raw == {} or raw == []:
            raw = {"document-version": GT_DOCUMENT_VERSION, "labels": []}
        return parse_gt_label_config(raw, min_labels=0)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Raise BadInput for job settings this type cannot use (for job creation)."""
        check_job_settings(settings, TRANSCRIPTION_PARAMS)

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise BadInput('answer must be an object {"transcription": "<text>"}')
        text = answer.get("transcription")
        if not isinstance(text, str):
            raise BadInput(f"answer.transcription: {text!r} is not text")
        checked(lambda: validate_transcription_answer(answer, max_length=MAX_TRANSCRIPT))
        return {"transcription": text}

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation:
        if not answers:
            raise ValueError("no answers to consolidate")
        ids, skills = worker_skills(answers)
        params = usable_params(settings, TRANSCRIPTION_PARAMS)
        fitted = TranscriptionConsolidator(**params).fit(
            [a.content for a in answers], worker_ids=ids, skills=skills
        )
        confidence = (
            single_worker_confidence(answers[0], settings)
            if len(answers) <= 1
            else round(float(fitted.confidence_), 2)
        )
        return Consolidation(
            value=fitted.label_["transcription"],
            meta={"confidence": confidence},
            confidence=confidence,
            method="rover",
        )

    def agreement(
        self, answer: dict[str, Any], reference: dict[str, Any], config: LabelConfig
    ) -> float:
        """1 - word error rate against a reference transcript (case-insensitive)."""
        return word_agreement(answer["transcription"], reference["transcription"])


AUDIO_TRANSCRIPTION = AudioTranscriptionType()
