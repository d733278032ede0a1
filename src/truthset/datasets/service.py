"""Datasets: named, versioned sets of items.

The rules live here (and the import's in `truthset.datasets.importer`); the queries in
`truthset.datasets.repository`. Functions flush and never commit: the caller's session
scope owns the transaction.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.datasets import repository
from truthset.errors import BadInput, Conflict
from truthset.media.storage import AllowedRoots, parse_s3_uri
from truthset.store.lookup import get_by_name
from truthset.store.models import Dataset

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


def check_api_source(source: str, roots: AllowedRoots) -> None:
    """What an API caller imports from must itself lie inside the server's allowed roots:
    a local manifest, CSV or folder, an S3 object, or an S3 prefix (whose listing would
    otherwise make every object under it an item, and the media route serve them)."""
    if source.startswith("s3://"):
        parse_s3_uri(source)  # a malformed URI, a bad bucket name or '..' is named as such
        inside = roots.allows(source.rstrip("/"))
    else:
        inside = roots.allows(str(Path(source).resolve()))
    if not inside:
        raise BadInput(f"source {source!r} is outside the server's allowed roots")


def create_dataset(session: Session, name: str, *, now: float | None = None) -> Dataset:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise BadInput(
            f"dataset name {name!r} must be 1-200 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    if repository.dataset_name_taken(session, name):
        raise Conflict(f"a dataset named {name!r} already exists")
    dataset = Dataset(name=name, created_at=time.time() if now is None else now, version=0)
    session.add(dataset)
    session.flush()
    return dataset


def get_dataset(session: Session, name: str) -> Dataset:
    return get_by_name(session, Dataset, name)


def describe(dataset: Dataset, items: int) -> dict[str, Any]:
    """A dataset as the API and the CLI show it."""
    return {
        "name": dataset.name,
        "items": items,
        "version": dataset.version,
        "created_at": dataset.created_at,
    }


def describe_dataset(session: Session, dataset: Dataset) -> dict[str, Any]:
    return describe(dataset, repository.item_count(session, dataset.id))


def list_datasets(session: Session) -> list[dict[str, Any]]:
    counts = repository.item_counts_by_dataset(session)
    return [describe(d, counts.get(d.id, 0)) for d in repository.all_datasets(session)]


def list_items(
    session: Session, dataset: Dataset, *, offset: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    rows = repository.items_page(session, dataset.id, offset=offset, limit=limit)
    return [{"id": ext, "data": orjson.loads(data)} for ext, data in rows]


def delete_dataset(session: Session, dataset: Dataset) -> None:
    job = repository.name_of_a_job_using(session, dataset.id)
    if job is not None:
        raise Conflict(f"job {job!r} uses dataset {dataset.name!r}; delete the job first")
    repository.delete_items(session, dataset.id)
    session.delete(dataset)
    session.flush()
