"""The queries of a Ground Truth job's import: the imported job's tasks by item, the
imported accounts by worker id, and the bulk writes of assignments, answers and the
activity log (executemany, with the assignments' ids known beforehand: a big job brings
hundreds of thousands of answers)."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from truthset.store.models import Answer, Task, User
from truthset.store.raw import raw

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


def new_assignment_ids(session: Session, n: int) -> list[int]:
    """`n` ids for new assignments, so that their answers and events are written without
    reading the ids back: from the id sequence on PostgreSQL, after the largest id on
    SQLite (whose write lock this transaction holds)."""
    if n <= 0:
        return []
    sql = raw(session)
    if sql.pg:
        rows = sql.all(
            "SELECT nextval(pg_get_serial_sequence('assignments', 'id')) "
            "FROM generate_series(1, :n)",
            {"n": n},
        )
        return sorted(int(r[0]) for r in rows)
    top = int(sql.scalar("SELECT coalesce(max(id), 0) FROM assignments") or 0)
    return list(range(top + 1, top + 1 + n))


def _insert_rows(session: Session, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """One executemany per chunk (measured: faster on both stores than multi-row VALUES
    lists, whose named parameters SQLite binds slowly; psycopg pipelines executemany)."""
    sql = raw(session)
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(f':{c}' for c in columns)})"
    )
    for start in range(0, len(rows), CHUNK):
        sql.executemany(
            statement, [dict(zip(columns, row, strict=True)) for row in rows[start : start + CHUNK]]
        )


ASSIGNMENT_COLUMNS = (
    "id", "task_id", "job_id", "worker_id", "status", "leased_at", "deadline",
    "last_seen_at", "ended_at",
)  # fmt: skip
ANSWER_COLUMNS = (
    "assignment_id", "task_id", "job_id", "worker_id", "content", "submitted_at",
    "time_spent", "excluded",
)  # fmt: skip
EVENT_COLUMNS = ("job_id", "task_id", "assignment_id", "worker_id", "event", "at")


def insert_assignments(session: Session, rows: list[tuple]) -> None:
    """Assignments, as ASSIGNMENT_COLUMNS tuples (ids from `new_assignment_ids`)."""
    _insert_rows(session, "assignments", ASSIGNMENT_COLUMNS, rows)


def insert_answers(session: Session, rows: list[tuple]) -> None:
    """Answers, as ANSWER_COLUMNS tuples (the content as JSON text)."""
    _insert_rows(session, "answers", ANSWER_COLUMNS, rows)


def insert_activity(session: Session, rows: list[tuple]) -> None:
    """Activity log events, as EVENT_COLUMNS tuples."""
    _insert_rows(session, "activity_events", EVENT_COLUMNS, rows)


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
