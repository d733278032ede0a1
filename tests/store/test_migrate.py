"""Migrations: the head read from the files is Alembic's, and upgrading is idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from truthset.store import migrate
from truthset.store.db import Database


def test_head_read_from_files_is_alembics_head() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert migrate.head_revision() == script.get_current_head()


def test_upgrade_creates_the_schema_then_does_nothing(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        assert migrate.current_revision(db) is None
        migrate.upgrade(db)
        assert migrate.current_revision(db) == migrate.head_revision()
        migrate.upgrade(db)  # already at head
        assert migrate.is_initialised(db)
    finally:
        db.dispose()


@pytest.fixture
def migrated(tmp_path: Path) -> Iterator[Database]:
    """A SQLite database upgraded to the head revision."""
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(db)
    yield db
    db.dispose()


def downgrade(db: Database, revision: str) -> None:
    from alembic import command

    cfg = migrate.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def model_differences(db: Database, table: str) -> list[object]:
    """What autogenerate finds between the migrated schema and the models, for a table.
    (ix_tasks_pick is an expression index, which autogenerate cannot compare.)"""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from truthset.store.models import Base

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    return [d for d in diff if table in repr(d)]


def columns(db: Database, table: str) -> set[str]:
    with db.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns(table)}


def test_review_leases_upgrade_and_downgrade(migrated: Database) -> None:
    with migrated.engine.connect() as conn:
        assert inspect(conn).has_table("review_leases")
    downgrade(migrated, "0001")
    assert migrate.current_revision(migrated) == "0001"
    with migrated.engine.connect() as conn:
        assert not inspect(conn).has_table("review_leases")
    migrate.upgrade(migrated)
    assert migrate.current_revision(migrated) == migrate.head_revision()


def test_the_review_leases_table_matches_its_model(migrated: Database) -> None:
    assert model_differences(migrated, "review_leases") == []


def test_label_issue_columns_upgrade_downgrade_and_match_the_model(migrated: Database) -> None:
    assert {"issue", "issue_label_at"} <= columns(migrated, "labels")
    assert model_differences(migrated, "labels") == []
    downgrade(migrated, "0002")
    assert "issue" not in columns(migrated, "labels")
