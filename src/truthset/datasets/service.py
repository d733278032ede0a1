"""Datasets: named, versioned sets of items."""

from __future__ import annotations

import re
import time
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from truthset.errors import BadInput, Conflict
from truthset.store.lookup import get_by_name
from truthset.store.models import Dataset, Job

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


def create_dataset(session: Session, name: str, *, now: float | None = None) -> Dataset:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise BadInput(
            f"dataset name {name!r} must be 1-200 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    if session.scalar(select(Dataset.id).where(Dataset.name == name)) is not None:
        raise Conflict(f"a dataset named {name!r} already exists")
    dataset = Dataset(name=name, created_at=time.time() if now is None else now, version=0)
    session.add(dataset)
    session.flush()
    return dataset


def get_dataset(session: Session, name: str) -> Dataset:
    return get_by_name(session, Dataset, name)


def list_datasets(session: Session) -> list[dict[str, Any]]:
    counts: dict[int, int] = dict(
        session.execute(text("SELECT dataset_id, count(*) FROM items GROUP BY dataset_id")).all()
    )
    return [
        {
            "name": d.name,
            "items": counts.get(d.id, 0),
            "version": d.version,
            "created_at": d.created_at,
        }
        for d in session.scalars(select(Dataset).order_by(Dataset.id))
    ]


def list_items(
    session: Session, dataset: Dataset, *, offset: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT external_id, data FROM items WHERE dataset_id = :d ORDER BY position "
            "LIMIT :l OFFSET :o"
        ),
        {"d": dataset.id, "l": limit, "o": offset},
    ).all()
    return [{"id": ext, "data": orjson.loads(data)} for ext, data in rows]


def delete_dataset(session: Session, dataset: Dataset) -> None:
    job = session.scalar(select(Job.name).where(Job.dataset_id == dataset.id))
    if job is not None:
        raise Conflict(f"job {job!r} uses dataset {dataset.name!r}; delete the job first")
    session.execute(text("DELETE FROM items WHERE dataset_id = :d"), {"d": dataset.id})
    session.delete(dataset)
    session.flush()
