"""Shared fixtures: workspaces on SQLite and on a real PostgreSQL server.

PostgreSQL tests need TRUTHSET_TEST_PG_URL (set by `make test`, which starts a server).
Without it they are skipped, unless TRUTHSET_TEST_REQUIRE_SERVICES=1 (CI), where a
missing service is a failure, not a skip.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from support import Setup
from truthset.config import load_settings
from truthset.workspace import Workspace, open_workspace

REQUIRE_SERVICES = os.environ.get("TRUTHSET_TEST_REQUIRE_SERVICES") == "1"


def require(condition: bool, reason: str) -> None:
    if not condition:
        if REQUIRE_SERVICES:
            pytest.fail(f"required service missing: {reason}")
        pytest.skip(reason)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    base = os.environ.get("TRUTHSET_TEST_PG_URL")
    require(bool(base), "TRUTHSET_TEST_PG_URL is not set (no PostgreSQL server)")
    assert base is not None
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_SQLITE_TEMPLATE: list[Path] = []


def _migrated_sqlite_data_dir() -> Path:
    """A data directory whose SQLite database is migrated to the head, made once per test
    run: opening a copy takes ~3 ms where migrating a new database takes ~60 ms, and the
    suite opens hundreds. Each test still gets a database of its own."""
    if not _SQLITE_TEMPLATE:
        root = Path(tempfile.mkdtemp(prefix="truthset-template-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        open_workspace(load_settings(root / "data", None)).close()
        _SQLITE_TEMPLATE.append(root / "data")
    return _SQLITE_TEMPLATE[0]


def make_workspace(tmp_path: Path, database_url: str | None = None) -> Workspace:
    data = tmp_path / "data"
    if database_url is None and not data.exists():
        shutil.copytree(_migrated_sqlite_data_dir(), data)
    return open_workspace(load_settings(data, database_url))


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = make_workspace(tmp_path)
    yield workspace
    workspace.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    """The same test on the embedded store and on PostgreSQL."""
    if request.param == "sqlite":
        workspace = make_workspace(tmp_path)
    else:
        workspace = make_workspace(tmp_path, request.getfixturevalue("pg_url"))
    yield workspace
    workspace.close()


@pytest.fixture
def setup_factory() -> type[Setup]:
    return Setup


@pytest.fixture
def client(ws: Workspace) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from truthset.api.deps import forget_all_tokens
    from truthset.server.app import create_app

    forget_all_tokens()
    with TestClient(create_app(ws)) as c:
        yield c
