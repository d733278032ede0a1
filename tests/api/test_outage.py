"""A database that cannot be reached is a 503 with the error body, on the hot work routes
and the others, and work resumes once it is back (issue 15, item 2)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from conftest import make_workspace
from support import bearer
from truthset.api.deps import forget_all_tokens
from truthset.api.errors import database_unavailable
from truthset.server.app import create_app


def test_postgresql_unreachable_is_a_503_then_work_resumes(
    pg_url, tmp_path, setup_factory, monkeypatch
):
    ws = make_workspace(tmp_path, pg_url)
    try:
        setup = setup_factory(ws, n_items=3, n_workers=1)
        setup.job("j", workers_per_item=1)
        worker = bearer(setup.worker_tokens["w00"])
        forget_all_tokens()
        with TestClient(create_app(ws, run_executor=False)) as client:
            assert client.get("/api/jobs", headers=worker).status_code == 200  # token cached
            writer = ws.db._writer
            assert writer is not None
            writer._close_connection()
            import psycopg

            down = OperationalError("connect", {}, psycopg.OperationalError("connection refused"))

            def unreachable(*_args: Any, **_kwargs: Any) -> Any:
                raise down

            monkeypatch.setattr(ws.db.write_engine, "connect", unreachable)
            monkeypatch.setattr(ws.db.engine, "connect", unreachable)
            for r in (
                client.post("/api/jobs/j/next", headers=worker),  # the hot route
                client.get("/api/jobs/j", headers=worker),  # a FastAPI route
            ):
                assert r.status_code == 503, r.text
                assert r.json()["error"] == "unavailable"
                assert "database cannot be reached" in r.json()["detail"]
            monkeypatch.undo()
            r = client.post("/api/jobs/j/next", headers=worker)
            assert r.status_code == 200 and r.json()["job"] == "j"
    finally:
        ws.close()


def test_sqlite_errors_are_bugs_not_outages():
    import sqlite3

    bug = OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    assert database_unavailable(bug) is None
    assert database_unavailable(ValueError("x")) is None
