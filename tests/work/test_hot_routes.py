"""The hot next/submit path answers exactly as the FastAPI routes it stands in front of."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import make_workspace
from support import Setup, bearer
from truthset.api.deps import forget_all_tokens
from truthset.server.app import create_app
from truthset.work.hot_routes import HotWorkRoutes
from truthset.workforce.service import get_user, set_password

_TIMES = ("deadline", "leased_at", "submitted_at")


def _script(client: TestClient, setup: Setup) -> list[tuple[int, Any]]:
    w0, w1 = (bearer(setup.worker_tokens[w]) for w in setup.worker_names[:2])
    seen: list[tuple[int, Any]] = []

    def record(r: Any) -> Any:
        body = r.json() if r.content else None
        if isinstance(body, dict):
            body = {k: ("<time>" if k in _TIMES else v) for k, v in body.items()}
        seen.append((r.status_code, body))
        return body

    record(client.post("/api/jobs/ours/next"))  # no credentials
    record(client.post("/api/jobs/ours/next", headers={"Authorization": "Bearer nope"}))
    record(client.post("/api/jobs/missing/next", headers=w0))
    task = record(client.post("/api/jobs/ours/next", headers=w0))
    aid = task["assignment_id"]
    submit = f"/api/assignments/{aid}/submit"
    record(client.post(submit, headers=w0, json={"answer": {"label": "pos"}, "extra": 1}))
    record(client.post(submit, headers=w0, json={"answer": {"label": "pos"}, "client_key": 5}))
    record(client.post(submit, headers=w0, json={"answer": {"label": "pos"}, "time_spent": -1}))
    bad_json = {**w0, "content-type": "application/json"}
    record(client.post(submit, headers=bad_json, content=b"{not json"))
    record(client.post(submit, headers=w0, json={"answer": {"label": "maybe"}}))
    record(client.post(submit, headers=w1, json={"answer": {"label": "pos"}}))  # not theirs
    record(client.post(submit, headers=w0, json={"answer": {"label": "pos"}, "client_key": "k"}))
    record(client.post(submit, headers=w0, json={"answer": {"label": "pos"}, "client_key": "k"}))
    record(client.post("/api/assignments/999999/submit", headers=w0, json={"answer": {}}))
    record(client.post("/api/jobs/ours/next", headers=w0))  # the only item is answered
    # A browser session: writes need the CSRF header.
    record(client.post("/api/auth/login", json={"name": "w01", "password": "secret-pass"}))
    record(client.post("/api/jobs/ours/next"))
    record(client.post("/api/jobs/ours/next", headers={"X-Truthset-CSRF": "1"}))
    # A lease ahead of the one w01 holds: nothing new is left, and never the one held.
    record(client.post("/api/jobs/ours/next?ahead=true", headers={"X-Truthset-CSRF": "1"}))
    # Not a boolean: the hot path leaves it to FastAPI's 422.
    record(client.post("/api/jobs/ours/next?ahead=maybe", headers={"X-Truthset-CSRF": "1"}))
    return seen


def _run(tmp_path: Path, *, hot: bool) -> tuple[list[tuple[int, Any]], int]:
    ws = make_workspace(tmp_path)
    try:
        setup = Setup(ws, n_items=1, n_workers=2)
        setup.job("ours", workers_per_item=2)
        with ws.db.session_scope() as s:
            set_password(s, get_user(s, "w01"), "secret-pass")
        forget_all_tokens()
        app = create_app(ws)
        if not hot:
            app.user_middleware = [m for m in app.user_middleware if m.cls is not HotWorkRoutes]
        served = 0
        original = HotWorkRoutes._respond

        async def counting(self: HotWorkRoutes, send: Any, work: Any) -> None:
            nonlocal served
            served += 1
            await original(self, send, work)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(HotWorkRoutes, "_respond", counting)
            with TestClient(app) as client:
                return _script(client, setup), served
    finally:
        ws.close()


def test_hot_path_answers_as_the_fastapi_routes(tmp_path: Path) -> None:
    fast, fast_served = _run(tmp_path / "hot", hot=True)
    slow, slow_served = _run(tmp_path / "plain", hot=False)
    assert slow_served == 0 and fast_served == 17
    expected = "401 401 404 200 422 422 422 422 400 404 200 200 404 204 200 403 200 204 422"
    assert [s for s, _ in fast] == [int(x) for x in expected.split()]
    for (fs, fb), (ss, sb) in zip(fast, slow, strict=True):
        assert fs == ss
        if fs == 422:
            assert fb["error"] == sb["error"] == "validation_error"
            if "JSON" in sb["detail"][0]["message"]:
                # FastAPI names the byte offset as the field; the hot path names none.
                assert "JSON" in fb["detail"][0]["message"] or "json" in fb["detail"][0]["message"]
            else:
                assert fb["detail"] == sb["detail"]
        else:
            assert fb == sb
    assert fast[10][1]["replayed"] is False and fast[11][1]["replayed"] is True
