"""API tokens listed and revoked one by one through the HTTP API (the console's people
page), and who may."""

from __future__ import annotations

import pytest

from support import bearer


@pytest.fixture
def ws(any_ws):
    """Every test on SQLite and on PostgreSQL (the app's client fixture takes `ws`)."""
    return any_ws


@pytest.fixture
def setup(ws, setup_factory):
    made = setup_factory(ws, n_items=1, n_workers=2)
    made.a = bearer(made.admin_token)
    return made


def test_a_token_is_listed_without_its_secret_and_revoked_by_id(client, setup):
    r = client.post("/api/users/w00/tokens", json={"name": "laptop"}, headers=setup.a)
    assert r.status_code == 201, r.text
    secret = r.json()["token"]
    listed = client.get("/api/users/w00/tokens", headers=setup.a).json()
    laptop = [t for t in listed if t["name"] == "laptop"]
    assert len(laptop) == 1 and secret.startswith(laptop[0]["prefix"])
    assert secret not in str(listed)
    assert client.get("/api/me", headers=bearer(secret)).json()["name"] == "w00"
    r = client.delete(f"/api/users/w00/tokens/{laptop[0]['id']}", headers=setup.a)
    assert r.status_code == 204
    assert client.get("/api/me", headers=bearer(secret)).status_code == 401
    assert "laptop" not in [
        t["name"] for t in client.get("/api/users/w00/tokens", headers=setup.a).json()
    ]
    r = client.delete(f"/api/users/w00/tokens/{laptop[0]['id']}", headers=setup.a)
    assert r.status_code == 404
    assert r.json()["detail"] == f"user 'w00' has no API token {laptop[0]['id']}"


def test_a_worker_sees_only_their_own_tokens(client, setup):
    own = bearer(setup.worker_tokens["w00"])
    assert client.get("/api/users/w00/tokens", headers=own).status_code == 200
    r = client.get("/api/users/w01/tokens", headers=own)
    assert r.status_code == 403
    assert r.json()["detail"] == "only an admin can see or revoke another user's tokens"
    other = client.get("/api/users/w01/tokens", headers=setup.a).json()
    r = client.delete(f"/api/users/w01/tokens/{other[0]['id']}", headers=own)
    assert r.status_code == 403
    # Another user's token id named under one's own name is not found, not revoked.
    r = client.delete(f"/api/users/w00/tokens/{other[0]['id']}", headers=own)
    assert r.status_code == 404
    assert client.get("/api/me", headers=bearer(setup.worker_tokens["w01"])).status_code == 200
