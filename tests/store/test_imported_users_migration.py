"""Migration 0006: users.imported_as, the worker id an imported account had (Ground
Truth's workerId), unique, up and down, and as the model has it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from truthset.store import migrate
from truthset.store.db import Database


@pytest.fixture
def migrated(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(db)
    yield db
    db.dispose()


def _downgrade(db: Database, revision: str) -> None:
    from alembic import command

    cfg = migrate.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def _user_columns(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("users")}


def test_imported_as_upgrades_downgrades_and_matches_the_model(migrated: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from truthset.store.models import Base

    assert "imported_as" in _user_columns(migrated)
    with migrated.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "users" in repr(d)] == []
    with migrated.engine.begin() as conn:
        insert = text(
            "INSERT INTO users (name, role, active, created_at, imported_as) "
            "VALUES (:n, 'worker', 0, 0, :w)"
        )
        conn.execute(insert, {"n": "a", "w": None})
        conn.execute(insert, {"n": "b", "w": None})  # accounts made here: many NULLs
        conn.execute(insert, {"n": "c", "w": "private.us-west-2.0001"})
    with migrated.engine.begin() as conn, pytest.raises(Exception, match="UNIQUE"):
        conn.execute(insert, {"n": "d", "w": "private.us-west-2.0001"})
    _downgrade(migrated, "0005")
    assert "imported_as" not in _user_columns(migrated)
    migrate.upgrade(migrated)
    assert migrate.current_revision(migrated) == migrate.head_revision()
