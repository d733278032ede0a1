"""Every query of the datasets domain: datasets, their items, and the jobs that read them.

The service and the importer hold the rules and call these; a get-by-name-or-404 is
`truthset.store.lookup.get_by_name`. Nothing here commits: writes go into the caller's
transaction.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from truthset.store.lookup import find_by_name
from truthset.store.models import AuditEvent, Dataset, Item, Job, Run
from truthset.store.raw import raw

# -- datasets ------------------------------------------------------------------------------


def dataset_named(session: Session, name: str) -> Dataset | None:
    return find_by_name(session, Dataset, name)


def dataset_name_taken(session: Session, name: str) -> bool:
    return session.scalar(select(Dataset.id).where(Dataset.name == name)) is not None


def all_datasets(session: Session) -> list[Dataset]:
    """Every dataset, oldest first."""
    return list(session.scalars(select(Dataset).order_by(Dataset.id)))


def name_of_a_job_using(session: Session, dataset_id: int) -> str | None:
    """The name of one job (any) that reads the dataset, or None."""
    return session.scalar(select(Job.name).where(Job.dataset_id == dataset_id))


def live_jobs_reading(session: Session, dataset_id: int) -> list[Job]:
    """The running jobs that read the dataset directly (not through an input job)."""
    return list(
        session.scalars(
            select(Job).where(
                Job.dataset_id == dataset_id,
                Job.input_job_id.is_(None),
                Job.state.in_(("in_progress", "initializing")),
            )
        )
    )


# -- items ---------------------------------------------------------------------------------


def item_count(session: Session, dataset_id: int) -> int:
    found = session.scalar(
        select(func.count()).select_from(Item).where(Item.dataset_id == dataset_id)
    )
    return int(found or 0)


def item_counts_by_dataset(session: Session) -> dict[int, int]:
    """Dataset id -> how many items it has (datasets without items are absent)."""
    rows = session.execute(select(Item.dataset_id, func.count()).group_by(Item.dataset_id))
    return {dataset_id: int(n) for dataset_id, n in rows}


def next_item_position(session: Session, dataset_id: int) -> int:
    """The position after the dataset's last item (0 for an empty dataset)."""
    last = session.scalar(select(func.max(Item.position)).where(Item.dataset_id == dataset_id))
    return 0 if last is None else int(last) + 1


def items_page(session: Session, dataset_id: int, *, offset: int, limit: int) -> list[Any]:
    """(external id, stored JSON) of the dataset's items in position order, one page."""
    return list(
        session.execute(
            select(Item.external_id, Item.data)
            .where(Item.dataset_id == dataset_id)
            .order_by(Item.position)
            .limit(limit)
            .offset(offset)
        ).all()
    )


def delete_items(session: Session, dataset_id: int) -> None:
    session.execute(
        delete(Item).where(Item.dataset_id == dataset_id),
        execution_options={"synchronize_session": False},
    )


def insert_items(session: Session, rows: list[tuple[Any, ...]]) -> int:
    """Insert (dataset id, external id, content hash, position, stored JSON) rows; a row
    whose content the dataset already holds is skipped. Raises IntegrityError when an
    external id is already used by other content.

    Raw SQL on purpose: this is the import's hot path (millions of rows for a large
    manifest), and one fixed statement sent as a DB-API executemany costs a fraction of
    building ORM objects or Core inserts (`RawSQL.executemany_rows`: multi-row VALUES on
    SQLite). The ON CONFLICT clause is the dedupe by identity hash, which SQLite and
    PostgreSQL both understand. Returns how many rows were added."""
    sql = (
        "INSERT INTO items (dataset_id, external_id, content_hash, position, data) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (dataset_id, content_hash) DO NOTHING"
    )
    if session.get_bind().dialect.name != "sqlite":
        # Through SQLAlchemy: a failed statement then leaves the savepoint the importer
        # retries in usable (the driver's executemany alone left it aborted).
        pg_sql = sql.replace("?", "%s")
        return int(session.connection().exec_driver_sql(pg_sql, rows).rowcount or 0)
    driver = session.get_bind().dialect.loaded_dbapi
    try:
        return raw(session).executemany_rows(sql, rows)
    except driver.IntegrityError as exc:  # the driver's own, as SQLAlchemy would raise it
        raise IntegrityError(sql, None, exc) from exc


def items_by_identity(
    session: Session, dataset_id: int, hashes: list[str], *, with_data: bool = False
) -> dict[str, tuple[Any, ...]]:
    """Identity hash -> (item id, position[, stored JSON]) of those of the dataset's items
    that exist. Raw SQL: an import asks this for batches of 5,000 lines."""
    sql = raw(session)
    columns = "content_hash, id, position" + (", data" if with_data else "")
    found: dict[str, tuple[Any, ...]] = {}
    if sql.pg:
        for digest, *rest in sql.all(
            f"SELECT {columns} FROM items WHERE dataset_id = :d AND content_hash = ANY(:h)",
            {"d": dataset_id, "h": hashes},
        ):
            found[digest] = tuple(rest)
        return found
    for start in range(0, len(hashes), 900):
        chunk = hashes[start : start + 900]
        params: dict[str, Any] = {f"h{n}": h for n, h in enumerate(chunk)}
        params["d"] = dataset_id
        marks = _marks(len(chunk))
        for digest, *rest in sql.all(
            f"SELECT {columns} FROM items WHERE dataset_id = :d AND content_hash IN ({marks})",
            params,
        ):
            found[digest] = tuple(rest)
    return found


def max_item_id(session: Session) -> int:
    """The largest item id (0 without items): SQLite gives the rows an insert adds the ids
    after it, in order, so an import knows them without reading them back."""
    return int(raw(session).scalar("SELECT max(id) FROM items") or 0)


@lru_cache(maxsize=8)
def _marks(n: int) -> str:
    return ", ".join(f":h{i}" for i in range(n))


def set_item_data(session: Session, item_id: int, data: str) -> None:
    session.execute(
        text("UPDATE items SET data = :data WHERE id = :i"), {"data": data, "i": item_id}
    )


# -- the console's datasets page -------------------------------------------------------------

# The audit actions of the imports made in a request (datasets.router records them).
IMPORT_ACTIONS = ("dataset.import", "dataset.upload")


def items_after(session: Session, dataset_id: int, *, after: str | None, limit: int) -> list[Any]:
    """(item id, external id, stored JSON) of the dataset's items after `after` in id order,
    one page. Keyset order on the (dataset, external id) unique index: the page costs the
    same on the first page and the ten-thousandth, and on a million-item dataset (an OFFSET
    reads every row before the page; `position` has no index to sort by)."""
    query = select(Item.id, Item.external_id, Item.data).where(Item.dataset_id == dataset_id)
    if after is not None:
        query = query.where(Item.external_id > after)
    return list(session.execute(query.order_by(Item.external_id).limit(limit)).all())


def sample_items(session: Session, dataset_id: int, limit: int) -> list[str]:
    """The stored JSON of up to `limit` items spread over the dataset: the first in content
    hash order (which does not follow import order), read from the (dataset, hash) index."""
    return list(
        session.scalars(
            select(Item.data)
            .where(Item.dataset_id == dataset_id)
            .order_by(Item.content_hash)
            .limit(limit)
        )
    )


def import_runs(session: Session, dataset: str, *, limit: int = 200) -> list[Run]:
    """The dataset's import runs, newest first. The dataset is a key of the run's JSON
    params, read here: a workspace has few import runs, and JSON paths differ by dialect."""
    runs = session.scalars(
        select(Run).where(Run.kind == "import").order_by(Run.id.desc()).limit(5000)
    )
    return [r for r in runs if (r.params or {}).get("dataset") == dataset][:limit]


def import_requests(session: Session, dataset: str, *, limit: int = 200) -> list[AuditEvent]:
    """The audit log's records of the dataset's in-request imports and uploads (with what
    they did), and of the other POSTs made to its routes (refused imports, the
    run-starting ones), newest first."""
    prefix = f"/api/datasets/{dataset}/"
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                or_(
                    and_(
                        AuditEvent.action.like("POST %"),
                        AuditEvent.target.like(f"{escaped}%", escape="\\"),
                    ),
                    and_(AuditEvent.action.in_(IMPORT_ACTIONS), AuditEvent.target == dataset),
                )
            )
            .order_by(AuditEvent.at.desc())
            .limit(limit)
        )
    )


def job_names_using(session: Session, dataset_id: int) -> list[str]:
    return list(
        session.scalars(select(Job.name).where(Job.dataset_id == dataset_id).order_by(Job.id))
    )
