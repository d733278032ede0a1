"""The audit log through the HTTP API: what admins' and requesters' actions leave behind,
refusals included, and how an admin reads it (filters, pages)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from support import bearer
from truthset.api.deps import forget_all_tokens
from truthset.api.tokens import issue_token
from truthset.audit import addresses
from truthset.server.app import create_app
from truthset.workforce import service

PEER = "198.51.100.7"


@pytest.fixture
def client(ws) -> Iterator[TestClient]:
    """The app seen from one address (the audit log records it)."""
    forget_all_tokens()
    addresses.forget_settings()
    with TestClient(create_app(ws, run_executor=False), client=(PEER, 41000)) as c:
        yield c


@pytest.fixture
def people(ws) -> dict[str, dict[str, str]]:
    with ws.db.session_scope() as s:
        admin = service.create_user(s, "root", role="admin")
        requester = service.create_user(s, "req", role="requester")
        worker = service.create_user(s, "wen", password="worker-pass")
        return {
            "admin": bearer(issue_token(s, admin)),
            "requester": bearer(issue_token(s, requester)),
            "worker": bearer(issue_token(s, worker)),
        }


def audit(client, people, **filters: Any) -> list[dict[str, Any]]:
    r = client.get("/api/audit", params=filters, headers=people["admin"])
    assert r.status_code == 200, r.text
    return r.json()


def brief(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["actor"], e["action"], e["target"], e["outcome"]) for e in events]


def test_an_admins_action_is_recorded_with_who_what_when_and_where(client, people):
    r = client.post(
        "/api/users",
        json={"name": "ann", "role": "reviewer", "password": "p" * 12},
        headers=people["admin"],
    )
    assert r.status_code == 201
    [event] = audit(client, people, action="user.")
    assert event["actor"] == "root" and event["actor_role"] == "admin"
    assert (event["action"], event["target"], event["outcome"]) == ("user.create", "ann", "ok")
    assert event["address"] == PEER and event["at"] > 0
    # What was asked, never the password itself.
    assert event["detail"] == {"role": "reviewer", "teams": [], "password": True}


def test_a_refused_action_is_recorded_as_refused(client, people):
    client.post("/api/users", json={"name": "ann"}, headers=people["admin"])
    r = client.post("/api/users", json={"name": "ann"}, headers=people["admin"])
    assert r.status_code == 409
    events = audit(client, people, actor="root")
    # The failed create's own event rolled back with it; the trail recorded the refusal.
    assert brief(events) == [
        ("root", "POST /api/users", "/api/users", "refused"),
        ("root", "user.create", "ann", "ok"),
    ]
    assert events[0]["status"] == 409


def test_other_domains_routes_are_recorded_by_their_template(client, people):
    r = client.post("/api/jobs/no-such-job/stop", headers=people["requester"])
    assert r.status_code == 404
    [event] = audit(client, people, actor="req")
    assert event["action"] == "POST /api/jobs/{name}/stop"
    assert (event["target"], event["outcome"], event["status"]) == (
        "/api/jobs/no-such-job/stop",
        "refused",
        404,
    )


def test_a_worker_refused_an_admin_action_is_recorded_and_reads_are_not(client, people):
    assert (
        client.post("/api/teams", json={"name": "t"}, headers=people["worker"]).status_code == 403
    )
    client.get("/api/users", headers=people["requester"])
    client.get("/api/me", headers=people["worker"])
    assert brief(audit(client, people)) == [("wen", "POST /api/teams", "/api/teams", "refused")]


def test_sign_ins_are_recorded_failed_ones_too(client, people):
    assert (
        client.post("/api/auth/login", json={"name": "wen", "password": "nope"}).status_code == 401
    )
    assert (
        client.post("/api/auth/login", json={"name": "ghost", "password": "x"}).status_code == 401
    )
    r = client.post("/api/auth/login", json={"name": "wen", "password": "worker-pass"})
    assert r.status_code == 200
    client.post("/api/auth/logout", headers={"x-truthset-csrf": "1"})
    events = audit(client, people, action="auth.")
    assert brief(events) == [
        ("wen", "auth.logout", None, "ok"),
        ("wen", "auth.login", None, "ok"),
        ("ghost", "auth.login", None, "refused"),
        ("wen", "auth.login", None, "refused"),
    ]
    assert events[-1]["detail"] == {"reason": "wrong user name or password"}
    assert {e["address"] for e in events} == {PEER}


def test_filters_and_pages(client, people):
    for name in ("t1", "t2", "t3"):
        client.post("/api/teams", json={"name": name}, headers=people["admin"])
    client.post("/api/teams/t1/members", json={"user": "wen"}, headers=people["admin"])
    teams = audit(client, people, action="team.create")
    assert [e["target"] for e in teams] == ["t3", "t2", "t1"]  # newest first
    page = audit(client, people, action="team.create", offset=1, limit=1)
    assert [e["target"] for e in page] == ["t2"]
    assert [e["target"] for e in audit(client, people, target="t1/wen")] == ["t1/wen"]
    middle = teams[1]["at"]
    assert [e["target"] for e in audit(client, people, action="team.create", since=middle)] == [
        "t3",
        "t2",
    ]
    assert [e["target"] for e in audit(client, people, action="team.create", until=middle)] == [
        "t1"
    ]
    assert audit(client, people, outcome="refused") == []


def test_only_admins_read_the_log_and_bad_filters_say_which(client, people):
    r = client.get("/api/audit", headers=people["requester"])
    assert r.status_code == 403 and r.json()["detail"] == "this needs the admin role"
    r = client.get("/api/audit", params={"outcome": "maybe"}, headers=people["admin"])
    assert r.status_code == 400
    assert r.json()["detail"] == "outcome 'maybe' is not one of ok, refused, failed"
    r = client.get("/api/audit", params={"since": 10, "until": 5}, headers=people["admin"])
    assert r.json()["detail"] == "until (5.0) must be after since (10.0)"
