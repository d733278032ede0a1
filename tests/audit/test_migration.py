"""Migration 0011 (OIDC, source-IP lists, the audit log): its tables match their models,
and it downgrades and upgrades again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from truthset.store import migrate
from truthset.store.db import Database

TABLES = (
    "oidc_providers",
    "oidc_identities",
    "oidc_logins",
    "workforce_settings",
    "team_source_ips",
    "audit_events",
)


@pytest.fixture
def migrated(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(db)
    yield db
    db.dispose()


def test_the_tables_match_their_models(migrated: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from truthset.store.models import Base

    with migrated.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if any(t in repr(d) for t in TABLES)] == []


def test_0011_downgrades_and_upgrades(migrated: Database) -> None:
    from alembic import command

    cfg = migrate.alembic_config()
    with migrated.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")
    with migrated.engine.connect() as conn:
        assert not any(inspect(conn).has_table(t) for t in TABLES)
    migrate.upgrade(migrated)
    with migrated.engine.connect() as conn:
        assert all(inspect(conn).has_table(t) for t in TABLES)
