"""A job's labels in import order, in batches: what the formats other than Ground Truth's
manifest are written from (each reads only the labels it needs, with flat memory)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.store.models import Job
from truthset.store.raw import raw

BATCH = 5000


@dataclass(frozen=True, slots=True)
class LabeledItem:
    external_id: str
    data: dict[str, Any]
    value: Any
    meta: dict[str, Any]
    human: bool


def labeled_items(session: Session, job: Job) -> Iterator[LabeledItem]:
    """Every labeled, non-gold item of the job, in import order."""
    last_pos = -1
    while True:
        rows = raw(session).all(
            "SELECT t.position, i.external_id, i.data, l.value, l.meta, l.human "
            "FROM tasks t JOIN items i ON i.id = t.item_id JOIN labels l ON l.task_id = t.id "
            "WHERE t.job_id = :j AND t.position > :p AND t.is_gold = 0 "
            "AND t.status IN ('complete', 'auto') ORDER BY t.position LIMIT :n",
            {"j": job.id, "p": last_pos, "n": BATCH},
        )
        if not rows:
            return
        last_pos = rows[-1][0]
        for _pos, external_id, data, value, meta, human in rows:
            yield LabeledItem(
                str(external_id),
                _json(data),
                _json(value),
                _json(meta) or {},
                bool(human),
            )


def _json(value: Any) -> Any:
    # SQLite hands back JSON columns as text; PostgreSQL as objects.
    return orjson.loads(value) if isinstance(value, str | bytes) else value
