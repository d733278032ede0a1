"""Queries of the templates domain: task inputs and what a task page is made of."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from truthset.store.models import Assignment, Item, Job, Task, TaskInput


def task_input_of(session: Session, task_id: int) -> Any | None:
    """The task's `task.input` as the pre-annotation hook gave it, or None (no row: the
    default task input applies)."""
    return session.scalar(select(TaskInput.task_input).where(TaskInput.task_id == task_id))


def save_task_input(
    session: Session,
    task_id: int,
    task_input: Any,
    human_required: bool,
    error: str | None = None,
) -> None:
    """Write (or replace) a task's input; flushes, never commits."""
    now = time.time()
    row = session.get(TaskInput, task_id)
    if row is None:
        session.add(
            TaskInput(
                task_id=task_id,
                task_input=task_input,
                human_required=bool(human_required),
                error=error,
                created_at=now,
            )
        )
    else:
        row.task_input = task_input
        row.human_required = bool(human_required)
        row.error = error
        row.created_at = now
    session.flush()


def task_page_row(session: Session, assignment_id: int) -> Any | None:
    """One row with all a task page needs: the assignment's worker and state, its job's
    template and labels, the item's line and the task's input (None without a row)."""
    return session.execute(
        select(
            Assignment.worker_id,
            Assignment.status,
            Assignment.deadline,
            Assignment.task_id,
            Job.id.label("job_id"),
            Job.task_type,
            Job.settings,
            Job.label_config,
            Item.data,
            TaskInput.task_input,
            TaskInput.created_at.label("input_at"),
        )
        .join(Task, Task.id == Assignment.task_id)
        .join(Job, Job.id == Assignment.job_id)
        .join(Item, Item.id == Task.item_id)
        .outerjoin(TaskInput, TaskInput.task_id == Assignment.task_id)
        .where(Assignment.id == assignment_id)
    ).first()
