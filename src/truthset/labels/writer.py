"""The one label writer: every label row, whoever made it (people's consolidation, the
model, a reviewer, job-level reconsolidation, an import), is written here, so the row's
shape and the task's state change stay in one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from truthset.store.raw import raw
from truthset.tasktypes import Consolidation


def class_label(class_id: int, class_name: str, confidence: float, method: str) -> Consolidation:
    """A single-label classification label as Ground Truth writes it (class id as the
    value; class-name and confidence in the metadata)."""
    return Consolidation(
        value=class_id,
        meta={"class-name": class_name, "confidence": confidence},
        confidence=confidence,
        method=method,
    )


_WRITE_LABEL = (
    "INSERT INTO labels (task_id, job_id, value, meta, confidence, human, reviewed, "
    "method, created_at, artifact) "
    "VALUES (:t, :j, :v, :m, :c, :h, :r, :method, :now, :art) "
    "ON CONFLICT (task_id) DO UPDATE SET value = excluded.value, meta = excluded.meta, "
    "confidence = excluded.confidence, human = excluded.human, "
    "reviewed = excluded.reviewed, method = excluded.method, "
    "created_at = excluded.created_at, artifact = excluded.artifact"
)
_COMPLETE = "UPDATE tasks SET status = 'complete', updated_at = :now WHERE id = :t"
# PostgreSQL: the label and the task's new state in one statement.
_LABEL_AND_COMPLETE_PG = f"WITH lab AS ({_WRITE_LABEL}) {_COMPLETE}"


def write_label(
    session: Session,
    job_id: int,
    task_id: int,
    result: Consolidation,
    *,
    human: bool,
    now: float,
    reviewed: bool = False,
    complete: bool = False,
) -> None:
    """Insert or replace the label of a task; with `complete`, also mark it complete."""
    params = {
        "t": task_id,
        "j": job_id,
        "v": orjson.dumps(result.value).decode(),
        "m": orjson.dumps(result.meta).decode(),
        "c": result.confidence,
        "h": human,
        "r": reviewed,
        "method": result.method,
        "now": now,
        "art": result.artifact,
    }
    sql = raw(session)
    if complete and sql.pg:
        sql.execute(_LABEL_AND_COMPLETE_PG, params)
        return
    sql.execute(_WRITE_LABEL, params)
    if complete:
        sql.execute(_COMPLETE, params)


def flag_label_issues(
    session: Session, job_id: int, issues: dict[int, tuple[float, dict[str, Any]]]
) -> None:
    """Replace a job's likely-wrong-label flags: task id -> (the created_at of the label
    version that was judged, the issue). Earlier flags are cleared."""
    session.execute(
        text("UPDATE labels SET issue = NULL, issue_label_at = NULL WHERE job_id = :j"),
        {"j": job_id},
    )
    if issues:
        # Only the version that was judged: a label rewritten meanwhile is left alone.
        session.execute(
            text(
                "UPDATE labels SET issue = :i, issue_label_at = :at "
                "WHERE task_id = :t AND job_id = :j AND created_at = :at AND reviewed = :f"
            ),
            [
                {"t": task_id, "i": orjson.dumps(issue).decode(), "at": at, "j": job_id, "f": False}
                for task_id, (at, issue) in issues.items()
            ],
        )


# -- labels imported with their items (a Ground Truth output manifest) --------------------

# The job and the time are the same on every row of a batch: they are written into the
# statement (numbers, formatted here), so that a row's parameters are a slice of the
# caller's row rather than a tuple made again (the import's hot path: a million-line
# output manifest makes a million of each).
_IMPORT_TASK = (
    "INSERT INTO tasks (job_id, item_id, position, status, is_gold, started, priority, "
    "target_answers, live_leases, answers, declines, updated_at) "
    "VALUES ({job}, ?, ?, ?, 0, 0, 0.0, 1, 0, 0, 0, {now})"
)
_IMPORT_LABEL = (
    "INSERT INTO labels (task_id, value, meta, confidence, human, created_at, artifact, "
    "job_id, reviewed, method) VALUES (?, ?, ?, ?, ?, ?, ?, {job}, FALSE, 'imported')"
)
# A label imported again replaces the earlier one.
_TASK_AGAIN = (
    " ON CONFLICT (job_id, item_id) DO UPDATE SET status = excluded.status, "
    "updated_at = excluded.updated_at"
)
_LABEL_AGAIN = (
    " ON CONFLICT (task_id) DO UPDATE SET value = excluded.value, meta = excluded.meta, "
    "confidence = excluded.confidence, human = excluded.human, "
    "reviewed = excluded.reviewed, method = excluded.method, "
    "created_at = excluded.created_at, artifact = excluded.artifact"
)


def write_imported_labels(
    session: Session,
    job_id: int,
    rows: list[tuple[Any, ...]],
    *,
    now: float,
    new_items: bool = False,
) -> None:
    """Labels that came with their items, as tasks of an imported (finished) job: `rows`
    are (item id, item position, task status, value JSON, meta JSON, confidence, human,
    created at, artifact). A label imported again replaces the earlier one. A failed label
    (status `failed`, value None) is a failed task without a label row, as a job leaves it.
    `new_items`: every item was added by this import's current batch, so none has a task
    of this job yet, nor two rows here: plain inserts, without the conflict search.

    Two executemany statements per batch, not one call per label, and on SQLite the new
    tasks' ids are known without reading them back: this is the import's hot path when a
    million-line output manifest comes in."""
    if not rows:
        return
    sql = raw(session)
    numbers = {"job": int(job_id), "now": repr(float(now))}
    task_sql = _IMPORT_TASK.format(**numbers) + ("" if new_items else _TASK_AGAIN)
    label_sql = _IMPORT_LABEL.format(**numbers) + ("" if new_items else _LABEL_AGAIN)
    task_ids = _insert_tasks(sql, job_id, task_sql, [r[:3] for r in rows])
    labels = [(task_ids[n], *r[3:]) for n, r in enumerate(rows) if r[2] != "failed"]
    sql.executemany_rows(label_sql, labels)


def write_new_imported_labels(
    session: Session,
    job_id: int,
    labels: list[tuple[Any, ...]],
    *,
    first_item: int,
    first_position: int,
    now: float,
) -> None:
    """`write_imported_labels` for the labels of items an import's batch has just added,
    numbered in order: `labels` are the batch's own rows (row index, shape, task status,
    value JSON, meta JSON, confidence, human, created at, artifact), the item of row r
    being `first_item + r` at position `first_position + r`. The rows are read where they
    are (no (item, position, ...) row made per label first: ~0.5 s of a 1,000,000-line
    import)."""
    if not labels:
        return
    sql = raw(session)
    numbers = {"job": int(job_id), "now": repr(float(now))}
    tasks = [(first_item + r[0], first_position + r[0], r[2]) for r in labels]
    task_ids = _insert_tasks(sql, job_id, _IMPORT_TASK.format(**numbers), tasks)
    rows = [(task_ids[n], *r[3:]) for n, r in enumerate(labels) if r[2] != "failed"]
    sql.executemany_rows(_IMPORT_LABEL.format(**numbers), rows)


def _insert_tasks(
    sql: Any, job_id: int, task_sql: str, tasks: list[tuple[Any, ...]]
) -> Sequence[int]:
    """Insert (item id, position, status) tasks; the task id of each, in order. On SQLite,
    when every row was a new task numbered in order after the largest id, the ids are
    known without reading them back."""
    before = None if sql.pg else int(sql.scalar("SELECT max(id) FROM tasks") or 0)
    added = sql.executemany_rows(task_sql, tasks)
    if (
        before is not None
        and added == len(tasks)
        and sql.scalar("SELECT max(id) FROM tasks") == before + len(tasks)
    ):
        return range(before + 1, before + 1 + len(tasks))
    task_of = _task_ids(sql, job_id, [t[0] for t in tasks])
    return [task_of[t[0]] for t in tasks]


def _task_ids(sql: Any, job_id: int, item_ids: list[int]) -> dict[int, int]:
    """Item id -> the job's task id for these items."""
    if sql.pg:
        found = sql.all(
            "SELECT item_id, id FROM tasks WHERE job_id = :j AND item_id = ANY(:i)",
            {"j": job_id, "i": item_ids},
        )
        return {item_id: task_id for item_id, task_id in found}
    task_of: dict[int, int] = {}
    for start in range(0, len(item_ids), 900):
        chunk = item_ids[start : start + 900]
        marks = ", ".join(str(int(i)) for i in chunk)
        for item_id, task_id in sql.all(
            f"SELECT item_id, id FROM tasks WHERE job_id = :j AND item_id IN ({marks})",
            {"j": job_id},
        ):
            task_of[item_id] = task_id
    return task_of
