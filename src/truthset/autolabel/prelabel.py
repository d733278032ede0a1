"""Pre-labeling: a detector's boxes put into a bounding-box job's items, so that workers
correct them instead of drawing from scratch.

The boxes go into the item as `<label attribute>-prediction` in the worker-answer shape
(`{"boundingBoxes": [...], "inputImageProperties": {...}}`), the key the work API hands
to the tool and a manifest may also bring, in that shape or in Ground Truth's output
shape with `<label attribute>-prediction-metadata` (truthset.tasktypes.predictions reads
both, for the tool and for the report). An item that has a prediction of either shape
keeps it. `GET /api/jobs/{name}/prelabeling` then shows their effect on time per task.
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

DETECTORS = ("face", "cat-face")


def check_request(job: Job, detector: str, label: str | None) -> str:
    """Refuse what cannot work before a run starts; returns the job label to use."""
    if job.task_type != "bounding-box":
        raise BadInput(
            f"pre-labeling with a detector needs a bounding-box job, not {job.task_type}"
        )
    if detector not in DETECTORS:
        raise BadInput(f"detector {detector!r} is not one of {', '.join(DETECTORS)}")
    labels = list(get_task_type(job.task_type).parse_label_config(job.label_config).labels)
    chosen = label or ("face" if detector == "face" else "cat")
    if chosen not in labels:
        raise BadInput(
            f"label {chosen!r} is not a label of job {job.name!r} ({', '.join(labels)}); "
            "choose one with label="
        )
    return chosen


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
