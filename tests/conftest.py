"""Shared fixtures: workspaces on SQLite and on a real PostgreSQL server.

PostgreSQL tests need TRUTHSET_TEST_PG_URL (set by `make test`, which starts a server).
Without it they are skipped, unless TRUTHSET_TEST_REQUIRE_SERVICES=1 (CI), where a
missing service is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from truthset.config import load_settings
from truthset.jobs.service import JobSpec, create_job
from truthset.store.models import Job, User
from truthset.workforce.service import create_user, issue_token
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


def make_workspace(tmp_path: Path, database_url: str | None = None) -> Workspace:
    return open_workspace(load_settings(tmp_path / "data", database_url))


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


def write_manifest(path: Path, rows: list[dict[str, Any]] | list[str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Setup:
    """A populated workspace: a text dataset, workers in a team, helpers to make jobs."""

    def __init__(self, ws: Workspace, n_items: int, n_workers: int):
        self.ws = ws
        manifest = write_manifest(
            ws.settings.media_dir / "items.manifest",
            [{"id": f"item-{i:05d}", "source": f"text number {i}"} for i in range(n_items)],
        )
        from truthset.datasets.importer import import_source

        with ws.db.session_scope() as s:
            import_source(s, "texts", str(manifest), allowed_roots=ws.allowed_roots)
            self.admin_token = issue_token(s, create_user(s, "boss", role="admin"))
            self.worker_names = [f"w{i:02d}" for i in range(n_workers)]
            self.worker_tokens = {}
            for name in self.worker_names:
                u = create_user(s, name, role="worker", teams=["crew"])
                self.worker_tokens[name] = issue_token(s, u)

    def job(self, name: str = "job", **kw: Any) -> str:
        spec = dict(name=name, task_type="text-classification", label_config=["pos", "neg"],
                    dataset="texts", workers_per_item=3, teams=["crew"])
        spec.update(kw)
        with self.ws.db.session_scope() as s:
            create_job(s, JobSpec(**spec))
        return name

    def load(self, s: Any, job: str, worker: str) -> tuple[Job, User]:
        from sqlalchemy import select

        return (s.scalar(select(Job).where(Job.name == job)),
                s.scalar(select(User).where(User.name == worker)))


@pytest.fixture
def setup_factory() -> Any:
    return Setup
