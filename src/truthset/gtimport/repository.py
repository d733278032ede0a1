"""The queries of a Ground Truth job's import: the imported job's tasks by item, the
imported accounts by worker id, and the bulk writes of assignments, answers and the
activity log (executemany: a big job brings hundreds of thousands of answers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from truthset.store.models import ActivityEvent, Answer, Assignment, Task, User

# Rows per bulk insert.
CHUNK = 2000


def tasks_by_item(session: Session, job_id: int) -> dict[int, tuple[int, str]]:
    """Item id -> (task id, status) of the job's tasks."""
    rows = session.execute(
        select(Task.item_id, Task.id, Task.status).where(Task.job_id == job_id)
    ).all()
    return {int(item): (int(task), str(status)) for item, task, status in rows}


def answer_count(session: Session, job_id: int) -> int:
    return int(session.scalar(select(func.count(Answer.id)).where(Answer.job_id == job_id)) or 0)


def imported_users(session: Session, worker_ids: list[str]) -> dict[str, User]:
    """Worker id -> the account imported for it earlier (by `imported_as`)."""
    found: dict[str, User] = {}
    for start in range(0, len(worker_ids), 500):
        chunk = worker_ids[start : start + 500]
        for user in session.scalars(select(User).where(User.imported_as.in_(chunk))):
            assert user.imported_as is not None
            found[user.imported_as] = user
    return found


def user_named(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def insert_assignments(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert assignments; returns their ids in the order of `rows`."""
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        ids.extend(
            session.scalars(
                insert(Assignment).returning(Assignment.id, sort_by_parameter_order=True),
                rows[start : start + CHUNK],
            )
        )
    return ids


def insert_answers(session: Session, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(Answer), rows[start : start + CHUNK])


def insert_activity(session: Session, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(ActivityEvent), rows[start : start + CHUNK])


def set_task_answers(session: Session, counts: dict[int, int], now: float) -> None:
    """Each task's answer count, which is also the answers it needed (a finished job)."""
    params = [{"t": t, "n": n, "now": now} for t, n in counts.items()]
    for start in range(0, len(params), CHUNK):
        session.execute(
            text(
                "UPDATE tasks SET answers = :n, target_answers = :n, started = 1, "
                "live_leases = 0, updated_at = :now WHERE id = :t"
            ),
            params[start : start + CHUNK],
        )
