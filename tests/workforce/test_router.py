"""The workforce routes through the app's HTTP API: sign-in and sign-out, accounts, tokens,
teams and members, and who may do what."""

from __future__ import annotations

import pytest

from support import bearer
from truthset.api.deps import CSRF_HEADER, SESSION_COOKIE
from truthset.api.tokens import issue_token
from truthset.workforce import service


@pytest.fixture
def people(ws):
    """An admin, a requester and a worker (in team "crew", password "worker-pass"), with
    an API token each."""
    with ws.db.session_scope() as s:
        admin = service.create_user(s, "root", role="admin")
        requester = service.create_user(s, "req", role="requester")
        worker = service.create_user(s, "wen", password="worker-pass", teams=["crew"])
        return {
            "admin": bearer(issue_token(s, admin)),
            "requester": bearer(issue_token(s, requester)),
            "worker": bearer(issue_token(s, worker)),
        }


def error(response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and body["error"] == kind, body
    return body["detail"]


# Signing in and out


def test_login_sets_a_session_cookie_and_answers_who_signed_in(client, people):
    r = client.post("/api/auth/login", json={"name": "wen", "password": "worker-pass"})
    assert r.status_code == 200
    assert r.json() == {
        "id": r.json()["id"],
        "name": "wen",
        "role": "worker",
        "active": True,
        "teams": ["crew"],
    }
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=ts_")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    me = client.get("/api/me")
    assert me.status_code == 200 and me.json()["name"] == "wen"


@pytest.mark.parametrize(
    ("name", "password"), [("wen", "not-the-password"), ("nobody", "worker-pass")]
)
def test_a_wrong_password_or_name_is_refused_with_401(client, people, name, password):
    r = client.post("/api/auth/login", json={"name": name, "password": password})
    assert error(r, 401, "unauthorized") == "wrong user name or password"
    assert SESSION_COOKIE not in r.cookies
    assert error(client.get("/api/me"), 401, "unauthorized").startswith("sign in")


def test_a_login_payload_with_extra_fields_is_a_validation_error(client, people):
    r = client.post("/api/auth/login", json={"name": "wen", "password": "x", "role": "admin"})
    detail = error(r, 422, "validation_error")
    assert [p["field"] for p in detail] == ["role"]


def test_logout_revokes_the_session_token(client, people):
    client.post("/api/auth/login", json={"name": "wen", "password": "worker-pass"})
    token = client.cookies[SESSION_COOKIE]
    assert client.get("/api/me", headers=bearer(token)).json()["name"] == "wen"
    r = client.post("/api/auth/logout", headers={CSRF_HEADER: "1"})
    assert r.status_code == 204
    assert SESSION_COOKIE not in client.cookies
    # The token itself is dead, not just the cookie gone.
    r = client.get("/api/me", headers=bearer(token))
    assert error(r, 401, "unauthorized") == "invalid or expired token"
    # The worker's API token is another credential and goes on working.
    assert client.get("/api/me", headers=people["worker"]).status_code == 200


def test_logout_by_cookie_without_the_csrf_header_is_refused_and_signs_nobody_out(client, people):
    client.post("/api/auth/login", json={"name": "wen", "password": "worker-pass"})
    token = client.cookies[SESSION_COOKIE]
    # What another site's form can send: the cookie, no custom header.
    r = client.post("/api/auth/logout")
    assert error(r, 403, "forbidden") == (
        f"requests signed in by cookie must send the header {CSRF_HEADER}: 1"
    )
    assert client.cookies[SESSION_COOKIE] == token
    assert client.get("/api/me", headers=bearer(token)).json()["name"] == "wen"
    # Without a session there is nothing to protect: the no-op answers 204.
    client.cookies.clear()
    assert client.post("/api/auth/logout").status_code == 204


def test_a_disabled_account_cannot_sign_in_and_its_token_stops_at_once(client, people):
    assert client.get("/api/me", headers=people["worker"]).status_code == 200  # now cached
    r = client.patch("/api/users/wen", json={"active": False}, headers=people["admin"])
    assert r.status_code == 200 and r.json()["active"] is False
    r = client.get("/api/me", headers=people["worker"])
    # Deactivation deleted the account's tokens and sessions.
    assert error(r, 401, "unauthorized") == "invalid or expired token"
    r = client.post("/api/auth/login", json={"name": "wen", "password": "worker-pass"})
    assert error(r, 401, "unauthorized") == "wrong user name or password"
    client.patch("/api/users/wen", json={"active": True}, headers=people["admin"])
    # Reactivating lets the user sign in again, but the old token stays dead.
    assert client.get("/api/me", headers=people["worker"]).status_code == 401
    r = client.post("/api/auth/login", json={"name": "wen", "password": "worker-pass"})
    assert r.status_code == 200


def test_a_new_role_counts_from_the_next_request(client, people):
    assert client.get("/api/users", headers=people["worker"]).status_code == 403
    r = client.patch("/api/users/wen", json={"role": "requester"}, headers=people["admin"])
    assert r.status_code == 200 and r.json()["role"] == "requester"
    assert client.get("/api/users", headers=people["worker"]).status_code == 200


# Accounts


def test_an_admin_creates_a_user_who_can_then_sign_in(client, people):
    r = client.post(
        "/api/users",
        json={"name": "newbie", "role": "reviewer", "password": "newbie-pass", "teams": ["b"]},
        headers=people["admin"],
    )
    assert r.status_code == 201
    created = r.json()
    assert {k: created[k] for k in ("name", "role", "active", "teams")} == {
        "name": "newbie",
        "role": "reviewer",
        "active": True,
        "teams": ["b"],
    }
    assert client.get("/api/users/newbie", headers=people["admin"]).json() == created
    names = [u["name"] for u in client.get("/api/users", headers=people["requester"]).json()]
    assert names == ["root", "req", "wen", "newbie"]
    r = client.post("/api/auth/login", json={"name": "newbie", "password": "newbie-pass"})
    assert r.status_code == 200 and r.json()["role"] == "reviewer"


def test_a_duplicate_user_is_a_409(client, people):
    r = client.post("/api/users", json={"name": "wen"}, headers=people["admin"])
    assert error(r, 409, "conflict") == "a user named 'wen' already exists"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": "two words"}, "user name 'two words' must be"),
        ({"name": "x", "role": "overlord"}, "role 'overlord' is not one of"),
        ({"name": "x", "password": "short"}, "at least 8 characters"),
    ],
)
def test_a_bad_user_is_a_400(client, people, body, words):
    r = client.post("/api/users", json=body, headers=people["admin"])
    assert words in error(r, 400, "bad_input")
    names = [u["name"] for u in client.get("/api/users", headers=people["admin"]).json()]
    assert names == ["root", "req", "wen"]


@pytest.mark.parametrize("who", ["worker", "requester"])
def test_only_an_admin_creates_or_changes_users(client, people, who):
    r = client.post("/api/users", json={"name": "sneaky"}, headers=people[who])
    assert error(r, 403, "forbidden") == "this needs the admin role"
    r = client.patch("/api/users/wen", json={"role": "admin"}, headers=people[who])
    assert error(r, 403, "forbidden") == "this needs the admin role"
    assert client.get("/api/users/wen", headers=people["admin"]).json()["role"] == "worker"
    assert error(client.get("/api/users/sneaky", headers=people["admin"]), 404, "not_found")


def test_a_worker_cannot_list_or_read_accounts(client, people):
    for path in ("/api/users", "/api/users/root", "/api/teams", "/api/users/root/activity"):
        r = client.get(path, headers=people["worker"])
        assert error(r, 403, "forbidden") == "this needs the admin or requester role", path


def test_an_unknown_user_is_a_404(client, people):
    a = people["admin"]
    assert error(client.get("/api/users/ghost", headers=a), 404, "not_found") == (
        "user 'ghost' not found"
    )
    r = client.patch("/api/users/ghost", json={"active": False}, headers=a)
    assert error(r, 404, "not_found") == "user 'ghost' not found"
    r = client.post("/api/users/ghost/tokens", json={}, headers=a)
    assert error(r, 404, "not_found") == "user 'ghost' not found"


def test_a_bad_role_or_password_change_changes_nothing(client, people):
    a = people["admin"]
    r = client.patch("/api/users/wen", json={"role": "overlord", "active": False}, headers=a)
    assert "role 'overlord' is not one of" in error(r, 400, "bad_input")
    r = client.patch("/api/users/wen", json={"role": "reviewer", "password": "short"}, headers=a)
    assert "at least 8 characters" in error(r, 400, "bad_input")
    wen = client.get("/api/users/wen", headers=a).json()
    assert (wen["role"], wen["active"]) == ("worker", True)
    r = client.post("/api/auth/login", json={"name": "wen", "password": "worker-pass"})
    assert r.status_code == 200


def test_a_password_change_takes_effect(client, people):
    r = client.patch("/api/users/wen", json={"password": "brand-new-pass"}, headers=people["admin"])
    assert r.status_code == 200
    old = client.post("/api/auth/login", json={"name": "wen", "password": "worker-pass"})
    assert error(old, 401, "unauthorized") == "wrong user name or password"
    new = client.post("/api/auth/login", json={"name": "wen", "password": "brand-new-pass"})
    assert new.status_code == 200


# Tokens


def test_a_user_creates_a_token_for_themselves_only(client, people):
    r = client.post("/api/users/wen/tokens", json={"name": "cli"}, headers=people["worker"])
    assert r.status_code == 201 and r.json()["user"] == "wen"
    token = r.json()["token"]
    assert token.startswith("ts_")
    assert client.get("/api/me", headers=bearer(token)).json()["name"] == "wen"
    r = client.post("/api/users/root/tokens", json={}, headers=people["worker"])
    assert error(r, 403, "forbidden") == "only an admin can create tokens for another user"
    r = client.post("/api/users/wen/tokens", json={}, headers=people["requester"])
    assert error(r, 403, "forbidden") == "only an admin can create tokens for another user"


def test_an_admin_creates_a_token_for_anyone(client, people):
    r = client.post("/api/users/req/tokens", json={}, headers=people["admin"])
    assert r.status_code == 201 and r.json()["user"] == "req"
    me = client.get("/api/me", headers=bearer(r.json()["token"])).json()
    assert (me["name"], me["role"]) == ("req", "requester")


def test_a_made_up_token_is_refused(client, people):
    r = client.get("/api/me", headers=bearer("ts_made-up"))
    assert error(r, 401, "unauthorized") == "invalid or expired token"


# Teams


def test_teams_and_their_members(client, people):
    a = people["admin"]
    r = client.post("/api/teams", json={"name": "night"}, headers=a)
    assert r.status_code == 201 and r.json() == {"name": "night", "members": []}
    for user in ("wen", "req"):
        r = client.post("/api/teams/night/members", json={"user": user}, headers=a)
        assert r.status_code == 201 and r.json() == {"team": "night", "user": user}
    assert client.get("/api/teams", headers=people["requester"]).json() == [
        {"name": "crew", "members": ["wen"]},
        {"name": "night", "members": ["req", "wen"]},
    ]
    assert client.get("/api/users/wen", headers=a).json()["teams"] == ["crew", "night"]
    r = client.delete("/api/teams/night/members/wen", headers=a)
    assert r.status_code == 204
    assert client.get("/api/teams", headers=a).json()[1] == {"name": "night", "members": ["req"]}
    assert client.get("/api/me", headers=people["worker"]).json()["teams"] == ["crew"]


def test_a_duplicate_or_badly_named_team_is_refused(client, people):
    a = people["admin"]
    r = client.post("/api/teams", json={"name": "crew"}, headers=a)
    assert error(r, 409, "conflict") == "a team named 'crew' already exists"
    r = client.post("/api/teams", json={"name": "no spaces"}, headers=a)
    assert "team name 'no spaces' must be" in error(r, 400, "bad_input")


def test_an_unknown_team_or_member_is_a_404(client, people):
    a = people["admin"]
    r = client.post("/api/teams/nope/members", json={"user": "wen"}, headers=a)
    assert error(r, 404, "not_found") == "team 'nope' not found"
    r = client.delete("/api/teams/nope/members/wen", headers=a)
    assert error(r, 404, "not_found") == "team 'nope' not found"
    r = client.post("/api/teams/crew/members", json={"user": "ghost"}, headers=a)
    assert error(r, 404, "not_found") == "user 'ghost' not found"
    assert [t["name"] for t in client.get("/api/teams", headers=a).json()] == ["crew"]


def test_only_an_admin_manages_teams(client, people):
    r = client.post("/api/teams", json={"name": "mine"}, headers=people["requester"])
    assert error(r, 403, "forbidden") == "this needs the admin role"
    r = client.post("/api/teams/crew/members", json={"user": "req"}, headers=people["worker"])
    assert error(r, 403, "forbidden") == "this needs the admin role"
    r = client.delete("/api/teams/crew/members/wen", headers=people["worker"])
    assert error(r, 403, "forbidden") == "this needs the admin role"
    assert client.get("/api/teams", headers=people["admin"]).json() == [
        {"name": "crew", "members": ["wen"]}
    ]
