"""A short-lived, read-only view of a job for the work engine's hot path: the columns it
reads, without an ORM object, cached for at most a second per process and database."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy.orm import Session

from truthset.errors import NotFound
from truthset.tasktypes import get_task_type

JOB_VIEW_TTL = 1.0


# Per database (engine), by job name or id: when read, and the view.
_job_views: WeakKeyDictionary[Any, dict[str, tuple[float, JobView]]] = WeakKeyDictionary()


@dataclass(frozen=True)
class JobView:
    """The columns of a job the work engine reads, without an ORM object. Cached for at
    most a second per process (a state change made here is seen at once; one made by
    another process within a second)."""

    id: int
    name: str
    state: str
    task_type: str
    label_attribute: str
    label_config: dict[str, Any]
    settings: dict[str, Any]
    workers_per_item: int
    task_time_limit: int
    task_availability: int
    max_concurrent_tasks: int
    max_human_labeled: int | None
    max_percentage_labeled: float | None
    input_job_id: int | None
    dataset_id: int | None
    created_at: float

    @cached_property
    def parsed_label_config(self) -> Any:
        """The label config as its task type reads it (parsed once per cached view)."""
        return get_task_type(self.task_type).parse_label_config(self.label_config)


_VIEW_COLUMNS = (
    "id, name, state, task_type, label_attribute, label_config, settings, workers_per_item, "
    "task_time_limit, task_availability, max_concurrent_tasks, max_human_labeled, "
    "max_percentage_labeled, input_job_id, dataset_id, created_at"
)


def job_view(session: Session, name_or_id: str | int, *, now: float | None = None) -> JobView:
    from truthset.store.raw import raw

    now = time.time() if now is None else now
    views = _job_views.setdefault(session.get_bind().engine, {})
    key = str(name_or_id)
    hit = views.get(key)
    if hit is not None and now - hit[0] < JOB_VIEW_TTL:
        return hit[1]
    by_id = isinstance(name_or_id, int)
    row = raw(session).first(
        f"SELECT {_VIEW_COLUMNS} FROM jobs WHERE {'id' if by_id else 'name'} = :k",
        {"k": name_or_id},
    )
    if row is None:
        raise NotFound(f"job {name_or_id!r} not found")
    values = list(row)
    for i in (5, 6):  # JSON columns come back as text from SQLite
        if isinstance(values[i], str):
            values[i] = orjson.loads(values[i])
    view = JobView(*values)
    views[key] = (now, view)
    return view


def forget_job_views() -> None:
    _job_views.clear()
