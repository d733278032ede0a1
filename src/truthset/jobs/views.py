"""Read models of jobs for the API and the console (no HTTP here)."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.errors import BadInput, NotFound
from truthset.jobs import repository, service
from truthset.store.models import Dataset, Job
from truthset.store.raw import stored_json
from truthset.tasktypes import get_task_type
from truthset.tasktypes.predictions import item_prediction


def job_summary(session: Session, job: Job, *, for_staff: bool) -> dict[str, Any]:
    task_type = get_task_type(job.task_type)
    config = task_type.parse_label_config(job.label_config)
    out: dict[str, Any] = {
        "id": job.id,
        "name": job.name,
        "task_type": job.task_type,
        "media": task_type.media,
        "ui_module": task_type.ui_module,
        "labels": list(config.labels),
        "label_config": job.label_config,
        "instructions": job.instructions,
        "state": job.state,
        "task_time_limit": job.task_time_limit,
        "counters": service.counters(session, job.id),
    }
    if for_staff:
        teams = repository.team_names_of_job(session, job.id)
        dataset = session.get(Dataset, job.dataset_id) if job.dataset_id else None
        input_job = session.get(Job, job.input_job_id) if job.input_job_id else None
        out.update(
            dataset=dataset.name if dataset else None,
            input_job=input_job.name if input_job else None,
            label_attribute=job.label_attribute,
            workers_per_item=job.workers_per_item,
            task_availability=job.task_availability,
            max_concurrent_tasks=job.max_concurrent_tasks,
            max_human_labeled=job.max_human_labeled,
            max_percentage_labeled=job.max_percentage_labeled,
            teams=sorted(teams),
            settings=job.settings,
            in_flight=job.in_flight,
            failure_reason=job.failure_reason,
            created_at=job.created_at,
            updated_at=job.updated_at,
        )
    return out


def list_labels(
    session: Session,
    job: Job,
    *,
    offset: int = 0,
    limit: int,
    after: int | None = None,
    label: str | None = None,
    human: bool | None = None,
    max_confidence: float | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """One page of the job's items with their labels, in import order: from `offset`, or
    after the task `after` (a row's ``task_id``; the way through a large job, since an
    offset reads every row before the page)."""
    cursor = _cursor(session, job, after, "after")
    rows = repository.label_rows(
        session,
        job.id,
        offset=offset,
        limit=limit,
        label=label,
        human=human,
        max_confidence=max_confidence,
        status=status,
        cursor=cursor,
    )
    out = [r for r in (_label_row(row, label) for row in rows) if r is not None]
    for row in out:
        del row["item_id"]
    return out


def labels_page(
    session: Session,
    job: Job,
    *,
    limit: int,
    after: int | None = None,
    before: int | None = None,
    label: str | None = None,
    human: bool | None = None,
    max_confidence: float | None = None,
    status: str | None = None,
    disputed: bool = False,
) -> dict[str, Any]:
    """The console's item browser: `limit` rows after the task `after` (or before the task
    `before`), walking the job's tasks in import order from there, never counting rows
    before the page. ``after`` / ``before`` in the answer are the cursors of the next and
    the previous page (None where there is none). ``total``: how many tasks the filter by
    status leaves, from the stored counts (None with other filters, which would need a
    count of the rows, and for open or full tasks, which the counts hold as one)."""
    if after is not None and before is not None:
        raise BadInput("give after or before, not both")
    backwards = before is not None
    cursor = _cursor(
        session, job, before if backwards else after, "before" if backwards else "after"
    )
    out: list[dict[str, Any]] = []
    chunk = limit + 1
    while len(out) <= limit:
        rows = repository.label_rows(
            session,
            job.id,
            offset=0,
            limit=chunk,
            label=label,
            human=human,
            max_confidence=max_confidence,
            status=status,
            disputed=disputed,
            cursor=cursor,
            backwards=backwards,
        )
        out.extend(r for r in (_label_row(row, label) for row in rows) if r is not None)
        if len(rows) < chunk:
            break
        cursor = _row_cursor(rows[-1])
    more = len(out) > limit
    out = out[:limit]
    if backwards:
        out.reverse()
    # Walking forwards there are rows later when the walk found more; earlier ones, as far
    # as this walk knows, when it started after a row (backwards the other way round).
    earlier, later = (more, True) if backwards else (after is not None, more)
    for row in out:
        has_media = isinstance(row["data"], dict) and "source-ref" in row["data"]
        row["media_url"] = f"/api/items/{row.pop('item_id')}/media" if has_media else None
    total: int | None = None
    # The stored counts hold open and full tasks as one (a lease changes no count).
    if (
        label is None
        and human is None
        and max_confidence is None
        and not disputed
        and status not in ("open", "full")
    ):
        by_status = service.tasks_by_status(session, job.id)
        total = by_status.get(status, 0) if status is not None else sum(by_status.values())
    return {
        "rows": out,
        "limit": limit,
        "after": out[-1]["task_id"] if out and later else None,
        "before": out[0]["task_id"] if out and earlier else None,
        "more": bool(out) and later,
        "total": total,
    }


def _cursor(session: Session, job: Job, task_id: int | None, name: str) -> tuple[int, int] | None:
    if task_id is None:
        return None
    position = repository.task_position(session, job.id, task_id)
    if position is None:
        raise BadInput(f"{name}: job {job.name!r} has no task {task_id}")
    return int(position), int(task_id)


def _row_cursor(row: Any) -> tuple[int, int]:
    return int(row[11]), int(row[9])


def _label_row(row: Any, label: str | None) -> dict[str, Any] | None:
    ext, data, status_, answers, value, meta, conf, is_human, method, task_id, item_id = row[:11]
    meta = stored_json(meta)
    # The label's name was matched as text in SQL; this drops any other key that happens
    # to hold the same text.
    if label is not None and (
        meta is None
        or (meta.get("class-name") != label and label not in (meta.get("class-map") or {}).values())
    ):
        return None
    return {
        "item": ext,
        "task_id": int(task_id),
        "item_id": int(item_id),
        "data": stored_json(data),
        "status": status_,
        "answers": answers,
        "value": stored_json(value),
        "meta": meta,
        "confidence": conf,
        "human": None if is_human is None else bool(is_human),
        "method": method,
    }


def item_detail(session: Session, job: Job, item_external_id: str) -> dict[str, Any]:
    row = service.job_item(session, job, item_external_id)
    task_id = row.task_id
    answers = repository.answers_of_task(session, task_id)
    label = repository.label_of_task(session, task_id)
    return {
        "item": row.external_id,
        "data": stored_json(row.data),
        "status": row.status,
        "is_gold": bool(row.is_gold),
        "answers": [
            {
                "worker": w,
                "answer": stored_json(c),
                "submitted_at": s,
                "time_spent": ts,
                "excluded": bool(x),
            }
            for w, c, s, ts, x in answers
        ],
        "label": None
        if label is None
        else {
            "value": stored_json(label[0]),
            "meta": stored_json(label[1]),
            "confidence": label[2],
            "human": bool(label[3]),
            "method": label[4],
            "reviewed": bool(label[5]),
        },
    }


def worker_table(session: Session, job: Job) -> list[dict[str, Any]]:
    """Each worker's answers, time and quality figures in the job, from the stored counts
    (no scan of the job's answers). ``agreement``: the share of the worker's answers on
    labeled items that equal the consolidated label, for classification jobs (None for a
    worker with no answer on a labeled item, and for other task types)."""
    classification = get_task_type(job.task_type).name.endswith("classification")
    rows = repository.worker_stats_of_job(session, job.id)
    out = []
    # int(): PostgreSQL's sum of BIGINT counts is NUMERIC (a Decimal here).
    for name, n, t, skill, ga, gc, blocked, labeled, agree in rows:
        n, labeled, spent = int(n), int(labeled), float(t)
        out.append(
            {
                "worker": name,
                "answers": n,
                "time_spent": round(spent, 2),
                "mean_time": round(spent / n, 2) if n else None,
                "agreement": round(int(agree) / labeled, 4) if classification and labeled else None,
                "skill": skill,
                "gold_answers": ga,
                "gold_accuracy": (gc / ga) if ga else None,
                "blocked": bool(blocked),
            }
        )
    return out


def activity(
    session: Session, job: Job, *, worker: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    worker_id = None
    if worker is not None:
        worker_id = repository.user_id_named(session, worker)
        if worker_id is None:
            raise NotFound(f"user {worker!r} not found")
    rows = repository.activity_of_job(
        session, job.id, worker_id=worker_id, limit=limit, offset=offset
    )
    return [
        {"event": ev, "at": at, "worker": w, "item": item, "assignment_id": a}
        for ev, at, w, item, a in rows
    ]


def throughput(session: Session, job: Job, *, bucket_seconds: int = 60) -> list[dict[str, Any]]:
    rows = repository.answers_per_bucket(session, job.id, bucket_seconds)
    return [
        {
            "t": int(b) * bucket_seconds,
            "answers": int(n),
            "mean_time": round(float(spent or 0) / int(n), 2),
        }
        for b, n, spent in rows
    ]


def worker_activity(
    session: Session, worker_id: int, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """One worker's activity log across jobs (Ground Truth's worker activity fields)."""
    rows = repository.activity_of_worker(session, worker_id, limit=limit, offset=offset)
    return [
        {"event": ev, "at": at, "job": job, "item": item, "assignment_id": a}
        for ev, at, job, item, a in rows
    ]


def prelabel_report(session: Session, job: Job) -> dict[str, Any]:
    """The effect of showing model predictions to workers (pre-labeling): time per answer
    on items that carried a prediction (`<attr>-prediction`) beside items that did not,
    and how many answers kept the prediction as it was (equal after the task type's own
    validation, so key order and number formatting do not count as a change). A
    prediction in Ground Truth's output shape is compared as the answer the tool starts
    from (truthset.tasktypes.predictions)."""
    task_type = get_task_type(job.task_type)
    config = task_type.parse_label_config(job.label_config)
    rows = repository.counted_answers_with_items(session, job.id)
    with_times: list[float] = []
    without_times: list[float] = []
    unchanged = 0
    for content, spent, data in rows:
        item = orjson.loads(data)
        prediction = item_prediction(task_type, item, job.label_attribute, config)
        if prediction is None:
            without_times.append(float(spent or 0.0))
            continue
        with_times.append(float(spent or 0.0))
        content = stored_json(content)
        try:
            expected = task_type.validate_answer(prediction, config, item)
        except Exception:  # noqa: BLE001 - a prediction the job's config refuses: changed
            continue
        if orjson.dumps(expected, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
            content, option=orjson.OPT_SORT_KEYS
        ):
            unchanged += 1
    with_stats = _time_stats(with_times)
    without_stats = _time_stats(without_times)
    with_stats["kept_unchanged"] = unchanged
    with_stats["kept_unchanged_share"] = (
        round(unchanged / len(with_times), 4) if with_times else None
    )
    saved = None
    if with_times and without_times:
        saved = round(float(without_stats["median_time"]) - float(with_stats["median_time"]), 3)
    return {
        "with_prediction": with_stats,
        "without_prediction": without_stats,
        "median_time_saved": saved,
    }


def _time_stats(times: list[float]) -> dict[str, Any]:
    if not times:
        return {"answers": 0, "mean_time": None, "median_time": None}
    ordered = sorted(times)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return {
        "answers": len(times),
        "mean_time": round(sum(times) / len(times), 3),
        "median_time": round(median, 3),
    }


def _as_answer(task_type_name: str, value: Any, meta: Any, label_config: Any) -> Any:
    """A label a tool starts from in the answer shape, for the types that ask for it (the
    video types: a SeqLabel document, or the URI of Ground Truth's, becomes keyframes). A
    label that cannot be read so is handed over as stored rather than failing the lease."""
    task_type = get_task_type(task_type_name)
    if not getattr(task_type, "prior_label_as_answer", False):
        return value
    try:
        config = task_type.parse_label_config(label_config)
        return task_type.initial_answer(value, meta, config)  # type: ignore[attr-defined]
    except (BadInput, KeyError, TypeError, ValueError):
        return value


def label_for_tool(session: Session, job_id: int, item_id: int) -> dict[str, Any] | None:
    """A job's label of an item in the shape tools load as ``prior_label`` (value, meta,
    and for masks the mask itself as a worker answer's ``labeledImage``)."""
    row = repository.label_with_job(session, job_id, item_id)
    if row is None:
        return None
    value, meta, artifact, attribute, task_type_name, label_config = row
    value, meta, label_config = (stored_json(v) for v in (value, meta, label_config))
    if artifact is not None:
        task_type = get_task_type(task_type_name)
        initial = getattr(task_type, "initial_answer", None)
        config = task_type.parse_label_config(label_config)
        value = dict(initial(value, meta, config)) if initial is not None else {}
        value["labeledImage"] = {"pngImageData": base64.b64encode(bytes(artifact)).decode()}
    else:
        value = _as_answer(task_type_name, value, meta, label_config)
    return {
        "attribute": attribute,
        "task_type": task_type_name,
        "value": value,
        "meta": meta,
        "label_config": label_config,
    }
