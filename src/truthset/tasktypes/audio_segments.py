"""Time segments of audio: ``audio-segmentation`` (speakers, sound events, languages: a
label per segment) and ``audio-segment-transcription`` (a speaker label and the words said
in each segment). Ground Truth has no built-in audio types (its audio work runs on custom
templates); truthset names their outputs ``groundtruth/audio-segmentation`` and
``groundtruth/audio-segment-transcription``. See docs/audio-segments.md.

Label config: the category file, 2018 or 2020 format, at least one label. In the 2020
format ``categoryGlobalAttributes`` / ``categoryAttributes`` are segment attributes
(``label-category-attributes``) and ``frameAttributes`` clip attributes
(``frame-attributes``), as for the image object types.

Job settings: ``allow_overlap`` (default true; when false no two segments of an answer may
overlap, whatever their labels, and the consolidated segments are made disjoint),
``consolidation.iou_threshold`` (0.5), ``consolidation.min_support`` (a majority of the
worker weight), and for transcripts ``consolidation.case_sensitive`` /
``ignore_punctuation``.

Answer: ``{"segments": [{"start", "end", "label", "text"?, "label-category-attributes"?}],
"frame-attributes"?, "duration"?}``; times in seconds, stored rounded to milliseconds,
segments sorted by (start, end, label order). The clip's duration is read from the audio
file when it can be (``media.audio_windows.duration_of``), else taken from the answer; a
segment may end at most :data:`END_TOLERANCE` after it.

Label ``{"segments": [{"start", "end", "label", "text"?, "label-category-attributes"?,
"confidence"}]}``, metadata ``{"class-map", "confidence", "dataset-object-attributes"?}``.
Consolidation: :class:`truthset.consensus.spatial.SegmentConsolidator`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from truthset.consensus.spatial import SegmentConsolidator, match_intervals
from truthset.errors import BadInput
from truthset.tasktypes import _attribute_answers as attrs
from truthset.tasktypes._agreement import word_agreement
from truthset.tasktypes._spatial import (
    adjustment_meta,
    check_job_settings,
    initial_value_modified,
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

MAX_SEGMENTS = 10_000
MAX_TEXT = 5_000
# Seconds a segment may end after the clip's duration (tools round; decoders differ).
END_TOLERANCE = 0.05
ALLOW_OVERLAP = "allow_overlap"
SEGMENT_PARAMS = ("iou_threshold", "min_support")
TEXT_PARAMS = ("case_sensitive", "ignore_punctuation")
# Least temporal IoU at which two segments count as the same one in `agreement`.
MATCH_IOU = 0.5
# A label segment's confidence may come back with an earlier label (adjustment jobs): it
# is accepted and dropped.
_DROPPED_KEYS = ("confidence",)


def allows_overlap(settings: Mapping[str, Any] | None) -> bool:
    value = (settings or {}).get(ALLOW_OVERLAP, True)
    return value if isinstance(value, bool) else True


def _seconds(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadInput(f"{field}: {value!r} is not a number of seconds")
    if value < 0:
        raise BadInput(f"{field}: {value!r} is negative")
    return float(value)


def _ms(value: float) -> int | float:
    """Seconds rounded to the millisecond; whole seconds stored as ints."""
    rounded = round(value, 3)
    return int(rounded) if rounded.is_integer() else rounded


def clip_duration(payload: Mapping[str, Any], item: Mapping[str, Any]) -> float | None:
    """The clip's length: read from the item's audio when it can be, else the answer's
    ``duration``, else None (unknown)."""
    given = payload.get("duration")
    answered = None
    if given is not None:
        answered = _seconds(given, "answer.duration")
        if answered <= 0:
            raise BadInput(f"answer.duration: {given!r} must be positive")
    ref = item.get("source-ref")
    if isinstance(ref, str):
        from truthset.media.info import UnreadableMedia

        try:
            return _s3_duration(ref) if ref.startswith("s3://") else _file_duration(ref)
        except (UnreadableMedia, BadInput):
            pass
    return answered


def _file_duration(ref: str) -> float:
    from truthset.media.audio_windows import duration_of

    # Cached by audio_windows per path, size and modification time: a stat per answer.
    return duration_of(ref)


@lru_cache(maxsize=4096)
def _s3_duration(ref: str) -> float:
    """An object's duration, once per process: a submit must not wait on a HEAD request
    each time (as image sizes, media.info caches S3 objects per reference)."""
    from truthset.media.audio_windows import duration_of

    return duration_of(ref)


@dataclass(frozen=True)
class AudioSegmentsType:
    name: str
    output_type: str
    # Whether each segment carries the words said in it.
    with_text: bool
    media: str = "audio"
    ui_module: str = "tools/audio-segments.js"
    supports_auto_labeling: bool = False
    supports_adjustment: bool = True

    @property
    def params(self) -> tuple[str, ...]:
        return SEGMENT_PARAMS + (TEXT_PARAMS if self.with_text else ())

    @property
    def segment_keys(self) -> tuple[str, ...]:
        text = ("text",) if self.with_text else ()
        return ("start", "end", "label", *text, attrs.OBJECT_KEY)

    def parse_label_config(self, raw: Any) -> LabelConfig:
        return parse_gt_label_config(raw, min_labels=1, with_attributes=True)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Raise BadInput for job settings this type cannot use (for job creation)."""
        check_job_settings(settings, self.params)
        value = (settings or {}).get(ALLOW_OVERLAP)
        if value is not None and not isinstance(value, bool):
            raise BadInput(f"settings.{ALLOW_OVERLAP}: {value!r} is not true or false")

    def tool_settings(self, settings: Mapping[str, Any] | None) -> dict[str, Any]:
        """The job settings the tool needs (handed out with each task)."""
        return {ALLOW_OVERLAP: allows_overlap(settings)}

    # -- answers -----------------------------------------------------------------------------

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        payload = payload_of(answer, "segments")
        given = payload["segments"]
        if not isinstance(given, list):
            raise BadInput(f"answer.segments: {given!r} is not a list")
        if len(given) > MAX_SEGMENTS:
            raise BadInput(
                f"answer.segments: {len(given):,} segments, at most {MAX_SEGMENTS:,} are allowed"
            )
        duration = clip_duration(payload, item)
        labels = set(config.labels)
        segments = [self._segment(i, seg, labels, duration) for i, seg in enumerate(given)]
        # After the times and labels: a segment's attributes are those of its label.
        values = attrs.check_object_attributes(given, "segments", config)
        segments = [attrs.with_attributes(seg, v) for seg, v in zip(segments, values, strict=True)]
        order = {name: k for k, name in enumerate(config.labels)}
        ranked = sorted(
            range(len(segments)),
            key=lambda i: (segments[i]["start"], segments[i]["end"], order[segments[i]["label"]]),
        )
        frame = attrs.check_values(
            payload.get(attrs.FRAME_KEY),
            config.frame_attributes,
            f"answer.{attrs.FRAME_KEY}",
            owner="the clip (frameAttributes)",
            max_text=attrs.MAX_FRAME_TEXT,
        )
        out: dict[str, Any] = {"segments": [segments[i] for i in ranked]}
        if duration is not None:
            out["duration"] = _ms(duration)
        out.update(attrs.frame_part(frame))
        out.update(initial_value_modified(payload))
        return out

    def _segment(
        self,
        i: int,
        seg: Any,
        labels: set[str],
        duration: float | None,
    ) -> dict[str, Any]:
        field = f"answer.segments[{i}]"
        if not isinstance(seg, Mapping):
            raise BadInput(f"{field}: {seg!r} is not an object")
        for key in seg:
            if key not in self.segment_keys and key not in _DROPPED_KEYS:
                if key == "text":
                    raise BadInput(
                        f"{field}.text: an {self.name} segment has no text"
                        " (audio-segment-transcription jobs take text)"
                    )
                raise BadInput(
                    f"{field}.{key}: not a segment field (fields: {', '.join(self.segment_keys)})"
                )
        for key in ("start", "end", "label"):
            if key not in seg:
                raise BadInput(f"{field}.{key}: missing")
        start = _seconds(seg["start"], f"{field}.start")
        end = _seconds(seg["end"], f"{field}.end")
        if end <= start:
            raise BadInput(f"{field}.end: {seg['end']!r} must be after start {seg['start']!r}")
        if duration is not None and end > duration + END_TOLERANCE:
            raise BadInput(
                f"{field}.end: {seg['end']!r} is after the end of the clip ({duration:.3f} s)"
            )
        start_ms, end_ms = _ms(start), _ms(end)
        if end_ms <= start_ms:
            raise BadInput(f"{field}: shorter than a millisecond ({start!r} to {end!r})")
        label = seg["label"]
        if not isinstance(label, str) or label not in labels:
            raise BadInput(f"{field}.label: {label!r} is not one of the job's labels")
        out: dict[str, Any] = {"start": start_ms, "end": end_ms, "label": label}
        if self.with_text:
            text = seg.get("text", "")
            if not isinstance(text, str):
                raise BadInput(f"{field}.text: {text!r} is not text")
            if len(text) > MAX_TEXT:
                raise BadInput(
                    f"{field}.text: {len(text):,} characters, at most {MAX_TEXT:,} are allowed"
                )
            out["text"] = text
        return out

    def check_answer_settings(self, content: Mapping[str, Any], settings: Any) -> None:
        """The job's rules on a validated answer: with ``allow_overlap`` false, no two
        segments overlap (touching ends are fine)."""
        if allows_overlap(settings):
            return
        segments = content.get("segments") or []
        latest = None  # the segment that ends last so far (segments are sorted by start)
        for i, seg in enumerate(segments):
            if latest is not None and seg["start"] < segments[latest]["end"]:
                other = segments[latest]
                raise BadInput(
                    f"answer.segments: {seg['label']!r} {seg['start']}-{seg['end']} s overlaps"
                    f" {other['label']!r} {other['start']}-{other['end']} s; this job does not"
                    f" allow overlapping segments (settings.{ALLOW_OVERLAP} is false)"
                )
            if latest is None or seg["end"] > segments[latest]["end"]:
                latest = i

    # -- consolidation -----------------------------------------------------------------------

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation:
        if not answers:
            raise ValueError("no answers to consolidate")
        ids, skills = worker_skills(answers)
        params = usable_params(settings, self.params)
        contents = [a.content for a in answers]
        fitted = SegmentConsolidator(
            labels=list(config.labels),
            with_text=self.with_text,
            allow_overlap=allows_overlap(settings),
            **params,
        ).fit(contents, worker_ids=ids, skills=skills)
        value: dict[str, Any] = dict(fitted.label_)
        value["segments"] = single_worker_objects(value["segments"], answers, settings)
        meta: dict[str, Any] = dict(fitted.metadata_)
        confidence = overall_confidence(
            [s["confidence"] for s in value["segments"]],
            answers,
            lambda content: not content.get("segments"),
            settings,
        )
        meta["confidence"] = confidence
        meta.update(adjustment_meta(answers, settings))
        if config.has_label_attributes:
            objects = attrs.consolidate_object_attributes(
                contents, ["segments"] * len(contents), fitted.clusters_, skills
            )
            value = {
                "segments": [
                    _with_attributes_before_confidence(seg, values)
                    for seg, values in zip(value["segments"], objects, strict=True)
                ]
            }
        if config.frame_attributes:
            meta[attrs.META_FRAME_KEY] = attrs.consolidate_frame_attributes(
                contents, [skills[str(i)] for i in range(len(answers))]
            )
        return Consolidation(value=value, meta=meta, confidence=confidence, method="segments")

    # -- adjustment, predictions ---------------------------------------------------------------

    def initial_answer(
        self, value: Any, meta: Mapping[str, Any], config: LabelConfig
    ) -> dict[str, Any]:
        """The tool's initial value for an adjustment job (an earlier label, or a
        prediction in the label's shape): the segments without their confidences."""
        keys = self.segment_keys
        return {
            "segments": [{k: v for k, v in s.items() if k in keys} for s in value["segments"]],
            **attrs.prior_frame_attributes(meta),
        }

    # -- agreement ---------------------------------------------------------------------------

    def agreement(
        self, answer: Mapping[str, Any], reference: Mapping[str, Any], config: LabelConfig
    ) -> float:
        """Soft F1 in [0, 1]: segments of one label paired one to one by temporal IoU (pairs
        under :data:`MATCH_IOU` are misses); a pair scores its IoU, and for transcripts the
        mean of its IoU and its words' agreement (1 - word error rate); the sum over the
        mean segment count of the two answers. Two empty answers agree fully."""
        a = list(answer.get("segments") or [])
        r = list(reference.get("segments") or [])
        if not a and not r:
            return 1.0
        if not a or not r:
            return 0.0
        matched = 0.0
        for label in {s["label"] for s in a} & {s["label"] for s in r}:
            mine = [s for s in a if s["label"] == label]
            theirs = [s for s in r if s["label"] == label]
            for i, j, iou in match_intervals(_times(mine), _times(theirs), MATCH_IOU):
                if self.with_text:
                    words = word_agreement(mine[i].get("text", ""), theirs[j].get("text", ""))
                    matched += (iou + words) / 2
                else:
                    matched += iou
        return float(np.clip(matched / ((len(a) + len(r)) / 2), 0.0, 1.0))


def _times(segments: list[Mapping[str, Any]]) -> np.ndarray:
    return np.array([(float(s["start"]), float(s["end"])) for s in segments]).reshape(-1, 2)


def _with_attributes_before_confidence(
    seg: dict[str, Any], values: Mapping[str, Any]
) -> dict[str, Any]:
    out = {k: v for k, v in seg.items() if k != "confidence"}
    out[attrs.OBJECT_KEY] = dict(values)
    out["confidence"] = seg["confidence"]
    return out


AUDIO_SEGMENTATION = AudioSegmentsType(
    name="audio-segmentation", output_type="groundtruth/audio-segmentation", with_text=False
)
AUDIO_SEGMENT_TRANSCRIPTION = AudioSegmentsType(
    name="audio-segment-transcription",
    output_type="groundtruth/audio-segment-transcription",
    with_text=True,
)
