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


def test_review_leases_upgrade_and_downgrade(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import inspect

    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        migrate.upgrade(db)
        with db.engine.connect() as conn:
            assert inspect(conn).has_table("review_leases")
        cfg = migrate.alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        assert migrate.current_revision(db) == "0001"
        with db.engine.connect() as conn:
            assert not inspect(conn).has_table("review_leases")
        migrate.upgrade(db)
        assert migrate.current_revision(db) == migrate.head_revision()
    finally:
        db.dispose()


def test_the_review_leases_table_matches_its_model(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from truthset.store.models import Base

    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        migrate.upgrade(db)
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        # (ix_tasks_pick is an expression index, which autogenerate cannot compare.)
        assert [d for d in diff if "review_leases" in repr(d)] == []
    finally:
        db.dispose()


def test_label_issue_columns_upgrade_downgrade_and_match_the_model(tmp_path: Path) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from truthset.store.models import Base

    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        migrate.upgrade(db)
        with db.engine.connect() as conn:
            assert {"issue", "issue_label_at"} <= {
                c["name"] for c in inspect(conn).get_columns("labels")
            }
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diff if "labels" in repr(d)] == []
        cfg = migrate.alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0002")
        with db.engine.connect() as conn:
            assert "issue" not in {c["name"] for c in inspect(conn).get_columns("labels")}
    finally:
        db.dispose()
