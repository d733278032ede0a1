"""Source-IP allow-lists (Ground Truth's SourceIpConfig) for the workforce and per team,
enforced on workers' requests (portal page, work API with its hot routes, media), set by
admins; X-Forwarded-For believed only from trusted proxies, none by default."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import make_workspace
from support import Setup, bearer
from truthset.api.deps import SESSION_COOKIE, forget_all_tokens
from truthset.server.app import create_app
from truthset.workforce import ip_allow
from truthset.workforce.service import create_user

INSIDE, OUTSIDE, PROXY = "10.1.2.3", "203.0.113.9", "10.0.0.1"


@pytest.fixture
def setup(ws) -> Setup:
    forget_all_tokens()
    ip_allow.forget()
    s = Setup(ws, n_items=4, n_workers=2)
    s.job(workers_per_item=1)
    return s


@pytest.fixture
def app(ws, setup) -> Any:
    return create_app(ws, run_executor=False)


@pytest.fixture
def at(app) -> Iterator[Any]:
    """at(address): a client of the app seen from that address."""
    clients: list[TestClient] = []

    def client(address: str) -> TestClient:
        c = TestClient(app, client=(address, 40000))
        clients.append(c)
        return c

    yield client
    for c in clients:
        c.close()


def worker(setup: Setup, name: str = "w00") -> dict[str, str]:
    return bearer(setup.worker_tokens[name])


def admin(setup: Setup) -> dict[str, str]:
    return bearer(setup.admin_token)


def put(client: TestClient, setup: Setup, path: str, cidrs: list[str]) -> Any:
    r = client.put(path, json={"cidrs": cidrs}, headers=admin(setup))
    assert r.status_code == 200, r.text
    return r.json()


def refused(response) -> str:
    assert response.status_code == 403, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and body["error"] == "forbidden"
    return body["detail"]


def test_without_lists_workers_work_from_anywhere(at, setup):
    assert at(OUTSIDE).post("/api/jobs/job/next", headers=worker(setup)).status_code == 200


def test_the_workforce_list_holds_workers_requests_everywhere(at, setup):
    outside, inside = at(OUTSIDE), at(INSIDE)
    assert put(inside, setup, "/api/workforce/source-ip", ["10.0.0.0/8"])["cidrs"] == ["10.0.0.0/8"]
    detail = refused(outside.post("/api/jobs/job/next", headers=worker(setup)))  # hot route
    assert detail == (
        f"requests from {OUTSIDE} are not allowed: the workforce may work only from its "
        "allowed source IP ranges (ask an admin)"
    )
    refused(outside.post("/api/assignments/1/submit", json={"answer": {}}, headers=worker(setup)))
    refused(outside.get("/api/me/assignments", headers=worker(setup)))
    refused(outside.get("/api/items/1/media", headers=worker(setup)))
    # The portal page, signed in by cookie.
    r = outside.post("/api/auth/login", json={"name": "w00", "password": "x"})
    assert r.status_code == 401  # signing in stays reachable (this account has no password)
    outside.cookies.set(SESSION_COOKIE, setup.worker_tokens["w00"])
    refused(outside.get("/", follow_redirects=False))
    outside.cookies.clear()
    # From inside the same worker works; admins are not held to the list.
    assert inside.post("/api/jobs/job/next", headers=worker(setup)).status_code == 200
    assert outside.get("/api/jobs", headers=admin(setup)).status_code == 200
    # Not signed in: the route's own 401, not the list's 403.
    assert outside.get("/api/me/assignments").status_code == 401
    # An empty list lifts it.
    put(inside, setup, "/api/workforce/source-ip", [])
    assert outside.post("/api/jobs/job/next", headers=worker(setup)).status_code == 200


def test_a_teams_list_holds_its_members(at, ws, setup):
    put(at(INSIDE), setup, "/api/teams/crew/source-ip", ["192.0.2.0/24"])
    detail = refused(at(INSIDE).post("/api/jobs/job/next", headers=worker(setup)))
    assert detail == (
        f"requests from {INSIDE} are not allowed for job 'job': the allowed source IP ranges "
        "of your team 'crew' on it do not include it (ask an admin)"
    )
    detail = refused(at(INSIDE).get("/api/me/assignments", headers=worker(setup)))
    assert detail == (
        f"requests from {INSIDE} are not allowed: the allowed source IP ranges of your team "
        "'crew' do not include it (ask an admin)"
    )
    assert at("192.0.2.77").post("/api/jobs/job/next", headers=worker(setup)).status_code == 200
    # A member of a second team with its own list may work from either place.
    with ws.db.session_scope() as s:
        from truthset.workforce.service import add_member, get_user

        add_member(s, "night", get_user(s, "w01"), create_team_if_missing=True)
    put(at(INSIDE), setup, "/api/teams/night/source-ip", ["10.0.0.0/8"])
    assert at(INSIDE).get("/api/me/assignments", headers=worker(setup, "w01")).status_code == 200
    assert (
        at("192.0.2.8").get("/api/me/assignments", headers=worker(setup, "w01")).status_code == 200
    )
    detail = refused(at(OUTSIDE).get("/api/me/assignments", headers=worker(setup, "w01")))
    assert "your teams 'crew', 'night' do not include it" in detail
    # Someone in no restricted team is not held.
    with ws.db.session_scope() as s:
        from truthset.api.tokens import issue_token

        loner = bearer(issue_token(s, create_user(s, "loner")))
    assert at(OUTSIDE).get("/api/me/assignments", headers=loner).status_code == 200
    read = at(INSIDE).get("/api/workforce/source-ip", headers=admin(setup)).json()
    assert read == {
        "cidrs": [],
        "trusted_proxies": [],
        "teams": {"crew": ["192.0.2.0/24"], "night": ["10.0.0.0/8"]},
    }


def test_x_forwarded_for_is_believed_only_from_trusted_proxies(at, setup):
    proxy = at(PROXY)
    put(proxy, setup, "/api/workforce/source-ip", ["198.51.100.0/24"])
    forwarded = {**worker(setup), "X-Forwarded-For": "198.51.100.4"}
    # Off by default: the proxy's own address is the one checked.
    assert f"requests from {PROXY} " in refused(proxy.post("/api/jobs/job/next", headers=forwarded))
    put(proxy, setup, "/api/workforce/trusted-proxies", ["10.0.0.0/24"])
    assert proxy.post("/api/jobs/job/next", headers=forwarded).status_code == 200
    # A client that is not a trusted proxy cannot name itself into the list.
    detail = refused(at(OUTSIDE).post("/api/jobs/job/next", headers=forwarded))
    assert f"requests from {OUTSIDE} " in detail
    # Nor can one prepend an address in front of the proxy's entry.
    spoofed = {**worker(setup), "X-Forwarded-For": "198.51.100.4, 203.0.113.50"}
    assert "requests from 203.0.113.50 " in refused(
        proxy.post("/api/jobs/job/next", headers=spoofed)
    )
    # The audit log records where a refused write came from, and who.
    events = proxy.get("/api/audit", params={"outcome": "refused"}, headers=admin(setup)).json()
    assert [(e["actor"], e["address"], e["status"]) for e in events][:2] == [
        ("w00", "203.0.113.50", 403),
        ("w00", OUTSIDE, 403),
    ]


def test_another_app_process_applies_a_change_within_a_second(at, tmp_path, setup, ws):
    other_ws = make_workspace(tmp_path)  # the same data directory: another process's view
    try:
        with TestClient(create_app(other_ws, run_executor=False), client=(OUTSIDE, 1)) as other:
            assert other.get("/api/me/assignments", headers=worker(setup)).status_code == 200
            put(at(INSIDE), setup, "/api/workforce/source-ip", ["10.0.0.0/8"])
            start = time.monotonic()
            while other.get("/api/me/assignments", headers=worker(setup)).status_code == 200:
                assert time.monotonic() - start < 1.5, "the other process kept its old list"
                time.sleep(0.05)
    finally:
        other_ws.close()


@pytest.mark.parametrize(
    ("cidrs", "message"),
    [
        (["10.0.0.0/8", "10.0.0.0/33"], "cidrs[1] '10.0.0.0/33' is not a CIDR"),
        (["example.com"], "cidrs[0] 'example.com' is not a CIDR"),
    ],
)
def test_bad_cidrs_are_refused_by_place(at, setup, cidrs, message):
    r = at(INSIDE).put("/api/workforce/source-ip", json={"cidrs": cidrs}, headers=admin(setup))
    assert r.status_code == 400 and message in r.json()["detail"]
    assert at(INSIDE).get("/api/workforce/source-ip", headers=admin(setup)).json()["cidrs"] == []


def test_trusting_every_address_as_a_proxy_is_refused(at, setup):
    for everything in ("0.0.0.0/0", "::/0"):
        r = at(INSIDE).put(
            "/api/workforce/trusted-proxies", json={"cidrs": [everything]}, headers=admin(setup)
        )
        assert r.status_code == 400
        assert r.json()["detail"].startswith(
            f"trusted_proxies must name the proxies, not {everything}"
        )
    r = at(INSIDE).put(
        "/api/workforce/source-ip", json={"cidrs": ["1" * 5000]}, headers=admin(setup)
    )
    assert r.status_code == 400 and len(r.json()["detail"]) < 200


def test_cidrs_are_normalised_and_only_admins_set_them(at, setup):
    read = put(at(INSIDE), setup, "/api/workforce/source-ip", ["10.9.8.7/8", "2001:db8::1/32"])
    assert read["cidrs"] == ["10.0.0.0/8", "2001:db8::/32"]
    r = at(INSIDE).put("/api/workforce/source-ip", json={"cidrs": []}, headers=worker(setup))
    assert r.status_code == 403
    r = at(INSIDE).put("/api/teams/nope/source-ip", json={"cidrs": []}, headers=admin(setup))
    assert r.status_code == 404


def test_a_jobs_requests_are_held_by_the_teams_it_is_worked_through(at, ws, setup):
    """A person in two restricted teams works on each team's job from that team's place
    only; a job of a team without a list is not held by team lists at all."""
    from truthset.workforce.service import add_member, get_user

    with ws.db.session_scope() as s:
        add_member(s, "night", get_user(s, "w00"), create_team_if_missing=True)
        add_member(s, "open", get_user(s, "w00"), create_team_if_missing=True)
    setup.job("night-job", workers_per_item=1, teams=["night"])
    setup.job("open-job", workers_per_item=1, teams=["open"])
    put(at(INSIDE), setup, "/api/teams/crew/source-ip", ["192.0.2.0/24"])
    put(at(INSIDE), setup, "/api/teams/night/source-ip", ["10.0.0.0/8"])
    day, night = at("192.0.2.7"), at(INSIDE)
    assert day.post("/api/jobs/job/next", headers=worker(setup)).status_code == 200
    detail = refused(night.post("/api/jobs/job/next", headers=worker(setup)))
    assert detail == (
        f"requests from {INSIDE} are not allowed for job 'job': the allowed source IP ranges "
        "of your team 'crew' on it do not include it (ask an admin)"
    )
    assert night.post("/api/jobs/night-job/next", headers=worker(setup)).status_code == 200
    refused(day.post("/api/jobs/night-job/next", headers=worker(setup)))
    refused(day.get("/work/night-job", headers=worker(setup), follow_redirects=False))
    # The team 'open' has no list: its job is worked from anywhere the workforce allows.
    assert at(OUTSIDE).post("/api/jobs/open-job/next", headers=worker(setup)).status_code == 200
    # Requests about no job keep the person's rule: either restricted team's place.
    assert day.get("/api/me/assignments", headers=worker(setup)).status_code == 200
    assert night.get("/api/me/assignments", headers=worker(setup)).status_code == 200
