"""Gold items: items with a known answer mixed into a job's work, to qualify workers and
score their answers. Gold from a manifest key is a job settings section (`gold_key`).
The queries are in `truthset.quality.repository`."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.errors import BadInput
from truthset.jobs import repository as jobs_repository
from truthset.jobs.service import AnyJob
from truthset.jobs.settings import SettingsSection
from truthset.quality import repository
from truthset.store.models import Job, WorkerStat
from truthset.store.raw import stored_json
from truthset.tasktypes import get_task_type


def gold_map(session: Session, job: Job) -> dict[str, Any]:
    """The job's gold answers by item external id."""
    rows = repository.gold_answers_by_external_id(session, job.id)
    return {ext: stored_json(ans) for ext, ans in rows}


def add_gold(session: Session, job: Job, rows: list[tuple[int, str, Any]]) -> dict[str, Any]:
    """rows: (line number, item id, answer). Every row is checked before anything is written."""
    task_type = get_task_type(job.task_type)
    config = task_type.parse_label_config(job.label_config)
    errors = []
    resolved = []
    for line, item_id, answer in rows:
        row = jobs_repository.task_of_item(session, job.id, item_id)
        if row is None:
            errors.append({"line": line, "reason": f"item {item_id!r} is not in job {job.name!r}"})
            continue
        if row.status in ("complete", "auto"):
            errors.append({"line": line, "reason": f"item {item_id!r} is already labeled"})
            continue
        try:
            content = task_type.validate_answer(answer, config, orjson.loads(row.data))
        except BadInput as exc:
            errors.append({"line": line, "reason": f"{exc.detail}"})
            continue
        resolved.append((row.task_id, row.item_id, row.status, content))
    if errors:
        raise BadInput(
            {
                "message": f"{len(errors)} invalid gold row(s); nothing was added",
                "errors": errors[:100],
                "invalid_lines": len(errors),
            }
        )
    for task_id, item_id, status, content in resolved:
        repository.replace_gold_answer(session, job.id, item_id, orjson.dumps(content).decode())
        was_in_flight = repository.task_started(session, task_id)
        # A gold item is a honeypot: served like any item, scored against its answer.
        repository.make_gold_task(session, task_id)
        if was_in_flight and status in ("open", "full"):
            jobs_repository.leave_window(session, job.id)
    session.flush()
    return {"added": len(resolved)}


def read_gold_csv(path: Path, task_type_name: str) -> list[tuple[int, str, Any]]:
    """`task,label` rows (task = item id). Multi-label: labels separated by '|'."""
    try:
        fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
    except FileNotFoundError:
        raise BadInput(f"gold file {str(path)!r} does not exist") from None
    with fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"task", "label"} <= set(reader.fieldnames):
            raise BadInput("line 1: the gold CSV needs the columns task,label")
        out = []
        for row in reader:
            label = row["label"]
            answer: Any = (
                {"labels": [x for x in label.split("|") if x]}
                if task_type_name.endswith("multilabel")
                else {"label": label}
            )
            out.append((reader.line_num, row["task"], answer))
    return out


def gold_from_manifest(session: Session, job: Job, key: str) -> None:
    """Items whose manifest line carries `key` become gold items with that answer: a label
    name (single-label), a list of names (multi-label) or the task type's answer object."""
    rows = []
    for position, ext, data in repository.items_in_position_order(session, job.id):
        value = orjson.loads(data).get(key)
        if value is None:
            continue
        if isinstance(value, str):
            value = {"label": value}
        elif isinstance(value, list):
            value = {"labels": value}
        rows.append((int(position) + 1, ext, value))
    if not rows:
        raise BadInput(f"settings.gold_key {key!r}: no item of the input has that key")
    add_gold(session, job, rows)


def needs_qualification(session: Session, job: AnyJob, worker_id: int) -> bool:
    qual = job.settings.get("qualification") or {}
    needed = int(qual.get("gold_items") or 0)
    if needed <= 0:
        return False
    stat = repository.worker_stat(session, job.id, worker_id)
    return (stat.gold_answers if stat else 0) < needed


def score_gold_answer(
    session: Session, job: AnyJob, worker_id: int, item_id: int, content: dict[str, Any]
) -> dict[str, Any] | None:
    """Score an answer on a gold item; block the worker when the job's bar is not met."""
    stored = repository.gold_answer(session, job.id, item_id)
    if stored is None:
        return None
    gold = stored_json(stored)
    task_type = get_task_type(job.task_type)
    agreement = getattr(task_type, "agreement", None)
    if agreement is not None:
        config = task_type.parse_label_config(job.label_config)
        threshold = float((job.settings.get("qualification") or {}).get("min_agreement", 0.5))
        correct = agreement(content, gold, config) >= threshold
    else:
        correct = gold == content
    stat = repository.worker_stat(session, job.id, worker_id)
    if stat is None:
        stat = WorkerStat(
            job_id=job.id,
            worker_id=worker_id,
            gold_answers=0,
            gold_correct=0,
            blocked=False,
            params={},
        )
        session.add(stat)
    stat.gold_answers += 1
    stat.gold_correct += int(correct)
    qual = job.settings.get("qualification") or {}
    needed = int(qual.get("gold_items") or 0)
    min_accuracy = qual.get("min_accuracy")
    if min_accuracy is not None and stat.gold_answers >= max(needed, 1):
        stat.blocked = stat.gold_correct / stat.gold_answers < float(min_accuracy)
    session.flush()
    if job.settings.get("gold_feedback"):
        return {"correct": correct, "expected": gold}
    return None


def _gold_after_create(session: Session, job: Job) -> None:
    key = job.settings.get("gold_key")
    if key:
        gold_from_manifest(session, job, str(key))


GOLD_KEY_SECTION = SettingsSection(
    key="gold_key",
    description="a manifest key whose values make those items gold items with that answer",
    after_create=_gold_after_create,
)
