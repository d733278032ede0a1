"""A model's prediction for an item, in the shape of a worker's answer.

An item may carry ``<label attribute>-prediction``: the value the tool starts from, which
a worker keeps or corrects (pre-labeling). It comes in either of two shapes:

* the worker-answer shape (``{"label": "cat"}``, ``{"boundingBoxes": [...],
  "inputImageProperties": {...}}``), as truthset's detectors write it; a bare class name
  for single-label classification, as the tool also takes it;
* Ground Truth's output shape for the task type, as a manifest written for (or by) Ground
  Truth holds it: a class index (``0``), a list of class indices, an object-detection
  ``{"annotations": [{"class_id", ...}], "image_size": [...]}``, a text-span
  ``{"annotations": {"entities": [...]}}``, a transcript string, audio segments
  ``{"segments": [{..., "confidence"}]}``, a video SeqLabel document
  (``{"tracking-annotations": [...]}``). Class ids are named by
  ``<label attribute>-prediction-metadata`` (``class-name``, ``class-map``) when it is
  given, else by the job's label order, as Ground Truth's class ids are.

`predicted_answer` turns either into the answer shape (not yet validated: the caller runs
the task type's ``validate_answer``), so that a worker's unchanged answer compares equal
to it. Task types without a prediction-reading tool (semantic segmentation, label
verification) get their prediction back as given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from truthset.tasktypes.base import LabelConfig, TaskType, class_names


def prediction_of(item: Mapping[str, Any], label_attribute: str) -> tuple[Any, dict[str, Any]]:
    """The item's prediction and its metadata (``{}`` when absent or not an object)."""
    meta = item.get(f"{label_attribute}-prediction-metadata")
    return item.get(f"{label_attribute}-prediction"), dict(meta) if isinstance(
        meta, Mapping
    ) else {}


def _class_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _single_label(value: Any, meta: dict[str, Any], config: LabelConfig) -> Any:
    if isinstance(value, str):  # a bare class name
        return {"label": value}
    if _class_index(value):
        name = meta.get("class-name")
        if not isinstance(name, str):
            name = class_names(meta, config).get(value)
        return {"label": name} if name is not None else value
    return value


def _multi_label(value: Any, meta: dict[str, Any], config: LabelConfig) -> Any:
    if isinstance(value, list) and all(_class_index(v) for v in value):
        names = class_names(meta, config)
        if all(v in names for v in value):
            return {"labels": [names[v] for v in value]}
    return value


def _transcript(value: Any, meta: dict[str, Any], config: LabelConfig) -> Any:
    return {"transcription": value} if isinstance(value, str) else value


def _segments(value: Any, meta: dict[str, Any], config: LabelConfig) -> Any:
    """Audio segments in the label's shape: the same segments without their confidences,
    and the clip attributes of the metadata (``dataset-object-attributes``)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("segments"), list):
        return value
    out = dict(value)
    out["segments"] = [
        {k: v for k, v in s.items() if k != "confidence"} if isinstance(s, Mapping) else s
        for s in value["segments"]
    ]
    frame = meta.get("dataset-object-attributes")
    if "frame-attributes" not in out and isinstance(frame, Mapping):
        out["frame-attributes"] = dict(frame)
    return out


# Ground Truth's output `type` -> turning its value back into an answer. The object types
# and text spans already do it for adjustment jobs (`initial_answer`).
_FROM_OUTPUT: dict[str, Callable[[Any, dict[str, Any], LabelConfig], Any]] = {
    "groundtruth/image-classification": _single_label,
    "groundtruth/text-classification": _single_label,
    "groundtruth/audio-classification": _single_label,
    "groundtruth/image-classification-multilabel": _multi_label,
    "groundtruth/text-classification-multilabel": _multi_label,
    "groundtruth/audio-transcription": _transcript,
    "groundtruth/audio-segmentation": _segments,
    "groundtruth/audio-segment-transcription": _segments,
}

# What marks Ground Truth's output shape of a type that has `initial_answer`; a type may
# name its own (`output_keys`: the video types' SeqLabel lists).
_OUTPUT_KEYS = ("annotations",)


def predicted_answer(
    task_type: TaskType, value: Any, meta: Mapping[str, Any], config: LabelConfig
) -> Any:
    """The prediction ``value`` (with its metadata ``meta``) in the worker-answer shape; a
    value that is already in that shape, or that cannot be read as the type's output, is
    returned as given (validation then says what is wrong with it)."""
    meta = dict(meta)
    convert = _FROM_OUTPUT.get(task_type.output_type)
    if convert is not None:
        return convert(value, meta, config)
    initial = getattr(task_type, "initial_answer", None)
    # (A semantic-segmentation value is a mask's location, never an object: it is left as is.)
    keys = getattr(task_type, "output_keys", _OUTPUT_KEYS)
    if initial is not None and isinstance(value, Mapping) and any(k in value for k in keys):
        try:
            return initial(value, meta, config)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            return value
    return value


def item_prediction(
    task_type: TaskType, item: Mapping[str, Any], label_attribute: str, config: LabelConfig
) -> Any:
    """The item's ``<label attribute>-prediction`` in the worker-answer shape (None when
    the item has none): what the tool starts from."""
    value, meta = prediction_of(item, label_attribute)
    if value is None:
        return None
    return predicted_answer(task_type, value, meta, config)
