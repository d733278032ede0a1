"""The queries of review threads and of returning an item to its workers
(quality/comments.py, quality/review.py's return_item)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session


def insert_comment(
    session: Session,
    *,
    task_id: int,
    job_id: int,
    author_id: int,
    kind: str,
    body: str,
    detail: dict[str, Any] | None,
    now: float,
) -> None:
    session.execute(
        text(
            "INSERT INTO review_comments (task_id, job_id, author_id, kind, body, detail, "
            "created_at) VALUES (:t, :j, :a, :k, :b, :d, :now)"
        ),
        {
            "t": task_id,
            "j": job_id,
            "a": author_id,
            "k": kind,
            "b": body,
            "d": None if detail is None else orjson.dumps(detail).decode(),
            "now": now,
        },
    )


def comments_of_task(session: Session, task_id: int) -> list[Any]:
    """(id, author name, author role, kind, body, detail, created at) in the order written."""
    return list(
        session.execute(
            text(
                "SELECT c.id, u.name, u.role, c.kind, c.body, c.detail, c.created_at "
                "FROM review_comments c JOIN users u ON u.id = c.author_id "
                "WHERE c.task_id = :t ORDER BY c.id"
            ),
            {"t": task_id},
        ).all()
    )


def worked_on_task(session: Session, task_id: int, user_id: int) -> bool:
    """Whether the user holds or held an assignment of the task."""
    return (
        session.execute(
            text("SELECT 1 FROM assignments WHERE task_id = :t AND worker_id = :w"),
            {"t": task_id, "w": user_id},
        ).first()
        is not None
    )


def returned_worker_ids(session: Session, task_id: int) -> set[int]:
    """The workers a reviewer returned the task to (named in its 'returned' entries)."""
    rows = session.execute(
        text("SELECT detail FROM review_comments WHERE task_id = :t AND kind = 'returned'"),
        {"t": task_id},
    ).all()
    out: set[int] = set()
    for (detail,) in rows:
        value = orjson.loads(detail) if isinstance(detail, str | bytes) else detail
        out.update(int(w["id"]) for w in (value or {}).get("workers", []))
    return out


def submitted_answers_of_task(session: Session, task_id: int) -> list[Any]:
    """(assignment id, worker id, worker name, content, excluded) of the task's answers."""
    return list(
        session.execute(
            text(
                "SELECT a.assignment_id, a.worker_id, u.name, a.content, a.excluded "
                "FROM answers a JOIN users u ON u.id = a.worker_id "
                "WHERE a.task_id = :t ORDER BY a.id"
            ),
            {"t": task_id},
        ).all()
    )


def forget_answers(session: Session, task_id: int, assignment_ids: list[int], now: float) -> None:
    """Take the answers (and their assignments) off the task, so that their workers may
    take it again, and reopen it as a started task, served before new ones. Its label goes:
    the item is not labelled until the workers answer again."""
    params: dict[str, Any] = {f"a{i}": a for i, a in enumerate(assignment_ids)}
    names = ", ".join(f":a{i}" for i in range(len(assignment_ids)))
    session.execute(text(f"DELETE FROM answers WHERE assignment_id IN ({names})"), params)
    session.execute(text(f"DELETE FROM assignments WHERE id IN ({names})"), params)
    session.execute(text("DELETE FROM labels WHERE task_id = :t"), {"t": task_id})
    session.execute(
        text(
            "UPDATE tasks SET answers = answers - :n, status = 'open', started = 1, "
            "updated_at = :now WHERE id = :t"
        ),
        {"n": len(assignment_ids), "t": task_id, "now": now},
    )


def hold_places(
    session: Session,
    task_id: int,
    places: list[tuple[int, str]],
    *,
    now: float,
    until: float,
) -> None:
    """Hold the returned task's places for these workers (worker id, their answer as
    JSON text) until `until`; the work engine's pick then serves it to them only."""
    for worker_id, answer in places:
        session.execute(
            text(
                "INSERT INTO task_returns (task_id, worker_id, answer, returned_at, until) "
                "VALUES (:t, :w, :a, :now, :until) ON CONFLICT (task_id, worker_id) DO UPDATE "
                "SET answer = excluded.answer, returned_at = excluded.returned_at, "
                "until = excluded.until"
            ),
            {"t": task_id, "w": worker_id, "a": answer, "now": now, "until": until},
        )
    session.execute(text("UPDATE tasks SET reserved = 1 WHERE id = :t"), {"t": task_id})


def end_review_lease(session: Session, task_id: int) -> None:
    """The review of a returned item ends without a trace in the queue: its next label
    queues it as a new one (a released row would put it last for its reviewer, as an
    item they skipped)."""
    session.execute(text("DELETE FROM review_leases WHERE task_id = :t"), {"t": task_id})


def returned_to_worker(session: Session, worker_id: int, limit: int) -> list[Any]:
    """(job name, item external id, reviewer name, body, created at, answered again, detail)
    of the newest 'returned' entries that may name the worker (the text match can also hit
    an answer's own "id": the caller checks the detail's workers), newest first."""
    like = f'%"id":{worker_id},%'
    return list(
        session.execute(
            text(
                "SELECT j.name, i.external_id, u.name, c.body, c.created_at, "
                "(SELECT count(*) FROM answers a WHERE a.task_id = c.task_id "
                "AND a.worker_id = :w AND a.submitted_at > c.created_at), c.detail "
                "FROM review_comments c JOIN tasks t ON t.id = c.task_id "
                "JOIN items i ON i.id = t.item_id JOIN jobs j ON j.id = c.job_id "
                "JOIN users u ON u.id = c.author_id "
                "WHERE c.kind = 'returned' AND CAST(c.detail AS TEXT) LIKE :like "
                "ORDER BY c.id DESC LIMIT :n"
            ),
            {"w": worker_id, "like": like, "n": limit},
        ).all()
    )


def label_value_and_artifact(session: Session, task_id: int) -> Any:
    """(value, artifact) of the task's label, or None."""
    return session.execute(
        text("SELECT value, artifact FROM labels WHERE task_id = :t"), {"t": task_id}
    ).first()


def full_label(session: Session, task_id: int) -> Any:
    """(value, meta, artifact) of the task's label, or None."""
    return session.execute(
        text("SELECT value, meta, artifact FROM labels WHERE task_id = :t"), {"t": task_id}
    ).first()
