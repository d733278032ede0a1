"""The quality domain's queries: answers counted for job-level consolidation and agreement,
worker skills and the quality bar, gold items, and the review queue and its leases.

The services (quality/service.py, quality/gold.py, quality/review.py) hold the rules and
call these. Every statement goes through the session (`text`), as it always did, so the
session's pending ORM changes are flushed before it runs. Nothing here commits or
flushes: the services do. Stored JSON comes back as stored; the services decode it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from truthset.store.models import WorkerStat

# -- answers -------------------------------------------------------------------------------


def counted_answers_with_items(session: Session, job_id: int) -> list[Any]:
    """(task id, item external id, worker id, stored content) of the job's counted answers,
    in answer order."""
    return list(
        session.execute(
            text(
                "SELECT a.task_id, i.external_id, a.worker_id, a.content FROM answers a "
                "JOIN tasks t ON t.id = a.task_id JOIN items i ON i.id = t.item_id "
                "WHERE a.job_id = :j AND a.excluded = :f ORDER BY a.id"
            ),
            {"j": job_id, "f": False},
        ).all()
    )


def newest_counted_answers(session: Session, job_id: int, limit: int) -> tuple[list[Any], bool]:
    """(task id, worker id, worker name, stored content), in answer order, of every counted
    answer to the tasks that the job's newest `limit` counted answers belong to (each
    task's answers whole, so agreement within a task is measured on all of them); and
    whether that is the whole job (fewer than `limit` counted answers). A bounded read: the
    newest answers by walking the answers' key downwards (on SQLite `+job_id` keeps the
    planner off the (job_id, worker_id) index, which would fetch and sort all the job's
    answers), then the answers of those tasks by ix_answers_task."""
    job = "+job_id" if session.get_bind().dialect.name == "sqlite" else "job_id"
    recent = (
        f"SELECT task_id FROM answers WHERE {job} = :j AND excluded = :f ORDER BY id DESC LIMIT :n"
    )
    params = {"j": job_id, "f": False, "n": limit}
    newest = session.execute(text(f"SELECT count(*) FROM ({recent}) r"), params).scalar_one()
    rows = list(
        session.execute(
            text(
                "SELECT a.task_id, a.worker_id, u.name, a.content FROM answers a "
                "JOIN users u ON u.id = a.worker_id "
                f"WHERE a.task_id IN ({recent}) AND a.excluded = :f ORDER BY a.id"
            ),
            params,
        ).all()
    )
    return rows, int(newest) < limit


def counted_answers_of_tasks(session: Session, job_id: int, task_ids: list[int]) -> list[Any]:
    """(task id, stored content) of the counted answers to `task_ids` (not empty), by task."""
    return list(
        session.execute(
            text(
                "SELECT task_id, content FROM answers WHERE job_id = :j AND excluded = :f "
                f"AND task_id IN ({', '.join(str(int(t)) for t in task_ids)}) ORDER BY task_id, id"
            ),
            {"j": job_id, "f": False},
        ).all()
    )


def user_names(session: Session) -> dict[int, str]:
    """Every user's name by id."""
    return {int(k): v for k, v in session.execute(text("SELECT id, name FROM users")).all()}


# -- job-level consolidation -----------------------------------------------------------------


def complete_task_ids(session: Session, job_id: int) -> set[int]:
    return {
        r[0]
        for r in session.execute(
            text("SELECT id FROM tasks WHERE job_id = :j AND status = 'complete'"), {"j": job_id}
        )
    }


def human_label_metas(session: Session, job_id: int) -> list[Any]:
    """(task id, stored meta) of the job's labels made by people."""
    return list(
        session.execute(
            text("SELECT task_id, meta FROM labels WHERE job_id = :j AND human = :t"),
            {"j": job_id, "t": True},
        )
    )


# -- worker skills and the quality bar -------------------------------------------------------


def worker_stat(session: Session, job_id: int, worker_id: int) -> WorkerStat | None:
    return session.get(WorkerStat, (job_id, worker_id))


def unblocked_worker_skills(session: Session, job_id: int) -> list[Any]:
    """(worker id, skill, answers in the job) of the job's workers not blocked."""
    return list(
        session.execute(
            text(
                "SELECT ws.worker_id, ws.skill, (SELECT count(*) FROM answers a WHERE a.job_id = "
                "ws.job_id AND a.worker_id = ws.worker_id) FROM worker_stats ws "
                "WHERE ws.job_id = :j AND ws.blocked = :f"
            ),
            {"j": job_id, "f": False},
        ).all()
    )


def block_worker(session: Session, job_id: int, worker_id: int) -> None:
    session.execute(
        text("UPDATE worker_stats SET blocked = :t WHERE job_id = :j AND worker_id = :w"),
        {"t": True, "j": job_id, "w": worker_id},
    )


def counted_task_ids_of_worker(session: Session, job_id: int, worker_id: int) -> list[int]:
    """The task of each of the worker's counted answers in the job."""
    return [
        r[0]
        for r in session.execute(
            text(
                "SELECT task_id FROM answers WHERE job_id = :j AND worker_id = :w AND excluded = :f"
            ),
            {"j": job_id, "w": worker_id, "f": False},
        )
    ]


def exclude_answers_of_worker(session: Session, job_id: int, worker_id: int) -> None:
    session.execute(
        text("UPDATE answers SET excluded = :t WHERE job_id = :j AND worker_id = :w"),
        {"t": True, "j": job_id, "w": worker_id},
    )


def task_status_and_reviewed(session: Session, task_id: int) -> tuple[str, Any]:
    """(the task's status, whether its label is reviewed: None without a label)."""
    status, reviewed = session.execute(
        text(
            "SELECT t.status, l.reviewed FROM tasks t LEFT JOIN labels l ON l.task_id = t.id "
            "WHERE t.id = :t"
        ),
        {"t": task_id},
    ).one()
    return status, reviewed


def uncount_answer(session: Session, task_id: int) -> None:
    """The task has one answer fewer; its status stays."""
    session.execute(text("UPDATE tasks SET answers = answers - 1 WHERE id = :t"), {"t": task_id})


def uncount_answer_and_reopen(session: Session, task_id: int) -> None:
    """The task has one answer fewer and is open again if it was complete or full."""
    session.execute(
        text(
            "UPDATE tasks SET answers = answers - 1, status = CASE WHEN status IN "
            "('complete', 'full') THEN 'open' ELSE status END WHERE id = :t"
        ),
        {"t": task_id},
    )


def delete_label(session: Session, task_id: int) -> None:
    session.execute(text("DELETE FROM labels WHERE task_id = :t"), {"t": task_id})


# -- gold items ------------------------------------------------------------------------------


def gold_answers_by_external_id(session: Session, job_id: int) -> list[Any]:
    """(item external id, stored answer) of the job's gold items."""
    return list(
        session.execute(
            text(
                "SELECT i.external_id, g.answer FROM gold_labels g JOIN items i "
                "ON i.id = g.item_id WHERE g.job_id = :j"
            ),
            {"j": job_id},
        ).all()
    )


def gold_answer(session: Session, job_id: int, item_id: int) -> str | None:
    """The stored gold answer of the item in the job, or None when it is not gold."""
    return session.execute(
        text("SELECT answer FROM gold_labels WHERE job_id = :j AND item_id = :i"),
        {"j": job_id, "i": item_id},
    ).scalar()


def replace_gold_answer(session: Session, job_id: int, item_id: int, answer: str) -> None:
    """The item's gold answer in the job is `answer` (JSON text) from now on."""
    session.execute(
        text("DELETE FROM gold_labels WHERE job_id = :j AND item_id = :i"),
        {"j": job_id, "i": item_id},
    )
    session.execute(
        text("INSERT INTO gold_labels (job_id, item_id, answer) VALUES (:j, :i, :a)"),
        {"j": job_id, "i": item_id, "a": answer},
    )


def task_started(session: Session, task_id: int) -> Any:
    """Whether the task was started (it counts in the job's in-flight window)."""
    return session.execute(
        text("SELECT started FROM tasks WHERE id = :t"), {"t": task_id}
    ).scalar_one()


def make_gold_task(session: Session, task_id: int) -> None:
    """The task is a gold item, open to be served."""
    session.execute(
        text("UPDATE tasks SET is_gold = 1, status = 'open' WHERE id = :t"), {"t": task_id}
    )


def items_in_position_order(session: Session, job_id: int) -> list[Any]:
    """(task position, item external id, item data) of every item of the job."""
    return list(
        session.execute(
            text(
                "SELECT t.position, i.external_id, i.data FROM tasks t JOIN items i "
                "ON i.id = t.item_id WHERE t.job_id = :j ORDER BY t.position"
            ),
            {"j": job_id},
        )
    )


# -- the review queue ------------------------------------------------------------------------

# Queued: a human label not reviewed, whose task has no live or submitted review lease.
_CANDIDATES = (
    "SELECT l.task_id, l.confidence FROM labels l JOIN tasks t ON t.id = l.task_id "
    "LEFT JOIN review_leases r ON r.task_id = l.task_id "
    "WHERE l.job_id = :j AND l.reviewed = :f AND l.human = :t "
    "AND (r.task_id IS NULL OR r.status = 'released' "
    "OR (r.status = 'leased' AND r.deadline <= :now)) "
)

# A model flagged the label version it judged (see truthset.autolabel.label_issues).
_SUSPECTED = "(l.issue_label_at IS NOT NULL AND l.issue_label_at = l.created_at)"

# Items this reviewer gave back (skipped) come after every other queued item.
_SKIPPED_LAST = "CASE WHEN r.status = 'released' AND r.reviewer_id = :u THEN 1 ELSE 0 END, "


def _queue_params(job_id: int, now: float, bar: float) -> dict[str, Any]:
    return {"j": job_id, "f": False, "t": True, "now": now, "c": bar}


def _lease_params(job_id: int, reviewer_id: int, now: float, bar: float) -> dict[str, Any]:
    return {"j": job_id, "f": False, "t": True, "now": now, "c": bar, "u": reviewer_id}


def suspected_error_candidates(
    session: Session, job_id: int, reviewer_id: int, now: float, bar: float
) -> list[Any]:
    """(task id, confidence) of queued items a model flagged, in the reviewer's order."""
    return list(
        session.execute(
            text(_CANDIDATES + f"AND {_SUSPECTED} ORDER BY " + _SKIPPED_LAST + "t.position, t.id"),
            _lease_params(job_id, reviewer_id, now, bar),
        ).all()
    )


def low_confidence_candidates(
    session: Session,
    job_id: int,
    reviewer_id: int,
    now: float,
    bar: float,
    *,
    limit: int,
    offset: int,
) -> list[Any]:
    """(task id, confidence) of one page of queued items at most `bar` confident (not
    flagged), in the reviewer's order: lowest confidence first."""
    return list(
        session.execute(
            text(
                _CANDIDATES
                + f"AND NOT {_SUSPECTED} AND l.confidence <= :c ORDER BY "
                + _SKIPPED_LAST
                + "l.confidence, "
                "t.position, t.id "
                f"LIMIT {limit} OFFSET {offset}"
            ),
            _lease_params(job_id, reviewer_id, now, bar),
        ).all()
    )


def above_bar_candidates(
    session: Session, job_id: int, reviewer_id: int, now: float, bar: float
) -> list[Any]:
    """(task id, confidence) of queued items above `bar` or without a confidence (not
    flagged), in the reviewer's order: the ones that may be disputed."""
    return list(
        session.execute(
            text(
                _CANDIDATES
                + f"AND NOT {_SUSPECTED} AND (l.confidence > :c OR l.confidence IS NULL) "
                "ORDER BY " + _SKIPPED_LAST + "CASE WHEN l.confidence IS NULL THEN 1 ELSE 0 END, "
                "l.confidence, t.position, t.id"
            ),
            _lease_params(job_id, reviewer_id, now, bar),
        ).all()
    )


def count_suspected_error_candidates(session: Session, job_id: int, now: float, bar: float) -> int:
    return int(
        session.execute(
            text(f"SELECT count(*) FROM ({_CANDIDATES}AND {_SUSPECTED}) q"),
            _queue_params(job_id, now, bar),
        ).scalar_one()
    )


def count_low_confidence_candidates(session: Session, job_id: int, now: float, bar: float) -> int:
    return int(
        session.execute(
            text(
                f"SELECT count(*) FROM ({_CANDIDATES}AND NOT {_SUSPECTED} AND l.confidence <= :c) q"
            ),
            _queue_params(job_id, now, bar),
        ).scalar_one()
    )


def above_bar_candidate_task_ids(
    session: Session, job_id: int, now: float, bar: float
) -> list[int]:
    """The tasks of queued items above `bar` or without a confidence (not flagged)."""
    return [
        int(r[0])
        for r in session.execute(
            text(
                _CANDIDATES
                + f"AND NOT {_SUSPECTED} AND (l.confidence > :c OR l.confidence IS NULL)"
            ),
            _queue_params(job_id, now, bar),
        ).all()
    ]


def count_live_review_leases(session: Session, job_id: int, now: float) -> int:
    return int(
        session.execute(
            text(
                "SELECT count(*) FROM review_leases WHERE job_id = :j AND status = 'leased' "
                "AND deadline > :now"
            ),
            {"j": job_id, "now": now},
        ).scalar_one()
    )


def count_reviewed_labels(session: Session, job_id: int) -> int:
    return int(
        session.execute(
            text("SELECT count(*) FROM labels WHERE job_id = :j AND reviewed = :t"),
            {"j": job_id, "t": True},
        ).scalar_one()
    )


def item_external_id_of_task(session: Session, task_id: int) -> str:
    return session.execute(
        text("SELECT i.external_id FROM tasks t JOIN items i ON i.id = t.item_id WHERE t.id = :t"),
        {"t": task_id},
    ).scalar_one()


def label_issue(session: Session, task_id: int) -> Any:
    """The stored issue a model flagged on the task's label (None when none)."""
    return session.execute(
        text("SELECT issue FROM labels WHERE task_id = :t"), {"t": task_id}
    ).scalar_one()


# -- review leases (concurrency-sensitive: see quality/review.py's module doc) ---------------

# Takes the lease unless someone holds it (or reviewed it): the row's primary key is the
# guard, and the WHERE of the update is evaluated on the newest row version.
_TAKE = (
    "INSERT INTO review_leases (task_id, job_id, reviewer_id, status, leased_at, deadline, "
    "ended_at, answer) VALUES (:t, :j, :u, 'leased', :now, :deadline, NULL, NULL) "
    "ON CONFLICT (task_id) DO UPDATE SET reviewer_id = excluded.reviewer_id, "
    "status = 'leased', leased_at = excluded.leased_at, deadline = excluded.deadline, "
    "ended_at = NULL, answer = NULL "
    "WHERE review_leases.status = 'released' "
    "OR (review_leases.status = 'leased' AND review_leases.deadline <= :now) "
    "RETURNING task_id"
)


def lock_unreviewed_label(session: Session, task_id: int) -> Any:
    """PostgreSQL only: the task's unreviewed label row, locked, or None when it is
    reviewed or another transaction holds its lock (skipped, not waited for)."""
    return session.execute(
        text(
            "SELECT task_id FROM labels WHERE task_id = :t AND reviewed = :f "
            "FOR NO KEY UPDATE SKIP LOCKED"
        ),
        {"t": task_id, "f": False},
    ).first()


def take_review_lease(
    session: Session, task_id: int, job_id: int, reviewer_id: int, now: float, deadline: float
) -> bool:
    """Whether the reviewer got the lease (nobody held it, nobody reviewed the item)."""
    got = session.execute(
        text(_TAKE),
        {"t": task_id, "j": job_id, "u": reviewer_id, "now": now, "deadline": deadline},
    ).first()
    return got is not None


def held_review_lease(session: Session, job_id: int, reviewer_id: int, now: float) -> Any:
    """(task id, deadline, confidence, whether flagged) of the reviewer's oldest live lease
    in the job on an item not reviewed yet, or None."""
    return session.execute(
        text(
            f"SELECT r.task_id, r.deadline, l.confidence, {_SUSPECTED} FROM review_leases r "
            "JOIN labels l ON l.task_id = r.task_id WHERE r.job_id = :j AND r.reviewer_id = :u "
            "AND r.status = 'leased' AND r.deadline > :now AND l.reviewed = :f "
            "ORDER BY r.leased_at LIMIT 1"
        ),
        {"j": job_id, "u": reviewer_id, "now": now, "f": False},
    ).first()


def review_lease(session: Session, task_id: int, *, pg: bool) -> Any:
    """The task's review lease (reviewer_id, status, deadline, answer, the reviewer's name),
    locked on PostgreSQL, or None."""
    lock = " FOR NO KEY UPDATE OF r" if pg else ""
    return session.execute(
        text(
            "SELECT r.reviewer_id, r.status, r.deadline, r.answer, u.name FROM review_leases r "
            f"JOIN users u ON u.id = r.reviewer_id WHERE r.task_id = :t{lock}"
        ),
        {"t": task_id},
    ).first()


def release_review_lease(session: Session, task_id: int, now: float) -> None:
    session.execute(
        text("UPDATE review_leases SET status = 'released', ended_at = :now WHERE task_id = :t"),
        {"t": task_id, "now": now},
    )


def record_review_submitted(
    session: Session, task_id: int, job_id: int, reviewer_id: int, now: float, answer: str
) -> None:
    """The task's review lease ends as submitted with the reviewer's `answer` (JSON text),
    whether or not it was leased."""
    session.execute(
        text(
            "INSERT INTO review_leases (task_id, job_id, reviewer_id, status, leased_at, "
            "deadline, ended_at, answer) VALUES (:t, :j, :u, 'submitted', :now, :now, :now, :a) "
            "ON CONFLICT (task_id) DO UPDATE SET reviewer_id = excluded.reviewer_id, "
            "status = 'submitted', ended_at = excluded.ended_at, answer = excluded.answer"
        ),
        {"t": task_id, "j": job_id, "u": reviewer_id, "now": now, "a": answer},
    )


def task_status_in_window(session: Session, task_id: int) -> tuple[str, bool]:
    """The task's status, and whether it counts in the job's in-flight window (started
    and unfinished; gold items never count)."""
    status, in_window = session.execute(
        text(
            "SELECT status, CASE WHEN started = 1 AND is_gold = 0 AND status IN ('open', 'full') "
            "THEN 1 ELSE 0 END FROM tasks WHERE id = :t"
        ),
        {"t": task_id},
    ).one()
    return str(status), bool(in_window)


def complete_task(session: Session, task_id: int) -> None:
    session.execute(text("UPDATE tasks SET status = 'complete' WHERE id = :t"), {"t": task_id})
