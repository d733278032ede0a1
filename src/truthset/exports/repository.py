"""The exports' queries besides the labels' batched walk (that one, the formats' streaming
read, is `labeled_items` in exports/labels.py): the Ground Truth manifest's rows in
batches, the labels of the jobs a job takes its input from, label files, and task counts.

Each function keeps the way its query always ran: `store.raw` for the manifest's batches
(no ORM flush per batch), the session (`text`) or the ORM for the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from truthset.store.models import Answer, Assignment, Item, Job, Label, Run, Task, User
from truthset.store.raw import raw


def job_by_id(session: Session, job_id: int) -> Job | None:
    return session.get(Job, job_id)


def manifest_rows(session: Session, job_id: int, after_position: int, limit: int) -> list[Any]:
    """Up to `limit` of the job's non-gold tasks after `after_position`, in import order:
    (position, item id, item data, task status, label value, meta, human, created at,
    reviewed, item external id, 1 when the label has a file else 0). The label's value and
    meta come as their JSON text on both stores (PostgreSQL's driver would parse them, and
    a value that is a JSON string, a mask's placeholder, would then read as bare text)."""
    return raw(session).all(
        "SELECT t.position, i.id, i.data, t.status, "
        "CAST(l.value AS TEXT), CAST(l.meta AS TEXT), l.human, "
        "l.created_at, l.reviewed, i.external_id, "
        "CASE WHEN l.artifact IS NULL THEN 0 ELSE 1 END "
        "FROM tasks t JOIN items i ON i.id = t.item_id "
        "LEFT JOIN labels l ON l.task_id = t.id "
        "WHERE t.job_id = :j AND t.position > :p AND t.is_gold = 0 "
        "ORDER BY t.position LIMIT :n",
        {"j": job_id, "p": after_position, "n": limit},
    )


def item_label_rows(session: Session, job_id: int, item_ids: list[int]) -> Sequence[Any]:
    """(item id, task status, label value, meta, human, created at, reviewed) of the job's
    tasks on these items (`item_ids` not empty); value and meta as JSON text, as above."""
    return session.execute(
        text(
            "SELECT t.item_id, t.status, CAST(l.value AS TEXT), CAST(l.meta AS TEXT), "
            "l.human, l.created_at, l.reviewed "
            "FROM tasks t LEFT JOIN labels l ON l.task_id = t.id "
            "WHERE t.job_id = :j AND t.item_id IN (" + ",".join(str(int(i)) for i in item_ids) + ")"
        ),
        {"j": job_id},
    ).all()


def label_artifact(session: Session, job_id: int, item_id: int) -> Any:
    """The file stored with the job's label of the item."""
    return session.execute(
        text(
            "SELECT l.artifact FROM labels l JOIN tasks t ON t.id = l.task_id "
            "WHERE t.job_id = :j AND t.item_id = :i"
        ),
        {"j": job_id, "i": item_id},
    ).scalar_one()


def non_gold_task_count(session: Session, job_id: int) -> int:
    return int(
        session.execute(
            text("SELECT count(*) FROM tasks WHERE job_id = :j AND is_gold = 0"), {"j": job_id}
        ).scalar_one()
    )


def label_files_of_items(session: Session, job_id: int, item_ids: list[int]) -> dict[int, float]:
    """{item id: label created at} of the job's labels on these items that are files."""
    rows = session.execute(
        text(
            "SELECT t.item_id, l.created_at FROM labels l JOIN tasks t ON t.id = l.task_id "
            "WHERE l.job_id = :j AND l.artifact IS NOT NULL AND t.item_id IN ("
            + ",".join(str(int(i)) for i in item_ids)
            + ")"
        ),
        {"j": job_id},
    ).all()
    return {int(item_id): float(created) for item_id, created in rows}


# -- Ground Truth's output folder (exports/output_writer.py) ---------------------------------
# Through SQLAlchemy's columns, not text: the JSON columns then read the same on SQLite and
# PostgreSQL (a label value that is a JSON string included).


def finished_task_ids(session: Session, job_id: int, after: float, through: float) -> list[int]:
    """The job's non-gold tasks that people finished (complete, with answers) whose last
    answer came in the window (`after`, `through`], in import order."""
    last = func.max(Answer.submitted_at)
    q = (
        select(Task.id)
        .join(Answer, Answer.task_id == Task.id)
        .where(
            Task.job_id == job_id,
            Answer.job_id == job_id,
            Task.status == "complete",
            Task.is_gold == 0,
        )
        .group_by(Task.id, Task.position)
        .having(last > after, last <= through)
        .order_by(Task.position)
    )
    return [int(i) for i in session.scalars(q)]


def tasks_with_labels(session: Session, task_ids: list[int]) -> list[Any]:
    """(task id, position, item data, label value, meta, human, created at, has a file) of
    these tasks, in import order (tasks without a label have None label fields)."""
    q = (
        select(
            Task.id,
            Task.position,
            Item.data,
            Label.value,
            Label.meta,
            Label.human,
            Label.created_at,
            Label.artifact.is_not(None),
        )
        .join(Item, Item.id == Task.item_id)
        .outerjoin(Label, Label.task_id == Task.id)
        .where(Task.id.in_(task_ids))
        .order_by(Task.position)
    )
    return list(session.execute(q).all())


def answers_of_tasks(session: Session, task_ids: list[int]) -> list[Any]:
    """(task id, worker id, worker name, worker created at, answer content, leased at,
    submitted at, time spent) of every answer to these tasks, in submission order."""
    q = (
        select(
            Answer.task_id,
            User.id,
            User.name,
            User.created_at,
            Answer.content,
            Assignment.leased_at,
            Answer.submitted_at,
            Answer.time_spent,
        )
        .join(Assignment, Assignment.id == Answer.assignment_id)
        .join(User, User.id == Answer.worker_id)
        .where(Answer.task_id.in_(task_ids))
        .order_by(Answer.task_id, Answer.submitted_at, Answer.id)
    )
    return list(session.execute(q).all())


def label_file_of_task(session: Session, task_id: int) -> bytes:
    blob = session.scalar(select(Label.artifact).where(Label.task_id == task_id))
    return bytes(blob or b"")


def output_fingerprint(session: Session, job_id: int) -> list[Any]:
    """What changes when a job's output does: its answers, its labels (count and newest
    date: a review or a reconsolidation rewrites labels), its failed tasks."""
    answers = session.scalar(select(func.count()).where(Answer.job_id == job_id))
    labels = session.execute(
        select(func.count(), func.coalesce(func.max(Label.created_at), 0.0)).where(
            Label.job_id == job_id
        )
    ).one()
    failed = session.scalar(
        select(func.count()).where(Task.job_id == job_id, Task.status == "failed")
    )
    return [int(answers or 0), int(labels[0]), float(labels[1]), int(failed or 0)]


def jobs_for_output(session: Session) -> list[Any]:
    """(id, name, state, settings, updated at, created at) of every job: the scheduler
    keeps those with an output path."""
    q = select(Job.id, Job.name, Job.state, Job.settings, Job.updated_at, Job.created_at)
    return list(session.execute(q.order_by(Job.id)).all())


def job_runs_of_kind(session: Session, job_id: int, kind: str, limit: int = 20) -> list[Run]:
    """The job's newest runs of a kind, newest first."""
    q = (
        select(Run)
        .where(Run.job_id == job_id, Run.kind == kind)
        .order_by(Run.id.desc())
        .limit(limit)
    )
    return list(session.scalars(q))


def last_succeeded_run(session: Session, job_id: int, kind: str) -> Run | None:
    q = (
        select(Run)
        .where(Run.job_id == job_id, Run.kind == kind, Run.state == "succeeded")
        .order_by(Run.id.desc())
        .limit(1)
    )
    return session.scalar(q)


# -- masks (exports/masks.py, mask_labels.py) ----------------------------------------------


def label_file_of_item(session: Session, job_id: int, item_id: int) -> bytes | None:
    """The file of the job's label of the item (its mask), or None: no label, or a label
    that is not a file."""
    found = session.execute(
        text(
            "SELECT l.artifact FROM labels l JOIN tasks t ON t.id = l.task_id "
            "WHERE t.job_id = :j AND t.item_id = :i"
        ),
        {"j": job_id, "i": item_id},
    ).scalar()
    return bytes(found) if found is not None else None


def has_labels(session: Session, job_id: int, *, files: bool = False) -> bool:
    """Whether the job has a labeled non-gold item (`files`: whose label is a file)."""
    found = session.execute(
        text(
            "SELECT 1 FROM tasks t JOIN labels l ON l.task_id = t.id "
            "WHERE t.job_id = :j AND t.is_gold = 0 AND t.status IN ('complete', 'auto')"
            + (" AND l.artifact IS NOT NULL" if files else "")
            + " LIMIT 1"
        ),
        {"j": job_id},
    ).first()
    return found is not None


def jobs_chained_on(session: Session, job_id: int) -> list[Job]:
    """The jobs that take this job's labels as their input (verification, adjustment)."""
    return list(session.scalars(select(Job).where(Job.input_job_id == job_id)))
