"""The automated-labeling domain's queries: a job's tasks as the model sees them, machine
claims and priorities, the iterations' runs, the label check's flags, the answers crowdlab
weighs, and the predictions written into items.

Every statement goes through the session (`text`), as it always has: each one flushes the
session's pending changes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# -- a job's tasks --------------------------------------------------------------------------


def job_task_rows(session: Session, job_id: int) -> Sequence[Any]:
    """The job's tasks in import order with their item and label, as an iteration, the
    label check and crowdlab read them (gold items are not the model's)."""
    return session.execute(
        text(
            "SELECT t.id, t.status, t.started, t.priority, i.id AS item_id, i.external_id, "
            "i.data, l.value, l.meta, l.human, l.reviewed, l.created_at "
            "FROM tasks t JOIN items i ON i.id = t.item_id "
            "LEFT JOIN labels l ON l.task_id = t.id "
            "WHERE t.job_id = :j AND t.is_gold = 0 ORDER BY t.position"
        ),
        {"j": job_id},
    ).all()


def claim_task_for_machine(session: Session, task_id: int, now: float) -> bool:
    """Mark the task machine-labeled if it is still open and no worker has started it (a
    plan is made on a snapshot; people may have taken the item since); False otherwise."""
    claimed = session.execute(
        text(
            "UPDATE tasks SET status = 'auto', updated_at = :now "
            "WHERE id = :t AND status = 'open' AND started = 0"
        ),
        {"now": now, "t": task_id},
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def set_open_task_priorities(session: Session, priorities: dict[int, float]) -> None:
    """task id -> priority, on tasks still open and unstarted (one executemany)."""
    session.execute(
        text("UPDATE tasks SET priority = :p WHERE id = :t AND status = 'open' AND started = 0"),
        [{"p": p, "t": t} for t, p in priorities.items()],
    )


def raise_task_targets(session: Session, targets: dict[int, int]) -> None:
    """task id -> answers it needs, on tasks still waiting for answers whose target is
    lower (one executemany); a task all of whose answers were leased opens again."""
    session.execute(
        text(
            "UPDATE tasks SET target_answers = :n, status = 'open' "
            "WHERE id = :t AND status IN ('open', 'full') AND target_answers < :n"
        ),
        [{"n": n, "t": t} for t, n in targets.items()],
    )


def human_and_total_task_counts(session: Session, job_id: int) -> Any:
    """(tasks complete by people, tasks) of the job, gold items aside; the first is NULL
    on a job without tasks."""
    return session.execute(
        text(
            "SELECT sum(CASE WHEN status = 'complete' THEN 1 ELSE 0 END), count(*) "
            "FROM tasks WHERE job_id = :j AND is_gold = 0"
        ),
        {"j": job_id},
    ).one()


def has_tasks_for_people(session: Session, job_id: int) -> bool:
    """Whether people have a task they may take (or one they started) in the job."""
    waiting = session.execute(
        text(
            "SELECT 1 FROM tasks WHERE job_id = :j AND is_gold = 0 AND status IN "
            "('open', 'full') AND (priority >= 0 OR started = 1) LIMIT 1"
        ),
        {"j": job_id},
    ).first()
    return waiting is not None


def open_unstarted_items(session: Session, job_id: int) -> Sequence[Any]:
    """(item id, item data) of the job's open, unstarted tasks in import order, gold items
    aside."""
    return session.execute(
        text(
            "SELECT i.id, i.data FROM tasks t JOIN items i ON i.id = t.item_id "
            "WHERE t.job_id = :j AND t.is_gold = 0 AND t.started = 0 AND t.status = 'open' "
            "ORDER BY t.position"
        ),
        {"j": job_id},
    ).all()


def item_data(session: Session, item_id: int) -> Any:
    """The item's stored JSON text."""
    return session.execute(
        text("SELECT data FROM items WHERE id = :i"), {"i": item_id}
    ).scalar_one()


def set_item_data(session: Session, item_id: int, data: str) -> None:
    session.execute(
        text("UPDATE items SET data = :d WHERE id = :i"),
        {"d": data, "i": item_id},
    )


# -- jobs and their iterations (runs of kind autolabel) -------------------------------------


def in_progress_jobs(session: Session) -> Sequence[Any]:
    """(id, name, stored settings) of every job in progress."""
    return session.execute(
        text("SELECT id, name, settings FROM jobs WHERE state = 'in_progress'")
    ).all()


def has_pending_iteration(session: Session, job_id: int) -> bool:
    """Whether an iteration of the job is queued or running."""
    busy = session.execute(
        text(
            "SELECT 1 FROM runs WHERE job_id = :j AND kind = 'autolabel' "
            "AND state IN ('queued', 'running') LIMIT 1"
        ),
        {"j": job_id},
    ).first()
    return bool(busy)


def last_iteration_result(session: Session, job_id: int) -> Any:
    """The stored result of the job's latest succeeded iteration, or None."""
    return session.execute(
        text(
            "SELECT result FROM runs WHERE job_id = :j AND kind = 'autolabel' "
            "AND state = 'succeeded' ORDER BY id DESC LIMIT 1"
        ),
        {"j": job_id},
    ).scalar()


def has_succeeded_iteration(session: Session, job_id: int) -> bool:
    ran = session.execute(
        text(
            "SELECT 1 FROM runs WHERE job_id = :j AND kind = 'autolabel' "
            "AND state = 'succeeded' LIMIT 1"
        ),
        {"j": job_id},
    ).first()
    return ran is not None


def iteration_runs(session: Session, job_id: int) -> Sequence[Any]:
    """(run id, state, finished at, stored result, error) of the job's iterations, oldest
    first."""
    return session.execute(
        text(
            "SELECT id, state, finished_at, result, error FROM runs "
            "WHERE job_id = :j AND kind = 'autolabel' ORDER BY id"
        ),
        {"j": job_id},
    ).all()


# -- labels and answers ---------------------------------------------------------------------


def flagged_labels(session: Session, job_id: int) -> Sequence[Any]:
    """(item external id, stored issue) of the job's unreviewed labels whose current
    version is flagged."""
    return session.execute(
        text(
            "SELECT i.external_id, l.issue FROM labels l JOIN tasks t ON t.id = l.task_id "
            "JOIN items i ON i.id = t.item_id WHERE l.job_id = :j AND l.issue IS NOT NULL "
            "AND l.issue_label_at = l.created_at AND l.reviewed = :f"
        ),
        {"j": job_id, "f": False},
    ).all()


def included_answers(session: Session, job_id: int) -> Sequence[Any]:
    """(task id, worker id, stored content) of the job's answers not excluded, in the
    order they were given."""
    return session.execute(
        text(
            "SELECT task_id, worker_id, content FROM answers "
            "WHERE job_id = :j AND excluded = :f ORDER BY id"
        ),
        {"j": job_id, "f": False},
    ).all()
