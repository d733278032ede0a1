"""Pre-labeling: a detector's proposals put into a job's items, so that workers correct
them instead of drawing from scratch.

- Bounding-box jobs: a face or cat-face detector's boxes (OpenCV Haar cascades).
- Your own ONNX model (`detector="onnx"`), configured in the job's settings as
  ``settings.prelabel.onnx`` (see `ONNX_TASK_TYPES` and
  `truthset.learning.models.onnx_models`): a YOLO- or SSD-style detector's boxes for
  bounding-box jobs, a classifier's class for image classification (one or several
  labels), and a Segment-Anything-style segmenter's masks, prompted by the whole image or
  by boxes the item carries, for instance segmentation, polygon and semantic segmentation
  jobs. The model file must lie inside the server's allowed roots.
- Audio segment jobs (pre-segmentation): where something is heard, by voice activity
  without a model (`truthset.learning.vad`: `energy` levels over the noise floor, or
  WebRTC's voice detector `webrtcvad`), as segments of one label (the job's first unless
  chosen). The audio is read a minute at a time (`media.audio_windows.iter_windows`), so an
  hour of audio never sits in memory.

The proposals go into the item as `<label attribute>-prediction` in the worker-answer shape
(`{"boundingBoxes": [...], "inputImageProperties": {...}}`, `{"segments": [...],
"duration": ...}`), the key the work API hands to the tool and a manifest may also bring,
in that shape or in Ground Truth's output shape with `<label attribute>-prediction-metadata`
(truthset.tasktypes.predictions reads both, for the tool and for the report). An item that
has a prediction of either shape keeps it. `GET /api/jobs/{name}/prelabeling` then shows
their effect on time per task.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy.orm import Session, object_session

from truthset.autolabel import repository
from truthset.errors import BadInput, NotFound
from truthset.jobs.settings import SettingsSection
from truthset.store.models import Job
from truthset.tasktypes import get_task_type

# Detectors of boxes (bounding-box jobs; also automated labeling of boxes).
DETECTORS = ("face", "cat-face")
# Detectors of time segments (audio segment jobs).
AUDIO_DETECTORS = ("energy", "webrtcvad")
AUDIO_TYPES = ("audio-segmentation", "audio-segment-transcription")
# Seconds of audio decoded at a time.
AUDIO_WINDOW_S = 60.0
# Your own model (settings.prelabel.onnx): the detector name, and its kinds per task type.
ONNX = "onnx"
ONNX_TASK_TYPES: dict[str, tuple[str, ...]] = {
    "bounding-box": ("yolo", "ssd"),
    "image-classification": ("classify",),
    "image-classification-multilabel": ("classify",),
    "instance-segmentation": ("sam",),
    "polygon": ("sam",),
    "semantic-segmentation": ("sam",),
}
ONNX_FIELD = "settings.prelabel.onnx"
# Loaded models kept by file versions and configuration: the check at job creation and
# the run that follows load a model once.
CACHE_MODELS = 2
# Items a run plans and writes at a time: predictions (a semantic mask's PNG among them)
# are not all held at once, and a run stopped half-way keeps what it wrote.
ONNX_BATCH = 256
# Components of a mask smaller than this (pixels) become no polygon (as assisted masks).
MIN_POLYGON_AREA = 16


def check_request(job: Job, detector: str, label: str | None) -> str:
    """Refuse what cannot work before a run starts; returns the job label to use."""
    labels = list(get_task_type(job.task_type).parse_label_config(job.label_config).labels)
    if detector == ONNX:
        config = onnx_config_of(job.settings)
        if config is None:
            raise BadInput(
                f"job {job.name!r} has no model to pre-label with: set {ONNX_FIELD} "
                "(path, kind, ...) in its settings"
            )
        checked = check_onnx_structure(job.task_type, config)
        check_onnx_labels(checked, labels)
        # The files too, now rather than in the run (a session is at hand in the API and
        # the CLI; the model stays loaded for the run that follows).
        load_onnx_model(
            object_session(job),
            checked,
            labels,
            multilabel=job.task_type == "image-classification-multilabel",
        )
        chosen = label or config.get("label") or labels[0]
    elif job.task_type in AUDIO_TYPES:
        if detector not in AUDIO_DETECTORS:
            raise BadInput(
                f"detector {detector!r} is not one of {', '.join(AUDIO_DETECTORS)}"
                f" (the detectors of {job.task_type} jobs)"
            )
        chosen = label or labels[0]
    elif job.task_type == "bounding-box":
        if detector not in DETECTORS:
            raise BadInput(
                f"detector {detector!r} is not one of {', '.join((*DETECTORS, ONNX))}"
                f" (the detectors of bounding-box jobs; {ONNX}: the job's {ONNX_FIELD} model)"
            )
        chosen = label or ("face" if detector == "face" else "cat")
    else:
        raise BadInput(
            "pre-labeling with a detector needs a bounding-box job or an audio segment job, not "
            f"{job.task_type} (with your own model, {ONNX_FIELD}, also "
            f"{', '.join(t for t in ONNX_TASK_TYPES if t != 'bounding-box')})"
        )
    if chosen not in labels:
        raise BadInput(
            f"label {chosen!r} is not a label of job {job.name!r} ({', '.join(labels)}); "
            "choose one with label="
        )
    return chosen


def detected_segments(ref: str, detector: str, label: str) -> dict[str, Any]:
    """The segments a voice-activity detector finds in the audio at ``ref``, in the answer
    shape. Raises UnreadableMedia when the audio cannot be read."""
    from truthset.learning.vad import detect_segments
    from truthset.media.audio_windows import audio_info, iter_windows

    info = audio_info(ref)
    found = detect_segments(
        (samples for _start, samples, _rate in iter_windows(ref, AUDIO_WINDOW_S)),
        info.rate,
        detector,
        duration=info.duration,
    )
    return {
        "segments": [{"start": start, "end": end, "label": label} for start, end in found],
        "duration": round(info.duration, 3),
    }


def prediction_counts(detector: str, predictions: dict[int, dict[str, Any]]) -> dict[str, int]:
    """What a run proposed, for its result: how many segments, or boxes."""
    if detector in AUDIO_DETECTORS:
        return {"segments": sum(len(p["segments"]) for p in predictions.values())}
    return {"boxes": sum(len(p["boundingBoxes"]) for p in predictions.values())}


def plan_predictions(
    session: Session,
    job: Job,
    detector: str,
    label: str,
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, dict[str, Any]]:
    """Detections for the job's unstarted items that have no prediction yet (reads only):
    item id -> prediction."""
    from truthset.learning.models.detection import HaarCascadeDetector
    from truthset.media.storage import open_item_media

    key = f"{job.label_attribute}-prediction"
    rows = repository.open_unstarted_items(session, job.id)
    todo = [(item_id, orjson.loads(data)) for item_id, data in rows]
    todo = [(item_id, data) for item_id, data in todo if key not in data]
    if detector in AUDIO_DETECTORS:
        return _plan_segments(todo, detector, label, progress)
    model = HaarCascadeDetector(kind=detector, label=label).fit()  # type: ignore[arg-type]
    from PIL import Image

    out: dict[int, dict[str, Any]] = {}
    for n, (item_id, data) in enumerate(todo, 1):
        ref = data["source-ref"]
        with open_item_media(ref) as fh, Image.open(fh) as img:
            found = model.predict_one(img)
        out[item_id] = {
            "boundingBoxes": found["boundingBoxes"],
            "inputImageProperties": found["inputImageProperties"],
        }
        if progress is not None:
            progress(n, len(todo))
    return out


def _plan_segments(
    todo: list[tuple[int, dict[str, Any]]],
    detector: str,
    label: str,
    progress: Callable[[int, int], None] | None,
) -> dict[int, dict[str, Any]]:
    from truthset.media.info import UnreadableMedia

    out: dict[int, dict[str, Any]] = {}
    for n, (item_id, data) in enumerate(todo, 1):
        ref = data.get("source-ref")
        try:
            out[item_id] = detected_segments(str(ref), detector, label)
        except UnreadableMedia as exc:
            raise BadInput(f"item {data.get('id', item_id)!r}: {exc}") from None
        if progress is not None:
            progress(n, len(todo))
    return out


def apply_predictions(session: Session, job: Job, predictions: dict[int, dict[str, Any]]) -> int:
    """Write the predictions into items still without one; returns how many were written."""
    key = f"{job.label_attribute}-prediction"
    written = 0
    for item_id, prediction in predictions.items():
        obj = orjson.loads(repository.item_data(session, item_id))
        if key in obj:
            continue
        obj[key] = prediction
        repository.set_item_data(session, item_id, orjson.dumps(obj).decode())
        written += 1
    return written


# --- your own ONNX model (settings.prelabel.onnx) -------------------------------------------

_models: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_models_lock = threading.Lock()


def onnx_config_of(settings: Mapping[str, Any]) -> dict[str, Any] | None:
    """The job's ``settings.prelabel.onnx`` block, or None."""
    block = settings.get("prelabel")
    config = block.get("onnx") if isinstance(block, Mapping) else None
    return dict(config) if isinstance(config, Mapping) else None


def _model_error(exc: Exception) -> BadInput:
    return BadInput(f"{ONNX_FIELD}.{exc}")


def check_onnx_structure(task_type: str, config: Any) -> dict[str, Any]:
    """The block's keys and values, and its kind against the job's task type."""
    from truthset.learning.models import ModelError
    from truthset.learning.models.onnx_models import check_config

    kinds = ONNX_TASK_TYPES.get(task_type)
    if kinds is None:
        raise BadInput(
            f"{ONNX_FIELD}: pre-labeling with your own model supports "
            f"{', '.join(ONNX_TASK_TYPES)} jobs, not {task_type}"
        )
    try:
        checked = check_config(config)
    except ModelError as exc:
        raise _model_error(exc) from None
    if checked["kind"] not in kinds:
        raise BadInput(
            f"{ONNX_FIELD}.kind: a {task_type} job takes a {' or '.join(kinds)} model, "
            f"not {checked['kind']!r}"
        )
    return checked


def check_onnx_labels(config: Mapping[str, Any], job_labels: list[str]) -> None:
    """Every label the mapping names (and a sam model's ``label``) is one of the job's."""
    from truthset.learning.models import ModelError
    from truthset.learning.models.onnx_models import label_map

    if config["kind"] == "sam":
        named = config.get("label")
        if named is not None and named not in job_labels:
            raise BadInput(
                f"{ONNX_FIELD}.label: {named!r} is not a label of the job ({', '.join(job_labels)})"
            )
        return
    try:
        names = label_map(config.get("labels"), job_labels)
    except ModelError as exc:
        raise _model_error(exc) from None
    for index, name in sorted(names.items()):
        if name not in job_labels:
            raise BadInput(
                f"{ONNX_FIELD}.labels.{index}: {name!r} is not a label of the job "
                f"({', '.join(job_labels)})"
            )


def _model_file(session: Session | None, config: Mapping[str, Any], key: str) -> tuple[str, Any]:
    """The checked location of a model file and its version (refused outside the roots)."""
    from truthset.media.storage import AllowedRoots, file_version, local_path_of
    from truthset.workspace import settings_of_session

    ref = str(config[key]).strip()
    field = f"{ONNX_FIELD}.{key}"
    settings = settings_of_session(session) if session is not None else None
    if settings is None:
        raise BadInput(f"{field}: the server's allowed roots are not known here")
    try:
        path = local_path_of(ref)
    except BadInput:
        raise BadInput(f"{field}: {ref!r} is not a local path or an s3:// URI") from None
    if path is not None and not path.is_absolute():
        raise BadInput(f"{field}: {ref!r} must be an absolute path (or an s3:// URI)")
    if not AllowedRoots([str(settings.media_dir), *settings.allowed_roots]).allows(ref):
        raise BadInput(
            f"{field}: {ref!r} is outside the folders and buckets this server reads "
            "(its media folder and TRUTHSET_ALLOWED_ROOTS): put the model file inside one"
        )
    try:
        version = file_version(ref, "model file", endpoint_url=settings.s3_endpoint_url)
    except (BadInput, NotFound) as exc:
        raise BadInput(f"{field}: {exc}") from None
    return ref, (version, settings.s3_endpoint_url)


def load_onnx_model(
    session: Session | None,
    config: Mapping[str, Any],
    job_labels: list[str],
    *,
    multilabel: bool = False,
) -> Any:
    """The fitted model of a checked block (files read once per version: cached)."""
    from truthset.learning.models import ModelError
    from truthset.learning.models.onnx_models import MAX_MODEL_BYTES, model_from_config
    from truthset.media.storage import read_limited

    keys = ("path", "decoder_path") if config["kind"] == "sam" else ("path",)
    files = [_model_file(session, config, key) for key in keys]
    cache_key = (
        orjson.dumps(config, option=orjson.OPT_SORT_KEYS),
        tuple((ref, version[0]) for ref, version in files),
        # A segmenter's masks do not depend on the labels: the model the job's check
        # loaded (without them) serves the runs, and a large encoder is loaded once.
        () if config["kind"] == "sam" else tuple(job_labels),
        multilabel,
    )
    with _models_lock:
        hit = _models.get(cache_key)
        if hit is not None:
            _models.move_to_end(cache_key)
            return hit
    blobs = []
    for key, (ref, (_version, endpoint)) in zip(keys, files, strict=True):
        try:
            data, _ = read_limited(ref, "model file", MAX_MODEL_BYTES, endpoint_url=endpoint)
        except (BadInput, NotFound) as exc:
            raise BadInput(f"{ONNX_FIELD}.{key}: {exc}") from None
        blobs.append(data)
    try:
        model = model_from_config(
            config,
            blobs[0],
            blobs[1] if len(blobs) > 1 else None,
            classes=job_labels,
            multilabel=multilabel,
        )
    except ModelError as exc:
        raise _model_error(exc) from None
    with _models_lock:
        _models[cache_key] = model
        while len(_models) > CACHE_MODELS:
            _models.popitem(last=False)
    return model


def check_prelabel_settings(session: Session | None, task_type: str, settings: Any) -> None:
    """The job settings section: ``prelabel`` holds ``onnx``, a model this server can load
    and that fits the task type (checked on create and on every change)."""
    raw = settings.get("prelabel") if isinstance(settings, Mapping) else None
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        raise BadInput(f"settings.prelabel must be an object, got {raw!r}")
    unknown = sorted(set(raw) - {ONNX})
    if unknown:
        raise BadInput(f"settings.prelabel: unknown key(s) {unknown} (known: {ONNX})")
    if raw.get(ONNX) is None:
        return
    config = check_onnx_structure(task_type, raw[ONNX])
    # The label names are checked against the job's labels when pre-labeling starts (the
    # section does not see the label config); the files are loaded now.
    load_onnx_model(session, config, [], multilabel=task_type.endswith("multilabel"))


PRELABEL_SECTION = SettingsSection(
    key="prelabel",
    description="pre-labeling with your own model: settings.prelabel.onnx (path, kind, ...)",
    check=check_prelabel_settings,
)


def _read_rgb(ref: str) -> Any:
    """The item's image as an RGB array, turned by its EXIF orientation as browsers show it
    (the tools' coordinates are in the turned image)."""
    import numpy as np
    from PIL import Image, ImageOps

    from truthset.media.storage import open_item_media

    with open_item_media(ref) as fh, Image.open(fh) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))


def _prompt_boxes(
    data: Mapping[str, Any], attribute: str, job_labels: list[str], default_label: str
) -> list[tuple[str, tuple[float, float, float, float]]] | None:
    """Box prompts from an item's attribute, in the answer shape (``boundingBoxes``) or
    Ground Truth's (``annotations`` with ``class_id``, named by the metadata's class-map):
    (label, (x0, y0, x1, y1)); a box's label is kept when it is one of the job's."""
    value = data.get(attribute)
    if not isinstance(value, Mapping):
        return None
    meta = data.get(f"{attribute}-metadata")
    class_map = meta.get("class-map") if isinstance(meta, Mapping) else None
    objects: list[tuple[Any, Any]] = []
    if isinstance(value.get("boundingBoxes"), list):
        objects = [(b.get("label"), b) for b in value["boundingBoxes"] if isinstance(b, Mapping)]
    elif isinstance(value.get("annotations"), list):
        for a in value["annotations"]:
            if isinstance(a, Mapping):
                cid = a.get("class_id")
                name = class_map.get(str(cid)) if isinstance(class_map, Mapping) else None
                objects.append((name, a))
    else:
        return None
    out = []
    for name, box in objects:
        try:
            left, top = float(box["left"]), float(box["top"])
            width, height = float(box["width"]), float(box["height"])
        except (KeyError, TypeError, ValueError):
            continue
        if width <= 0 or height <= 0:
            continue
        label = name if name in job_labels else default_label
        out.append((label, (left, top, left + width, top + height)))
    return out


def _merge(counts: dict[str, int], more: Mapping[str, int]) -> None:
    for key, n in more.items():
        counts[key] = counts.get(key, 0) + int(n)


def onnx_todo(session: Session, job: Job) -> list[int]:
    """The job's unstarted items without a prediction, in import order (their ids)."""
    key = f"{job.label_attribute}-prediction"
    return [
        item_id
        for item_id, data in repository.open_unstarted_items(session, job.id)
        if key not in orjson.loads(data)
    ]


def plan_onnx_predictions(
    session: Session,
    job: Job,
    label: str,
    item_ids: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """Your own model's predictions (reads only) for ``item_ids`` (default: `onnx_todo`),
    leaving out those that have a prediction by now: item id -> prediction in the answer
    shape, and what was done (`merge_onnx_reports` adds up those of several batches:
    counts of boxes / classes / masks, classes dropped as unmapped, unreadable images,
    time)."""
    import numpy as np

    task_type = get_task_type(job.task_type)
    config = task_type.parse_label_config(job.label_config)
    job_labels = list(config.labels)
    raw = onnx_config_of(job.settings)
    if raw is None:
        raise BadInput(f"job {job.name!r} has no {ONNX_FIELD} model")
    cfg = check_onnx_structure(job.task_type, raw)
    check_onnx_labels(cfg, job_labels)
    multilabel = job.task_type == "image-classification-multilabel"
    model = load_onnx_model(session, cfg, job_labels, multilabel=multilabel)
    kind = cfg["kind"]
    key = f"{job.label_attribute}-prediction"
    ids = onnx_todo(session, job) if item_ids is None else list(item_ids)
    todo = [(item_id, orjson.loads(repository.item_data(session, item_id))) for item_id in ids]
    todo = [(item_id, data) for item_id, data in todo if key not in data]
    dropped: dict[str, int] = {}
    report: dict[str, Any] = {"kind": kind, "processed": len(todo)}
    counts = {"boxes": 0} if kind in ("yolo", "ssd") else {}
    if kind == "classify":
        counts = {"classified": 0, "below_threshold": 0}
    elif kind == "sam":
        counts = {"masks": 0, "no_prompt": 0}
    unreadable: list[str] = []
    refused: list[str] = []
    out: dict[int, dict[str, Any]] = {}
    started = time.perf_counter()
    threshold = cfg.get("score_threshold", 0.5 if multilabel else 0.0)
    for n, (item_id, data) in enumerate(todo, 1):
        ident = str(data.get("id", item_id))
        try:
            image = _read_rgb(str(data.get("source-ref")))
        except Exception:  # noqa: BLE001 - a missing or undecodable image: counted, skipped
            unreadable.append(ident)
            if progress is not None:
                progress(n, len(todo))
            continue
        height, width = int(image.shape[0]), int(image.shape[1])
        size = {"width": width, "height": height}
        prediction: dict[str, Any] | None = None
        if kind in ("yolo", "ssd"):
            found = model.predict_one(image)
            _merge(dropped, found["dropped"])
            counts["boxes"] += len(found["boundingBoxes"])
            prediction = {"boundingBoxes": found["boundingBoxes"], "inputImageProperties": size}
        elif kind == "classify":
            probs = model.predict_proba_one(image)
            names = model.names_
            if multilabel:
                over = [int(i) for i in np.flatnonzero(probs >= threshold)]
                _merge(dropped, {str(i): 1 for i in over if i not in names})
                chosen = {names[i] for i in over if i in names}
                prediction = {"labels": [lab for lab in job_labels if lab in chosen]}
                counts["classified"] += 1
            else:
                best = int(np.argmax(probs))
                if best not in names:
                    _merge(dropped, {str(best): 1})
                elif float(probs[best]) < threshold:
                    counts["below_threshold"] += 1
                else:
                    prediction = {"label": names[best]}
                    counts["classified"] += 1
        else:
            prediction = _mask_prediction(
                model, image, data, cfg, job.task_type, job_labels, label, counts
            )
        if prediction is not None:
            try:
                task_type.validate_answer(prediction, config, data)
            except BadInput:
                refused.append(ident)
            else:
                out[item_id] = prediction
        if progress is not None:
            progress(n, len(todo))
    seconds = time.perf_counter() - started
    report.update(counts)
    report["dropped_classes"] = dropped
    report["dropped"] = sum(dropped.values())
    report["unreadable"] = len(unreadable)
    if unreadable:
        report["unreadable_items"] = unreadable[:20]
    if refused:  # a prediction the task type refuses is not put in front of a worker
        report["refused"] = len(refused)
        report["refused_items"] = refused[:20]
    report["seconds"] = round(seconds, 3)
    report["ms_per_item"] = round(1000 * seconds / len(todo), 2) if todo else None
    return out, report


def merge_onnx_reports(first: Mapping[str, Any], second: Mapping[str, Any]) -> dict[str, Any]:
    """Two batches' reports as one: counts added, dropped classes merged, the listed items
    kept to 20, the time per item over both."""
    out = dict(first)
    for key, value in second.items():
        before = out.get(key)
        if key == "dropped_classes":
            merged = dict(before or {})
            _merge(merged, value)
            out[key] = merged
        elif key.endswith("_items"):
            out[key] = [*(before or []), *value][:20]
        elif (
            isinstance(value, int | float) and not isinstance(value, bool) and key != "ms_per_item"
        ):
            out[key] = (before or 0) + value
        elif key not in out:
            out[key] = value
    out["seconds"] = round(float(out.get("seconds", 0.0)), 3)
    processed = int(out.get("processed", 0))
    out["ms_per_item"] = round(1000 * out["seconds"] / processed, 2) if processed else None
    return out


def _mask_prediction(
    model: Any,
    image: Any,
    data: Mapping[str, Any],
    cfg: Mapping[str, Any],
    task_type: str,
    job_labels: list[str],
    label: str,
    counts: dict[str, int],
) -> dict[str, Any] | None:
    """A prompted segmenter's masks in the job's answer shape: polygons (instance
    segmentation, polygon jobs) or the class mask PNG (semantic segmentation)."""
    import numpy as np

    from truthset.consensus.spatial import class_colors
    from truthset.consensus.spatial.masks import encode_label_png_base64
    from truthset.learning.assisted_segmentation import mask_to_polygons

    height, width = int(image.shape[0]), int(image.shape[1])
    size = {"width": width, "height": height}
    boxes_from = cfg.get("boxes_from")
    if boxes_from:
        prompts = _prompt_boxes(data, str(boxes_from), job_labels, label)
        if not prompts:
            counts["no_prompt"] += 1
            return None
    else:
        prompts = [(label, (0.0, 0.0, float(width), float(height)))]
    embedding = model.embed(image)
    masks = [(name, model.segment(embedding, box=box)) for name, box in prompts]
    masks = [(name, m) for name, m in masks if m.any()]
    counts["masks"] += len(masks)
    if task_type == "semantic-segmentation":
        classes = np.zeros((height, width), dtype=np.uint8)
        for name, m in masks:  # a later prompt's mask lies over an earlier one's
            classes[m] = job_labels.index(name) + 1
        colors = class_colors(job_labels)
        used = {job_labels[i - 1] for i in np.unique(classes).tolist() if i}
        return {
            "labeledImage": {"pngImageData": encode_label_png_base64(classes, colors)},
            "labelMappings": {
                name: {"color": colors[i + 1]} for i, name in enumerate(job_labels) if name in used
            },
            "inputImageProperties": size,
        }
    polygons = [
        {"label": name, "vertices": [{"x": x, "y": y} for x, y in outline]}
        for name, m in masks
        for outline in mask_to_polygons(m, min_area=MIN_POLYGON_AREA)
    ]
    return {"polygons": polygons, "inputImageProperties": size}
