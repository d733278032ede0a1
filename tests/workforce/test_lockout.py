"""The sign-in lockout: ten failures for one name within 15 minutes lock it for 15 minutes,
counted in the database (every app process sees them), cleared by a success."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import func, select

from truthset.errors import Unauthorized
from truthset.server.app import create_app
from truthset.store.models import LoginFailure
from truthset.workforce import lockout, service
from truthset.workforce.lockout import LockedOut

NOW = 1_700_000_000.0


def _fail(ws, name: str, now: float, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(Unauthorized), ws.db.session_scope() as s:
            service.login(s, name, "wrong-password", now=now)


def _commit_failures(ws, name: str, now: float, times: int) -> None:
    # As the route does: the failure is committed although login raised.
    for _ in range(times):
        with ws.db.session_scope() as s, contextlib.suppress(Unauthorized):
            service.login(s, name, "wrong-password", now=now)


def test_ten_failures_lock_the_name_and_a_success_before_resets_the_count(any_ws):
    with any_ws.db.session_scope() as s:
        service.create_user(s, "ana", password="right-password")
    _commit_failures(any_ws, "ana", NOW, 9)
    with any_ws.db.session_scope() as s:
        assert service.login(s, "ana", "right-password", now=NOW + 1)[0].name == "ana"
    with any_ws.db.session_scope(write=False) as s:
        assert s.scalar(select(func.count()).select_from(LoginFailure)) == 0
    _commit_failures(any_ws, "ana", NOW + 2, 10)
    with any_ws.db.session_scope() as s, pytest.raises(LockedOut) as info:
        # Even the right password is refused while the name is locked.
        service.login(s, "ana", "right-password", now=NOW + 60)
    assert info.value.status_code == 429
    assert "locked until" in info.value.detail and "'ana'" in info.value.detail
    assert "842 s from now" in info.value.detail  # 15 min after the tenth failure at NOW+2
    with any_ws.db.session_scope() as s:
        after = NOW + 2 + lockout.LOCK_SECONDS + 1
        assert service.login(s, "ana", "right-password", now=after)[0].name == "ana"


def test_failures_older_than_the_window_do_not_count(any_ws):
    with any_ws.db.session_scope() as s:
        service.create_user(s, "ana", password="right-password")
    _commit_failures(any_ws, "ana", NOW, 9)
    _commit_failures(any_ws, "ana", NOW + lockout.WINDOW + 1, 9)
    with any_ws.db.session_scope() as s:
        login_at = NOW + lockout.WINDOW + 2
        assert service.login(s, "ana", "right-password", now=login_at)[0].name == "ana"


def test_an_unknown_name_is_counted_and_locked_like_a_known_one(any_ws):
    # Otherwise the lockout would tell which names exist.
    _commit_failures(any_ws, "ghost", NOW, 10)
    with any_ws.db.session_scope() as s, pytest.raises(LockedOut):
        service.login(s, "ghost", "anything", now=NOW + 1)


def test_a_failure_inside_a_rolled_back_session_is_not_counted(ws):
    # The count lives in the caller's transaction: the route commits it (next test).
    _fail(ws, "ana", NOW, 3)
    with ws.db.session_scope(write=False) as s:
        assert s.scalar(select(func.count()).select_from(LoginFailure)) == 0


def test_the_route_locks_out_across_two_app_processes(ws, tmp_path):
    """Two apps over one database (two workspaces: two engines, as two processes have):
    failures through either count towards one lockout."""
    from fastapi.testclient import TestClient

    from conftest import make_workspace

    with ws.db.session_scope() as s:
        service.create_user(s, "wen", password="worker-pass")
    other_ws = make_workspace(tmp_path)
    try:
        with TestClient(create_app(ws)) as one, TestClient(create_app(other_ws)) as two:
            for i in range(10):
                r = (one, two)[i % 2].post(
                    "/api/auth/login", json={"name": "wen", "password": "nope-nope"}
                )
                assert r.status_code == 401, r.text
            for client in (one, two):
                r = client.post("/api/auth/login", json={"name": "wen", "password": "worker-pass"})
                assert r.status_code == 429, r.text
                body = r.json()
                assert set(body) == {"error", "detail"}
                assert body["error"] == "too_many_requests"
                assert "locked until" in body["detail"]
    finally:
        other_ws.close()
