"""The one label writer: every label row, whoever made it (people's consolidation, the
model, a reviewer, job-level reconsolidation, an import), is written here, so the row's
shape and the task's state change stay in one place."""

from __future__ import annotations

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
