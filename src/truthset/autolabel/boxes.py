"""Automated labeling of a bounding-box job with a built-in detector (OpenCV's Haar
cascades for faces and cat faces), as Ground Truth does for object detection: people
label a random validation set first; on it, the detector's per-image score and the mean
IoU of its boxes against the people's boxes choose the lowest score at which the mean IoU
of the images above it provably reaches the target (`choose_iou_threshold`, one-sided
Clopper-Pearson style bound); unstarted images scoring at least that get the detector's
boxes as machine labels, everything else goes to people.

The detector does not learn from the labels, so one certified threshold stands; later
iterations only label what is still open. Detections are computed once per job and
cached beside the data.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.autolabel import repository
from truthset.errors import BadInput
from truthset.labels.writer import write_label
from truthset.learning.loop import AutolabelSettings, choose_validation_items
from truthset.learning.threshold import choose_iou_threshold
from truthset.store.models import Job
from truthset.tasktypes import WorkerAnswer, get_task_type


@dataclass
class BoxPlan:
    report: dict[str, Any]
    # (task id, the detector's answer with its per-box confidences and image score)
    labels: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    priorities: dict[int, float] = field(default_factory=dict)
    # task id -> answers, for validation images that need more than the job's default.
    targets: dict[int, int] = field(default_factory=dict)


def plan_box_iteration(session: Session, job: Job, *, cache_dir: Path | None) -> BoxPlan:
    from truthset.autolabel.prelabel import check_request
    from truthset.autolabel.queue import (
        HELD_BACK,
        VALIDATION_PRIORITY,
        changed_priorities,
        validation_targets,
    )
    from truthset.autolabel.settings import autolabel_settings, batch_size, validation_settings
    from truthset.learning.models.detection import image_mean_iou
    from truthset.store.raw import stored_json

    task_type = get_task_type(job.task_type)
    config = task_type.parse_label_config(job.label_config)
    opts = autolabel_settings(job)
    if opts is None:
        raise BadInput(f"job {job.name!r} does not have automated labeling on")
    label = check_request(job, str(opts["detector"]), opts.get("label"))
    rows = repository.job_task_rows(session, job.id)
    n = len(rows)
    if n == 0:
        return BoxPlan(report={"items": 0})
    settings = AutolabelSettings(
        target_accuracy=float(opts["target_accuracy"]),
        confidence_level=float(opts["confidence_level"]),
        batch_size=batch_size(opts, n),
        workers_per_item=job.workers_per_item,
        **validation_settings(opts),
    )
    validation = [int(v) for v in choose_validation_items(n, settings, random_state=job.id)]
    in_validation = set(validation)
    targets = validation_targets(rows, validation, settings.validation_answers)
    done = [
        idx
        for idx in validation
        if rows[idx].status == "complete" and rows[idx].human and rows[idx].value is not None
    ]
    predictions = _detections(job, rows, str(opts["detector"]), label, cache_dir)

    def open_(r: Any) -> bool:
        return bool(r.status == "open" and not r.started)

    if len(done) < len(validation):
        # People label the validation images first; the rest waits for the threshold.
        priorities = changed_priorities(
            rows, [VALIDATION_PRIORITY if i in in_validation else HELD_BACK for i in range(n)]
        )
        return BoxPlan(
            report={
                "items": n,
                "validation_labeled": len(done),
                "waiting_for": len(validation),
                "auto_labeled": 0,
            },
            priorities=priorities,
            targets=targets,
        )
    ious = []
    for idx in done:
        value, meta = (stored_json(rows[idx].value), stored_json(rows[idx].meta))
        human = task_type.initial_answer(value, meta, config)["boundingBoxes"]  # type: ignore[attr-defined]
        ious.append(image_mean_iou(predictions[idx]["boundingBoxes"], human))
    scores = [predictions[idx]["score"] for idx in done]
    thr = choose_iou_threshold(
        scores,
        ious,
        target_iou=float(opts["target_iou"]),
        confidence_level=float(opts["confidence_level"]),
    )
    labels = []
    if thr.threshold is not None:
        for idx, r in enumerate(rows):
            p = predictions[idx]
            if idx in in_validation or not open_(r) or not p["boundingBoxes"]:
                continue
            if p["score"] >= thr.threshold:
                labels.append((r.id, p))
    taken = {t for t, _ in labels}
    # Everything the detector does not take goes to people now, least confident first.
    rest = sorted(
        (predictions[idx]["score"], r.id)
        for idx, r in enumerate(rows)
        if open_(r) and r.id not in taken
    )
    priorities = {
        task_id: 1.0 + (len(rest) - k) / max(1, len(rest)) for k, (_, task_id) in enumerate(rest)
    }
    report = {
        "items": n,
        "validation_labeled": len(done),
        "auto_labeled": len(labels),
        "threshold": thr.threshold,
        "target_iou": float(opts["target_iou"]),
        "estimated_accuracy": round(float(thr.accuracy), 4) if thr.n_selected else None,
        "accuracy_interval": [round(float(thr.lower_bound), 4), 1.0],
        "measure": "mean IoU of the machine's boxes against people's on validation images",
        "committed": True,
        "strategy": f"detector:{opts['detector']}",
    }
    return BoxPlan(report=report, labels=labels, priorities=priorities, targets=targets)


def apply_box_plan(session: Session, job: Job, plan: BoxPlan, *, now: float | None = None) -> dict:
    """Write the machine labels (only on images still open and unstarted) and priorities."""
    from truthset.autolabel.queue import finish_plan

    now = time.time() if now is None else now
    task_type = get_task_type(job.task_type)
    config = task_type.parse_label_config(job.label_config)
    auto = 0
    for task_id, prediction in plan.labels:
        if not repository.claim_task_for_machine(session, task_id, now):
            continue
        answer = {
            "boundingBoxes": prediction["boundingBoxes"],
            "inputImageProperties": prediction["inputImageProperties"],
        }
        # The task type's own output for this one answer, with the detector's confidences.
        result = task_type.consolidate([WorkerAnswer(worker_id=0, content=answer)], config, {})
        meta = dict(result.meta)
        objects = meta.get("objects") or []
        if len(objects) == len(prediction["confidences"]):
            meta["objects"] = [
                {**o, "confidence": round(float(c), 2)}
                for o, c in zip(objects, prediction["confidences"], strict=True)
            ]
        result = type(result)(
            value=result.value,
            meta=meta,
            confidence=round(float(prediction["score"]), 2),
            method="auto-label",
        )
        write_label(session, job.id, task_id, result, human=False, now=now)
        auto += 1
    return finish_plan(
        session, job.id, plan.report, plan.priorities, auto, now=now, targets=plan.targets
    )


def _detections(
    job: Job, rows: Any, detector: str, label: str, cache_dir: Path | None
) -> list[dict[str, Any]]:
    """The detector's answer per row (boxes, per-box confidences, image score), cached."""
    from PIL import Image

    from truthset.learning.models.detection import HaarCascadeDetector
    from truthset.media.storage import open_item_media

    cache = None if cache_dir is None else cache_dir / f"job-{job.id}-detections-v1.json"
    stored: dict[str, Any] = {}
    if cache is not None and cache.exists():
        stored = json.loads(cache.read_text())
        if stored.get("detector") != detector or stored.get("label") != label:
            stored = {}
    found: dict[str, Any] = stored.get("items", {})
    model = None
    out = []
    for r in rows:
        key = str(r.item_id)
        if key not in found:
            if model is None:
                model = HaarCascadeDetector(kind=detector, label=label).fit()  # type: ignore[arg-type]
            ref = orjson.loads(r.data)["source-ref"]
            with open_item_media(ref) as fh, Image.open(fh) as img:
                found[key] = model.predict_one(img)
        out.append(found[key])
    if cache is not None and model is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"detector": detector, "label": label, "items": found}))
    return out
