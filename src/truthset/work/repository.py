"""The work domain's queries that are not on the hot path: a worker's actions on an
assignment besides submitting (heartbeat, release, decline), closing out tasks past their
availability (maintenance), and a worker's own lists.

The statements of `next` and `submit` are in work/statements.py. Each function here keeps
the way its query always ran: through `store.raw` where the call shares a transaction with
hot-path statements, through the session (`text`) in maintenance and the read routes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from truthset.store.raw import raw

# -- one worker's assignment ----------------------------------------------------------------

_ASSIGNMENT = (
    "SELECT id, task_id, job_id, worker_id, status, deadline, leased_at "
    "FROM assignments WHERE id = :a"
)
_ASSIGNMENT_PG = _ASSIGNMENT + " FOR NO KEY UPDATE"


def assignment(session: Session, assignment_id: int, *, pg: bool) -> Any:
    """The assignment (locked on PostgreSQL), or None."""
    return raw(session).named(_ASSIGNMENT_PG if pg else _ASSIGNMENT, {"a": assignment_id})


def touch_assignment(session: Session, assignment_id: int, now: float) -> None:
    """The worker is still at it (heartbeat)."""
    raw(session).execute(
        "UPDATE assignments SET last_seen_at = :now WHERE id = :a", {"now": now, "a": assignment_id}
    )


# -- declines -------------------------------------------------------------------------------

_TASK_DECLINES = "SELECT id, declines, target_answers, status, started FROM tasks WHERE id = :t"
_TASK_DECLINES_PG = _TASK_DECLINES + " FOR NO KEY UPDATE"


def task_declines(session: Session, task_id: int, *, pg: bool) -> Any:
    """A task's declines so far and what decides whether it fails (locked on PostgreSQL)."""
    return raw(session).named(_TASK_DECLINES_PG if pg else _TASK_DECLINES, {"t": task_id})


def fail_declined_task(
    session: Session, job_id: int, task_id: int, declines: int, now: float
) -> None:
    """The task failed; it leaves the job's in-flight window."""
    raw(session).execute(
        "UPDATE tasks SET declines = :d, status = 'failed', updated_at = :now WHERE id = :t",
        {"d": declines, "now": now, "t": task_id},
    )
    raw(session).execute("UPDATE jobs SET in_flight = in_flight - 1 WHERE id = :j", {"j": job_id})


def count_decline(session: Session, task_id: int, declines: int) -> None:
    raw(session).execute(
        "UPDATE tasks SET declines = :d WHERE id = :t", {"d": declines, "t": task_id}
    )


# -- closing out tasks past the job's task availability (maintenance) -----------------------


def unfinished_tasks(session: Session, job_id: int) -> list[Any]:
    """(id, answers, started, done with people) of the job's open, full and pending
    tasks (pending: waiting for a pre-annotation hook's task input), gold items aside;
    done with people: full with every answer it asks for and no lease (a task waiting for
    the job's post-annotation hook)."""
    return list(
        session.execute(
            text(
                "SELECT id, answers, started, CASE WHEN status = 'full' AND live_leases = 0 "
                "AND answers >= target_answers THEN 1 ELSE 0 END FROM tasks "
                "WHERE job_id = :j AND is_gold = 0 AND status IN ('open', 'full', 'pending')"
            ),
            {"j": job_id},
        ).all()
    )


def close_with_its_answers(session: Session, task_id: int) -> None:
    """A task closed at the job's availability asks for no more answers than it has: it
    is full, so the post-annotation hook gets it with those answers (as Ground Truth
    sends them)."""
    session.execute(
        text("UPDATE tasks SET target_answers = answers, status = 'full' WHERE id = :t"),
        {"t": task_id},
    )


def end_task_leases(session: Session, task_id: int, now: float) -> None:
    """Every live lease of the task expires now."""
    session.execute(
        text(
            "UPDATE assignments SET status = 'expired', ended_at = :now "
            "WHERE task_id = :t AND status = 'leased'"
        ),
        {"now": now, "t": task_id},
    )
    session.execute(text("UPDATE tasks SET live_leases = 0 WHERE id = :t"), {"t": task_id})


def fail_unanswered_task(session: Session, task_id: int, now: float) -> None:
    session.execute(
        text(
            "UPDATE tasks SET status = 'failed', live_leases = 0, updated_at = :now WHERE id = :t"
        ),
        {"now": now, "t": task_id},
    )


# -- a worker's own lists (read routes) -----------------------------------------------------


def leased_assignments(session: Session, worker_id: int) -> list[Any]:
    """(assignment id, job name, deadline, leased at) of the worker's live leases."""
    return list(
        session.execute(
            text(
                "SELECT a.id, j.name, a.deadline, a.leased_at FROM assignments a "
                "JOIN jobs j ON j.id = a.job_id WHERE a.worker_id = :w AND a.status = 'leased' "
                "ORDER BY a.id"
            ),
            {"w": worker_id},
        ).all()
    )


def answer_totals(session: Session, worker_id: int) -> list[Any]:
    """(job name, answers, seconds spent) of the worker, per job."""
    return list(
        session.execute(
            text(
                "SELECT j.name, count(a.id), coalesce(sum(a.time_spent), 0) FROM answers a "
                "JOIN jobs j ON j.id = a.job_id WHERE a.worker_id = :w GROUP BY j.name "
                "ORDER BY j.name"
            ),
            {"w": worker_id},
        ).all()
    )
