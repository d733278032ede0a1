"""Helpers shared by the task types beyond classification.

* answers: unwrapping Ground Truth's answer shapes, turning the spatial validators'
  ``ValueError`` into ``BadInput`` (messages keep their field path, prefixed ``answer.``);
* the image size: an answer's ``inputImageProperties`` are checked against the real image
  (header read through :mod:`truthset.media.info`) when the item's ``source-ref`` can be
  read here, with a 1-pixel tolerance for tools that round;
* worker weights for the consolidators in :mod:`truthset.consensus.spatial`;
* adjustment jobs (``settings["adjustment"]``): ``adjustment-status`` in the metadata,
  written once here for every type that supports adjustment.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from PIL import Image

from truthset.consensus.spatial._common import unwrap_answer
from truthset.consensus.spatial.masks import _png_bytes
from truthset.errors import BadInput
from truthset.media.info import UnreadableMedia, image_size
from truthset.tasktypes.base import WorkerAnswer

# Bounds on one answer, so that a hostile or buggy client cannot make validation or
# consolidation expensive.
MAX_OBJECTS = 1000
MAX_VERTICES = 1000
# Pixels by which an answer's image size and geometry may exceed the image.
SIZE_TOLERANCE = 1.0
# Largest mask (semantic or instance segmentation) an answer may carry: 8K by 5K.
MAX_MASK_PIXELS = 40_000_000

T = TypeVar("T")


def checked(call: Callable[[], T]) -> T:
    """Run a spatial validator; its ``ValueError`` becomes ``BadInput`` on ``answer.``."""
    try:
        return call()
    except ValueError as exc:
        raise BadInput(f"answer.{exc}") from None


def payload_of(answer: Any, key: str) -> Mapping[str, Any]:
    """The tool payload holding ``key`` (also inside ``{"<element name>": {...}}``)."""
    if not isinstance(answer, Mapping):
        raise BadInput(f"answer must be an object with {key!r}, got {type(answer).__name__}")
    try:
        return unwrap_answer(answer, key)
    except ValueError:
        raise BadInput(f"answer.{key}: missing (answer keys: {sorted(answer)})") from None


def object_list(payload: Mapping[str, Any], key: str, limit: int = MAX_OBJECTS) -> list[Any]:
    value = payload.get(key)
    if not isinstance(value, list):
        raise BadInput(f"answer.{key}: {value!r} is not a list")
    if len(value) > limit:
        raise BadInput(f"answer.{key}: {len(value)} objects, at most {limit} are allowed")
    return value


def check_vertex_counts(shapes: Sequence[Any], key: str, limit: int = MAX_VERTICES) -> None:
    for i, shape in enumerate(shapes):
        vertices = shape.get("vertices") if isinstance(shape, Mapping) else None
        if isinstance(vertices, list) and len(vertices) > limit:
            raise BadInput(
                f"answer.{key}[{i}].vertices: {len(vertices)} vertices, at most {limit} are allowed"
            )


def initial_value_modified(payload: Mapping[str, Any]) -> dict[str, bool]:
    """``{"initialValueModified": bool}`` when the answer carries it, else ``{}``."""
    if "initialValueModified" not in payload:
        return {}
    value = payload["initialValueModified"]
    if not isinstance(value, bool):
        raise BadInput(f"answer.initialValueModified: {value!r} is not true or false")
    return {"initialValueModified": value}


def _dimension(props: Mapping[str, Any], key: str) -> float:
    value = props.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadInput(f"answer.inputImageProperties.{key}: {value!r} is not a number")
    if value <= 0:
        raise BadInput(f"answer.inputImageProperties.{key}: {value!r} must be positive")
    return float(value)


def real_image_size(item: Mapping[str, Any]) -> tuple[int, int] | None:
    """The item image's size from its header, or None when it cannot be read here."""
    ref = item.get("source-ref")
    if not isinstance(ref, str):
        return None
    try:
        return image_size(ref)
    except UnreadableMedia:
        return None


def resolve_image_size(payload: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[int, int]:
    """The image size to validate against and to store with the answer.

    The real size when the image can be read (the answer's ``inputImageProperties`` must
    agree within ``SIZE_TOLERANCE`` pixels), else the answer's own properties.
    """
    props = payload.get("inputImageProperties")
    if props is not None and not isinstance(props, Mapping):
        raise BadInput(f"answer.inputImageProperties: {props!r} is not an object")
    real = real_image_size(item)
    if real is not None:
        if props is not None:
            for key, expected in zip(("width", "height"), real, strict=True):
                if key in props:
                    got = _dimension(props, key)
                    if abs(got - expected) > SIZE_TOLERANCE:
                        raise BadInput(
                            f"answer.inputImageProperties.{key}: {props[key]!r} differs from"
                            f" the image's {key} {expected}"
                        )
        return real
    if props is None:
        raise BadInput(
            "answer.inputImageProperties: missing, and the image cannot be read to learn its size"
        )
    return round(_dimension(props, "width")), round(_dimension(props, "height"))


def size_props(size: tuple[int, int]) -> dict[str, int]:
    return {"width": int(size[0]), "height": int(size[1])}


def number(value: Any) -> int | float:
    """An answer coordinate as stored: ints stay ints, whole floats become ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def check_png_header(data: Any, size: tuple[int, int]) -> None:
    """Check a mask PNG's size from its header before anything decodes its pixels, so
    that an oversized (or decompression-bomb) PNG costs nothing."""
    field = "answer.labeledImage.pngImageData"
    if not isinstance(data, str):
        raise BadInput(f"{field}: missing or not a base64 string")
    if size[0] * size[1] > MAX_MASK_PIXELS:
        raise BadInput(
            f"{field}: the image is {size[0]}x{size[1]}, more than the"
            f" {MAX_MASK_PIXELS:,} pixels a mask may have"
        )
    raw = checked(lambda: _png_bytes(data))
    try:
        with Image.open(io.BytesIO(raw)) as image:
            width, height = image.size
            kind = image.format
    except Exception as exc:
        raise BadInput(f"{field}: not a readable PNG ({exc})") from None
    if kind != "PNG":
        raise BadInput(f"{field}: a {kind} image, not a PNG")
    if (width, height) != tuple(size):
        raise BadInput(f"{field}: mask is {width}x{height}, the image is {size[0]}x{size[1]}")


# -- consolidation ---------------------------------------------------------------------------


def worker_skills(answers: Sequence[WorkerAnswer]) -> tuple[list[str], dict[str, float]]:
    """Positional worker ids and weights in (0, 1] for the spatial consolidators.

    Weights are scaled so that the best worker has 1.0 (only ratios matter to a weighted
    vote); a missing, zero or negative weight counts as a tiny one rather than failing.
    """
    raw = [
        float(a.weight) if math.isfinite(float(a.weight)) and a.weight > 0 else 0.0 for a in answers
    ]
    top = max(raw, default=0.0)
    ids = [str(i) for i in range(len(answers))]
    if top <= 0:
        return ids, {i: 1.0 for i in ids}
    return ids, {i: max(w / top, 1e-6) for i, w in zip(ids, raw, strict=True)}


def agreed_image_size(answers: Sequence[WorkerAnswer]) -> tuple[int, int] | None:
    """The image size most of the workers' weight saw (``inputImageProperties``).

    Answers store the real size when the image could be read, so they agree; when it
    could not, each answer carries its tool's size and a stray one must not make
    consolidation fail. Ties go to the first answer's size.
    """
    votes: dict[tuple[int, int], float] = {}
    for a in answers:
        props = a.content.get("inputImageProperties")
        if isinstance(props, Mapping) and "width" in props and "height" in props:
            size = (int(props["width"]), int(props["height"]))
            votes[size] = votes.get(size, 0.0) + max(float(a.weight), 1e-9)
    if not votes:
        return None
    return max(votes, key=lambda s: votes[s])


def total_weight(answers: Sequence[WorkerAnswer]) -> float:
    return sum(max(float(a.weight), 0.0) for a in answers)


# The confidence of a single answer by a worker of unknown skill, unless the job says
# (settings["quality"]["prior_skill"]): a coin between right and wrong, so that it stays
# under the review queue's default bar (0.7) until the worker's skill is known.
DEFAULT_PRIOR_SKILL = 0.5


def prior_skill(settings: Mapping[str, Any] | None) -> float:
    """The job's prior on a worker's skill: ``settings.quality.prior_skill`` or 0.5."""
    quality = (settings or {}).get("quality") or {}
    value = quality.get("prior_skill") if isinstance(quality, Mapping) else None
    if value is not None and _unit(value):
        return float(value)
    return DEFAULT_PRIOR_SKILL


def single_worker_confidence(answer: WorkerAnswer, settings: Mapping[str, Any] | None) -> float:
    """A label made from one worker's answer is as trustworthy as that worker: their
    estimated skill (``weight``, which consolidation reads from the job's worker skills)
    when it is known, the job's prior otherwise (``weight`` 1.0 means nothing is known)."""
    weight = float(answer.weight)
    if 0.0 < weight < 1.0:
        return round(weight, 4)
    return round(prior_skill(settings), 4)


def single_worker_objects(
    objects: Sequence[Mapping[str, Any]],
    answers: Sequence[WorkerAnswer],
    settings: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    """The per-object entries (``{"confidence", ...}``) of a label: made from one worker's
    answer, every object is as trustworthy as that worker (:func:`single_worker_confidence`,
    the label's own confidence), not Ground Truth's 0.0; with more workers, unchanged."""
    if len(answers) != 1:
        return [dict(o) for o in objects]
    confidence = single_worker_confidence(answers[0], settings)
    return [{**o, "confidence": confidence} for o in objects]


def overall_confidence(
    object_confidences: Sequence[float],
    answers: Sequence[WorkerAnswer],
    empty: Callable,
    settings: Mapping[str, Any] | None = None,
) -> float:
    """One number per label: the mean object confidence; for a label without objects, the
    weight share of the workers who marked nothing (``empty(content)``). With a single
    worker, the worker's skill or the job's prior (:func:`single_worker_confidence`): not
    Ground Truth's 0.0, which sent every single-worker label to review whoever made it."""
    if not answers:
        return 0.0
    if len(answers) == 1:
        return single_worker_confidence(answers[0], settings)
    if object_confidences:
        return round(float(sum(object_confidences)) / len(object_confidences), 4)
    total = total_weight(answers)
    if total <= 0:
        return 0.0
    agree = sum(max(float(a.weight), 0.0) for a in answers if empty(a.content))
    return round(agree / total, 4)


# -- job settings ------------------------------------------------------------------------------


def _unit(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and 0 < value <= 1
    )


def _min_support(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, int) and not isinstance(value, bool):
        return 1 <= value <= 100
    return isinstance(value, float) and _unit(value)


# The consolidator parameters a job may set in `settings["consolidation"]`: a check and
# what it expects, for the error message.
CONSOLIDATION_PARAMS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "iou_threshold": (_unit, "a number in (0, 1]"),
    "vote_threshold": (_unit, "a number in (0, 1]"),
    "distance_threshold": (_unit, "a number in (0, 1] (a share of the image diagonal)"),
    "jaccard_threshold": (_unit, "a number in (0, 1]"),
    "min_support": (
        _min_support,
        "null (a majority of worker weight), a worker count from 1 to 100, or a share in (0, 1]",
    ),
    "method": (lambda v: v in ("mean", "median"), "'mean' or 'median'"),
    "scale": (lambda v: v in ("diagonal", "spread"), "'diagonal' or 'spread'"),
    "smoothing": (lambda v: v in ("box", "gaussian", None), "'box', 'gaussian' or null"),
    "smoothing_size": (
        lambda v: not isinstance(v, bool) and isinstance(v, int | float) and 0 < v <= 50,
        "a number of pixels in (0, 50]",
    ),
    "smooth_where": (
        lambda v: v in ("disputed", "undecided", "all"),
        "'disputed', 'undecided' or 'all'",
    ),
    "case_sensitive": (lambda v: isinstance(v, bool), "true or false"),
    "ignore_punctuation": (lambda v: isinstance(v, bool), "true or false"),
}


def consolidation_params(
    settings: Mapping[str, Any] | None, allowed: Sequence[str]
) -> dict[str, Any]:
    """The job's ``settings["consolidation"]`` checked against the type's parameters."""
    raw = (settings or {}).get("consolidation")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise BadInput(f"settings.consolidation: {raw!r} is not an object")
    out = {}
    for key, value in raw.items():
        if key not in allowed:
            raise BadInput(
                f"settings.consolidation.{key}: not a parameter of this task type"
                f" (known: {', '.join(allowed) or 'none'})"
            )
        check, expected = CONSOLIDATION_PARAMS[key]
        if not check(value):
            raise BadInput(f"settings.consolidation.{key}: {value!r} is not {expected}")
        out[key] = value
    return out


def usable_params(settings: Mapping[str, Any] | None, allowed: Sequence[str]) -> dict[str, Any]:
    """As :func:`consolidation_params`, but bad settings fall back to the defaults: a
    job's typo must not make its workers' submits fail (job creation reports it)."""
    try:
        return consolidation_params(settings, allowed)
    except BadInput:
        return {}


def check_job_settings(settings: Mapping[str, Any] | None, allowed: Sequence[str]) -> None:
    """What job creation should check for these task types (see ``check_settings``)."""
    adjustment = (settings or {}).get("adjustment")
    if adjustment is not None and not isinstance(adjustment, bool):
        raise BadInput(f"settings.adjustment: {adjustment!r} is not true or false")
    consolidation_params(settings, allowed)


def is_adjustment(settings: Mapping[str, Any] | None) -> bool:
    return bool((settings or {}).get("adjustment"))


def adjustment_meta(
    answers: Sequence[WorkerAnswer], settings: Mapping[str, Any] | None
) -> dict[str, str]:
    """``{"adjustment-status": "adjusted"|"unadjusted"}`` for adjustment jobs, else ``{}``.

    "adjusted" when any worker changed the initial value (``initialValueModified``), as
    Ground Truth reports; an answer without the flag counts as unchanged.
    """
    if not is_adjustment(settings):
        return {}
    changed = any(bool(a.content.get("initialValueModified")) for a in answers)
    return {"adjustment-status": "adjusted" if changed else "unadjusted"}
