"""The console job page's charts (no HTTP here): progress with an estimated finish, the
label distribution, each worker's agreement over time and the confusion matrix between
workers' answers and a reference (gold where the answered items are gold, otherwise the
consolidated label).

Every figure comes from the counters (one grouped count of the job's tasks) or from a window
of the job's newest rows, so the page of a million-item job costs what a small one does;
the response says how many rows each chart read."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from truthset.jobs import charts_repository as repository
from truthset.jobs import service
from truthset.store.models import Job
from truthset.store.raw import stored_json
from truthset.tasktypes import get_task_type

# How many of the newest answers measure the recent throughput, the estimate's basis.
RATE_WINDOW = 2000
# Throughput older than this (seconds) says nothing about when the job will finish.
STALE_AFTER = 3600.0
LABEL_WINDOW = 20_000
ANSWER_WINDOW = 5_000
SKILL_BUCKETS = 8
SKILL_WORKERS = 8


def job_charts(session: Session, job: Job, *, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    answers = _answers_with_reference(session, job)
    return {
        "progress": progress(session, job, now=now),
        "labels": label_distribution(session, job),
        "confusion": confusion_matrix(answers),
        "skill": skill_over_time(answers),
    }


def progress(session: Session, job: Job, *, now: float) -> dict[str, Any]:
    """Items done and left, and when the rest will be done at the recent pace."""
    counters = service.counters(session, job.id)
    remaining = counters["unlabeled"]
    out: dict[str, Any] = {
        "total": counters["total"],
        "done": counters["total"] - remaining,
        "remaining": remaining,
        "answers_per_hour": None,
        "items_per_hour": None,
        "eta_seconds": None,
        "finish_at": None,
        "basis": 0,
        "note": None,
    }
    if remaining == 0:
        out.update(eta_seconds=0, note="every item is labeled")
        return out
    if job.state != "in_progress":
        out["note"] = f"the job is {job.state.replace('_', ' ')}: no work goes on"
        return out
    times = repository.recent_answer_times(session, job.id, RATE_WINDOW)
    if len(times) < 2 or times[0] <= times[-1]:
        out["note"] = "not enough answers yet to measure the pace"
        return out
    if now - times[0] > STALE_AFTER:
        out["note"] = "no answers in the last hour"
        return out
    # The window ends now, not at the last answer: a pause since then slows the estimate.
    per_second = (len(times) - 1) / (max(now, times[0]) - times[-1])
    items_per_second = per_second / max(1, job.workers_per_item)
    eta = remaining / items_per_second
    out.update(
        answers_per_hour=round(per_second * 3600, 1),
        items_per_hour=round(items_per_second * 3600, 1),
        eta_seconds=round(eta),
        finish_at=round(now + eta),
        basis=len(times),
    )
    return out


def label_distribution(session: Session, job: Job) -> dict[str, Any]:
    """Labels by class over the newest labels: one per item for single-label
    classification, each chosen class for multi-label, each object for boxes and the
    like. Classes no label uses are listed with 0, in the job's order."""
    classes = list(get_task_type(job.task_type).parse_label_config(job.label_config).labels)
    counts = dict.fromkeys(classes, 0)
    rows = repository.recent_labels(session, job.id, LABEL_WINDOW)
    for value, meta in rows:
        meta = stored_json(meta) or {}
        # A class's name in the metadata says it all: the value is read only without it.
        if isinstance(meta.get("class-name"), str):
            counts[meta["class-name"]] = counts.get(meta["class-name"], 0) + 1
            continue
        for name in _classes_of_label(stored_json(value), meta):
            counts[name] = counts.get(name, 0) + 1
    return {
        "counts": [{"label": k, "count": v} for k, v in counts.items()],
        "labels_read": len(rows),
        "window": LABEL_WINDOW,
    }


def _classes_of_label(value: Any, meta: dict[str, Any]) -> list[str]:
    if isinstance(meta.get("class-name"), str):
        return [meta["class-name"]]
    class_map = meta.get("class-map") or {}
    objects = value.get("annotations") if isinstance(value, dict) else None
    if isinstance(objects, list):
        return [
            str(class_map.get(str(o.get("class_id")), o.get("class_id")))
            for o in objects
            if isinstance(o, dict) and "class_id" in o
        ]
    return [str(v) for v in class_map.values()]


def _answers_with_reference(session: Session, job: Job) -> dict[str, Any]:
    """The newest answers of a single-label job, each with the class it should have been:
    against gold when any of them answered a gold item (then only those), otherwise
    against the consolidated label."""
    task_type = get_task_type(job.task_type)
    if not task_type.name.endswith("classification"):
        return {"problem": f"{job.task_type} answers are not one class each", "rows": []}
    rows = repository.recent_answers_with_references(session, job.id, ANSWER_WINDOW)
    gold = [(w, t, stored_json(c), stored_json(g)) for w, t, c, _m, g in rows if g is not None]
    if gold:
        against = "gold"
        pairs = [(w, t, c.get("label"), g.get("label")) for w, t, c, g in gold]
    else:
        against = "consolidated label"
        pairs = []
        for w, t, c, m, _g in rows:
            if m is None:
                continue
            meta = stored_json(m) or {}
            pairs.append((w, float(t), stored_json(c).get("label"), meta.get("class-name")))
    pairs = [p for p in pairs if isinstance(p[2], str) and isinstance(p[3], str)]
    classes = list(task_type.parse_label_config(job.label_config).labels)
    return {"problem": None, "against": against, "rows": pairs, "classes": classes}


def confusion_matrix(answers: dict[str, Any]) -> dict[str, Any]:
    """Rows: the reference class; columns: the worker's answer."""
    if answers["problem"]:
        return {"problem": answers["problem"]}
    classes = list(answers["classes"])
    for _w, _t, given, ref in answers["rows"]:
        for name in (ref, given):
            if name not in classes:
                classes.append(name)
    index = {c: i for i, c in enumerate(classes)}
    matrix = [[0] * len(classes) for _ in classes]
    for _w, _t, given, ref in answers["rows"]:
        matrix[index[ref]][index[given]] += 1
    return {
        "problem": None,
        "against": answers["against"],
        "labels": classes,
        "matrix": matrix,
        "answers": len(answers["rows"]),
        "window": ANSWER_WINDOW,
    }


def skill_over_time(answers: dict[str, Any]) -> dict[str, Any]:
    """The share of each worker's answers equal to the reference, in equal time spans
    across the answers read (the busiest workers only, so the lines stay readable)."""
    if answers["problem"]:
        return {"problem": answers["problem"]}
    rows = answers["rows"]
    out: dict[str, Any] = {"problem": None, "against": answers.get("against"), "workers": []}
    if not rows:
        out.update(start=None, end=None, bucket_seconds=None)
        return out
    start = min(t for _w, t, _g, _r in rows)
    end = max(t for _w, t, _g, _r in rows)
    # Equal spans over the answers read; a point sits mid-span, inside the range drawn.
    width = (end - start) / SKILL_BUCKETS if end > start else 1.0
    tally: dict[str, dict[int, list[int]]] = {}
    for worker, t, given, ref in rows:
        bucket = min(SKILL_BUCKETS - 1, int((t - start) / width))
        hit = tally.setdefault(worker, {}).setdefault(bucket, [0, 0])
        hit[0] += int(given == ref)
        hit[1] += 1
    busiest = sorted(tally, key=lambda w: (-sum(n for _h, n in tally[w].values()), w))
    for worker in busiest[:SKILL_WORKERS]:
        points = [
            {"t": round(start + (b + 0.5) * width, 3), "share": round(h / n, 4), "answers": n}
            for b, (h, n) in sorted(tally[worker].items())
        ]
        out["workers"].append({"worker": worker, "points": points})
    out.update(
        start=start,
        end=end,
        bucket_seconds=width,
        workers_shown=min(len(tally), SKILL_WORKERS),
        workers_total=len(tally),
    )
    return out
