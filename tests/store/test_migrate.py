"""Migrations: the head read from the files is Alembic's, and upgrading is idempotent."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

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
