"""Migration 0013: the assignment_drafts table matches its model, goes down and comes
back up, and its trigger (which ends a draft with its lease) comes back with it; on
SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import text

from support import Setup
from truthset.store import migrate
from truthset.work import drafts
from truthset.work.leases import lease_next_task, release

T0 = 1_800_000_000.0
_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
}


def _tables(db: Any) -> set[str]:
    with db.engine.connect() as conn:
        return {r[0] for r in conn.execute(text(_TABLES[db.engine.dialect.name]))}


def _model_differences(db: Any) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from truthset.store.models import Base

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    return [d for d in diff if "assignment_drafts" in repr(d)]


def test_drafts_table_matches_its_model_and_migrates_down_and_up(any_ws: Any) -> None:
    db = any_ws.db
    assert "assignment_drafts" in _tables(db)
    assert _model_differences(db) == []
    cfg = migrate.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
    assert "assignment_drafts" not in _tables(db)
    migrate.upgrade(db)
    assert migrate.current_revision(db) == migrate.head_revision()

    setup = Setup(any_ws, n_items=1, n_workers=1)
    setup.job(workers_per_item=1)
    with db.session_scope() as s:
        job, user = setup.load(s, "job", "w00")
        t = lease_next_task(s, job, user, now=T0)
        drafts.save_draft(s, t.assignment_id, user, {"a": 1}, now=T0 + 1)
    with db.session_scope() as s:
        _, user = setup.load(s, "job", "w00")
        release(s, t.assignment_id, user, now=T0 + 2)
    with db.session_scope(write=False) as s:
        assert s.execute(text("SELECT count(*) FROM assignment_drafts")).scalar_one() == 0
