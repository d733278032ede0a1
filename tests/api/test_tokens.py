"""Token revocation and expiry: a password change ends the user's sessions, deactivation
ends sessions and API tokens, API tokens may expire and can be revoked one by one, and
another app process stops accepting a revoked token within the cache's 1 s."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import make_workspace
from support import bearer
from truthset.api.tokens import (
    authenticate_token,
    issue_token,
    revoke_api_token,
)
from truthset.cli.main import app as cli_app
from truthset.errors import BadInput, Conflict, NotFound, Unauthorized
from truthset.store.models import AuthToken
from truthset.workforce import service

NOW = 1_700_000_000.0


def test_a_password_change_ends_the_users_sessions_but_not_api_tokens(any_ws):
    with any_ws.db.session_scope() as s:
        ana = service.create_user(s, "ana", password="right-password")
        api = issue_token(s, ana)
        _, cookie = service.login(s, "ana", "right-password")
    with any_ws.db.session_scope() as s:
        service.set_password(s, service.get_user(s, "ana"), "another-password")
    with any_ws.db.session_scope(write=False) as s:
        with pytest.raises(Unauthorized, match="invalid or expired token"):
            authenticate_token(s, cookie)
        assert authenticate_token(s, api).name == "ana"


def test_deactivation_deletes_sessions_and_api_tokens(any_ws):
    with any_ws.db.session_scope() as s:
        ana = service.create_user(s, "ana", password="right-password")
        api = issue_token(s, ana)
        service.login(s, "ana", "right-password")
    with any_ws.db.session_scope() as s:
        service.update_user(s, service.get_user(s, "ana"), active=False)
    with any_ws.db.session_scope() as s:
        assert s.scalars(select(AuthToken)).all() == []
        service.update_user(s, service.get_user(s, "ana"), active=True)
    # Reactivating does not bring old tokens back.
    with (
        any_ws.db.session_scope(write=False) as s,
        pytest.raises(Unauthorized, match="invalid or expired token"),
    ):
        authenticate_token(s, api)


def test_an_api_token_may_expire(any_ws):
    with any_ws.db.session_scope() as s:
        ana = service.create_user(s, "ana")
        token = issue_token(s, ana, expires_in=3600, now=NOW)
        forever = issue_token(s, ana, now=NOW)
        with pytest.raises(BadInput, match="lifetime must be positive"):
            issue_token(s, ana, expires_in=0)
    with any_ws.db.session_scope(write=False) as s:
        assert authenticate_token(s, token, now=NOW + 3599).name == "ana"
        with pytest.raises(Unauthorized, match="invalid or expired token"):
            authenticate_token(s, token, now=NOW + 3601)
        assert authenticate_token(s, forever, now=NOW + 10 * 365 * 86400).name == "ana"


def test_one_api_token_is_revoked_by_its_name_or_its_first_characters(any_ws):
    with any_ws.db.session_scope() as s:
        ana = service.create_user(s, "ana")
        ci = issue_token(s, ana, name="ci")
        laptop = issue_token(s, ana, name="laptop")
        bare = issue_token(s, ana)
    with any_ws.db.session_scope() as s:
        ana = service.get_user(s, "ana")
        assert revoke_api_token(s, ana, "ci") == "token ci of ana"
        assert revoke_api_token(s, ana, bare[:9]) == f"token {bare[:11]} of ana"
        with pytest.raises(NotFound, match="no API token named or starting 'ci'"):
            revoke_api_token(s, ana, "ci")
        with pytest.raises(BadInput, match="too short"):
            revoke_api_token(s, ana, "ts_ab")
        with pytest.raises(Conflict, match="give a longer prefix"):
            # A second token of the same name: the name alone no longer tells which.
            s.add(
                AuthToken(
                    user_id=ana.id,
                    kind="api",
                    token_hash="x" * 64,
                    name="laptop",
                    prefix="ts_zzzzzzzz",
                    created_at=NOW,
                )
            )
            s.flush()
            revoke_api_token(s, ana, "laptop")
    with any_ws.db.session_scope(write=False) as s:
        with pytest.raises(Unauthorized):
            authenticate_token(s, ci)
        with pytest.raises(Unauthorized):
            authenticate_token(s, bare)
        assert authenticate_token(s, laptop).name == "ana"


def test_the_api_creates_an_expiring_token(client, ws):
    with ws.db.session_scope() as s:
        admin = service.create_user(s, "root", role="admin")
        service.create_user(s, "wen")
        auth = bearer(issue_token(s, admin))
    before = time.time()
    r = client.post("/api/users/wen/tokens", json={"name": "ci", "expires_days": 2}, headers=auth)
    assert r.status_code == 201, r.text
    with ws.db.session_scope(write=False) as s:
        row = s.scalars(select(AuthToken).where(AuthToken.name == "ci")).one()
        assert row.expires_at is not None
        assert before + 2 * 86400 - 1 < row.expires_at < time.time() + 2 * 86400 + 1
    r = client.post("/api/users/wen/tokens", json={"expires_days": 0}, headers=auth)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "expires_days"


def test_the_cli_issues_an_expiring_token_and_revokes_one(tmp_path):
    runner = CliRunner()
    data = str(tmp_path / "data")
    assert runner.invoke(cli_app, ["user", "add", "ann", "--data-dir", data]).exit_code == 0
    r = runner.invoke(
        cli_app, ["user", "token", "ann", "--name", "ci", "--expires-days", "1", "--data-dir", data]
    )
    assert r.exit_code == 0, r.output
    token = r.stdout.strip()
    ws = make_workspace(tmp_path)
    try:
        with ws.db.session_scope(write=False) as s:
            row = s.scalars(select(AuthToken)).one()
            assert row.expires_at is not None and row.expires_at - row.created_at == 86400
            assert authenticate_token(s, token).name == "ann"
        r = runner.invoke(
            cli_app, ["user", "token", "ann", "--revoke", token[:12], "--data-dir", data]
        )
        assert r.exit_code == 0, r.output
        assert r.stdout.strip() == "revoked token ci of ann"
        r = runner.invoke(cli_app, ["user", "token", "ann", "--revoke", "ci", "--data-dir", data])
        assert r.exit_code == 2 and "no API token named or starting 'ci'" in r.output
        with ws.db.session_scope(write=False) as s:
            assert s.scalars(select(AuthToken)).all() == []
    finally:
        ws.close()


@pytest.mark.parametrize("change", ["deactivate", "revoke", "password"])
def test_another_app_process_stops_accepting_a_revoked_token_within_a_second(
    client, ws, tmp_path, change
):
    """The change is made through a second workspace over the same database (its own
    engine, as another process has) and without touching this process's token cache, so
    only the cache's re-check can notice it."""
    with ws.db.session_scope() as s:
        ana = service.create_user(s, "ana", password="right-password")
        api = issue_token(s, ana, name="ci")
    if change == "password":
        r = client.post("/api/auth/login", json={"name": "ana", "password": "right-password"})
        assert r.status_code == 200
        token = client.cookies["truthset_session"]
    else:
        token = api
    assert client.get("/api/me", headers=bearer(token)).status_code == 200  # now cached
    other = make_workspace(tmp_path)
    try:
        with other.db.session_scope() as s:
            user = service.get_user(s, "ana")
            if change == "deactivate":
                service.update_user(s, user, active=False)
            elif change == "revoke":
                revoke_api_token(s, user, "ci")
            else:
                service.set_password(s, user, "another-password")
        changed = time.monotonic()
        while client.get("/api/me", headers=bearer(token)).status_code == 200:
            assert time.monotonic() - changed < 1.5, "still accepted after 1.5 s"
            time.sleep(0.02)
        took = time.monotonic() - changed
        print(f"{change}: refused after {took:.3f} s")
        assert took <= 1.1
        r = client.get("/api/me", headers=bearer(token))
        assert r.status_code == 401 and set(r.json()) == {"error", "detail"}
    finally:
        other.close()
