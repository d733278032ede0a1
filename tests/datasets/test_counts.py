"""The stored item count of a dataset (migration 0015): kept by every import in its own
transaction, left alone by a refused one, shown by the API without counting, and filled
for datasets that existed before the migration; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from support import write_manifest
from truthset.datasets import service
from truthset.datasets.importer import import_source
from truthset.errors import BadInput
from truthset.store import migrate


def _import(ws: Any, rows: list[dict[str, Any]], name: str = "d") -> Any:
    path = write_manifest(ws.settings.media_dir / f"{name}-{len(rows)}.manifest", rows)
    with ws.db.session_scope() as s:
        return import_source(s, "d", str(path), allowed_roots=ws.allowed_roots)


def _stored(ws: Any) -> int:
    with ws.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT item_count FROM datasets WHERE name = 'd'")).scalar())


def test_imports_keep_the_stored_count(any_ws: Any) -> None:
    rows = [{"id": f"i{i}", "source": f"text {i}"} for i in range(5)]
    assert _import(any_ws, rows).added == 5
    assert _stored(any_ws) == 5
    # Three again (duplicates) and two new: only the new ones count.
    more = rows[:3] + [{"id": f"n{i}", "source": f"new {i}"} for i in range(2)]
    assert _import(any_ws, more, "more").added == 2
    assert _stored(any_ws) == 7
    # A refused import (a bad line) writes nothing, its count included.
    with pytest.raises(BadInput):
        _import(any_ws, [{"id": "x", "source": "fine"}, {"id": "y"}], "bad")
    assert _stored(any_ws) == 7
    with any_ws.db.session_scope(write=False) as s:
        dataset = service.get_dataset(s, "d")
        assert service.describe_dataset(s, dataset)["items"] == 7
        assert service.overview(s, dataset)["items"] == 7
        assert [d["items"] for d in service.list_datasets(s) if d["name"] == "d"] == [7]


def test_migration_counts_the_datasets_that_exist(any_ws: Any) -> None:
    _import(any_ws, [{"id": f"i{i}", "source": f"text {i}"} for i in range(4)])
    cfg = migrate.alembic_config()
    with any_ws.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0014")
    migrate.upgrade(any_ws.db)
    assert migrate.current_revision(any_ws.db) == migrate.head_revision()
    assert _stored(any_ws) == 4
