"""The exports' queries besides the labels' batched walk (that one, the formats' streaming
read, is `labeled_items` in exports/labels.py): the Ground Truth manifest's rows in
batches, the labels of the jobs a job takes its input from, label files, and task counts.

Each function keeps the way its query always ran: `store.raw` for the manifest's batches
(no ORM flush per batch), the session (`text`) or the ORM for the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from truthset.store.models import Job
from truthset.store.raw import raw


def job_by_id(session: Session, job_id: int) -> Job | None:
    return session.get(Job, job_id)


def manifest_rows(session: Session, job_id: int, after_position: int, limit: int) -> list[Any]:
    """Up to `limit` of the job's non-gold tasks after `after_position`, in import order:
    (position, item id, item data, task status, label value, meta, human, created at,
    reviewed, item external id, 1 when the label has a file else 0)."""
    return raw(session).all(
        "SELECT t.position, i.id, i.data, t.status, l.value, l.meta, l.human, "
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
    tasks on these items (`item_ids` not empty)."""
    return session.execute(
        text(
            "SELECT t.item_id, t.status, l.value, l.meta, l.human, l.created_at, l.reviewed "
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
