"""The queries behind the console job page's charts. Each reads a bounded window of the
job's newest rows (by primary key, which grows with time), so a chart of a job with a
million items costs the same as one of a job with a hundred thousand."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


def _answers_of_job(session: Session) -> str:
    """The condition that picks a job's answers when walking their key downwards. On SQLite
    `+job_id` keeps the planner off the (job_id, worker_id) index, which would fetch all the
    job's answers and sort them (0.5 s at 70,000) where the key walk reads only the newest
    (7 ms): the walk's cost is the answers of other jobs newer than these, small for a job
    that is being worked on. PostgreSQL's planner weighs the two by its statistics.
    """
    return "+job_id = :j" if session.get_bind().dialect.name == "sqlite" else "job_id = :j"


def recent_answer_times(session: Session, job_id: int, limit: int) -> list[float]:
    """When the job's newest `limit` answers were submitted, newest first."""
    where = _answers_of_job(session)
    return [
        float(t)
        for (t,) in session.execute(
            text(f"SELECT submitted_at FROM answers WHERE {where} ORDER BY id DESC LIMIT :n"),
            {"j": job_id, "n": limit},
        ).all()
    ]


def recent_labels(session: Session, job_id: int, limit: int) -> list[Any]:
    """(value, meta) of the labels of the job's last `limit` tasks (labels are keyed by
    task: this walks that key, where their creation time has no index)."""
    return list(
        session.execute(
            text("SELECT value, meta FROM labels WHERE job_id = :j ORDER BY task_id DESC LIMIT :n"),
            {"j": job_id, "n": limit},
        ).all()
    )


def recent_answers_with_references(session: Session, job_id: int, limit: int) -> list[Any]:
    """(worker name, submitted at, answer content, label meta or None, gold answer or None)
    of the job's newest `limit` answers that count (not excluded)."""
    where = _answers_of_job(session)
    return list(
        session.execute(
            text(
                "SELECT u.name, a.submitted_at, a.content, l.meta, g.answer FROM "
                "(SELECT id, worker_id, task_id, submitted_at, content FROM answers "
                f" WHERE {where} AND NOT excluded ORDER BY id DESC LIMIT :n) a "
                "JOIN users u ON u.id = a.worker_id "
                "JOIN tasks t ON t.id = a.task_id "
                "LEFT JOIN labels l ON l.task_id = a.task_id "
                "LEFT JOIN gold_labels g ON g.job_id = :j AND g.item_id = t.item_id"
            ),
            {"j": job_id, "n": limit},
        ).all()
    )


def has_gold(session: Session, job_id: int) -> bool:
    """Whether the job has any gold item."""
    return (
        session.execute(
            text("SELECT 1 FROM gold_labels WHERE job_id = :j LIMIT 1"), {"j": job_id}
        ).first()
        is not None
    )
