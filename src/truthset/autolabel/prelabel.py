"""Pre-labeling: a detector's proposals put into a job's items, so that workers correct
them instead of drawing from scratch.

- Bounding-box jobs: a face or cat-face detector's boxes (OpenCV Haar cascades).
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

from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.autolabel import repository
from truthset.errors import BadInput
from truthset.store.models import Job
from truthset.tasktypes import get_task_type

# Detectors of boxes (bounding-box jobs; also automated labeling of boxes).
DETECTORS = ("face", "cat-face")
# Detectors of time segments (audio segment jobs).
AUDIO_DETECTORS = ("energy", "webrtcvad")
AUDIO_TYPES = ("audio-segmentation", "audio-segment-transcription")
# Seconds of audio decoded at a time.
AUDIO_WINDOW_S = 60.0


def check_request(job: Job, detector: str, label: str | None) -> str:
    """Refuse what cannot work before a run starts; returns the job label to use."""
    labels = list(get_task_type(job.task_type).parse_label_config(job.label_config).labels)
    if job.task_type in AUDIO_TYPES:
        if detector not in AUDIO_DETECTORS:
            raise BadInput(
                f"detector {detector!r} is not one of {', '.join(AUDIO_DETECTORS)}"
                f" (the detectors of {job.task_type} jobs)"
            )
        chosen = label or labels[0]
    elif job.task_type == "bounding-box":
        if detector not in DETECTORS:
            raise BadInput(
                f"detector {detector!r} is not one of {', '.join(DETECTORS)}"
                " (the detectors of bounding-box jobs)"
            )
        chosen = label or ("face" if detector == "face" else "cat")
    else:
        raise BadInput(
            "pre-labeling with a detector needs a bounding-box job or an audio segment job, not "
            f"{job.task_type}"
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
