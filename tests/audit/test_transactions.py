"""Every domain's admin and requester writes are recorded inside the transaction that
makes them: the action and its event commit together or not at all."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from support import Setup, bearer
from truthset.api.deps import forget_all_tokens
from truthset.audit import service, transactions
from truthset.errors import Conflict
from truthset.server.app import create_app
from truthset.store.models import Team
from truthset.workforce.service import create_team, create_user


def request_scope(user, path="/api/things/t1", **params):
    return {
        "method": "POST",
        "path": path,
        "path_params": params,
        "state": {transactions.USER: user, transactions.ADDRESS: "192.0.2.1"},
    }


def events(ws):
    with ws.db.session_scope(write=False) as s:
        return [service.describe(e) for e in service.list_events(s)]


def test_a_staff_write_gets_its_event_in_its_own_transaction(any_ws):
    with any_ws.db.session_scope() as s:
        admin = create_user(s, "root", role="admin")
    scope = request_scope(admin, "/api/teams/crew/x", name="crew")
    with (
        pytest.raises(RuntimeError),
        transactions.request_context(scope),
        any_ws.db.session_scope() as s,
    ):
        create_team(s, "crew")
        raise RuntimeError("the action fails before its commit")
    assert events(any_ws) == []
    scope = request_scope(admin, "/api/teams/crew/x", name="crew")
    with transactions.request_context(scope), any_ws.db.session_scope() as s:
        create_team(s, "crew")
    [event] = events(any_ws)
    assert (event["actor"], event["action"], event["target"], event["outcome"]) == (
        "root",
        "POST /api/teams/{name}/x",
        "/api/teams/crew/x",
        "ok",
    )
    assert event["address"] == "192.0.2.1" and event["status"] is None
    assert scope["state"][transactions.AUDIT_COMMITTED] is True


def test_a_dml_statement_counts_as_a_write_and_a_read_does_not(ws):
    with ws.db.session_scope() as s:
        admin = create_user(s, "root", role="admin")
        create_team(s, "crew")
    with transactions.request_context(request_scope(admin)), ws.db.session_scope() as s:
        s.scalars(select(Team)).all()
        s.execute(text("SELECT 1"))
    assert events(ws) == []
    with transactions.request_context(request_scope(admin)), ws.db.session_scope() as s:
        s.execute(text("UPDATE teams SET created_at = created_at + 1"))
    assert [e["action"] for e in events(ws)] == ["POST /api/things/t1"]


def test_a_savepoint_defers_the_event_to_the_real_commit(ws):
    with ws.db.session_scope() as s:
        admin = create_user(s, "root", role="admin")
    scope = request_scope(admin)
    with (
        pytest.raises(RuntimeError),
        transactions.request_context(scope),
        ws.db.session_scope() as s,
    ):
        with s.begin_nested():
            create_team(s, "a")
        assert not scope["state"].get(transactions.AUDITED)
        raise RuntimeError("the transaction fails after its savepoint was released")
    assert events(ws) == [] and not scope["state"].get(transactions.AUDIT_COMMITTED)
    scope = request_scope(admin)
    with transactions.request_context(scope), ws.db.session_scope() as s:
        create_team(s, "a")
        with pytest.raises(Conflict), s.begin_nested():
            create_team(s, "a")  # a savepoint that rolls back keeps the earlier write
    assert [e["action"] for e in events(ws)] == ["POST /api/things/t1"]


def test_workers_writes_and_writes_outside_requests_are_not_recorded(ws):
    with ws.db.session_scope() as s:
        worker = create_user(s, "wen")
    with transactions.request_context(request_scope(worker)), ws.db.session_scope() as s:
        create_team(s, "a")
    with ws.db.session_scope() as s:
        create_team(s, "b")
    assert events(ws) == []


def test_another_domains_route_is_recorded_in_its_transaction(ws):
    forget_all_tokens()
    setup = Setup(ws, n_items=3, n_workers=1)
    setup.job("weather", workers_per_item=1)
    with TestClient(create_app(ws, run_executor=False)) as client:
        r = client.post("/api/jobs/weather/stop", headers=bearer(setup.admin_token))
        assert r.status_code == 200, r.text
        # A worker's write (a lease) is not an admin's or a requester's action.
        worker = bearer(setup.worker_tokens["w00"])
        client.post("/api/jobs/weather/resume", headers=bearer(setup.admin_token))
        assert client.post("/api/jobs/weather/next", headers=worker).status_code == 200
    recorded = [(e["actor"], e["action"], e["target"], e["status"]) for e in events(ws)]
    assert recorded == [
        ("boss", "POST /api/jobs/{name}/resume", "/api/jobs/weather/resume", None),
        ("boss", "POST /api/jobs/{name}/stop", "/api/jobs/weather/stop", None),
    ]
