"""Drafts of a live lease (work/drafts.py): saved and read by the lease holder only,
handed back in the `next` body when the worker gets that lease again, size-limited, and
gone with the lease (migration 0013's trigger) on submit, release, decline and expiry.
On SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from support import Setup, bearer
from truthset.api.deps import forget_all_tokens
from truthset.errors import Conflict, Gone, NotFound
from truthset.server.app import create_app
from truthset.work import drafts
from truthset.work.answers import submit_answer
from truthset.work.leases import decline, expire_leases, lease_next_task, release

T0 = 1_800_000_000.0
DRAFT = {"tracks": [{"object-id": "a", "keyframes": [{"frame": 0}]}], "frame": 12}


def _lease(ws: Any, setup: Setup, worker: str, now: float = T0) -> Any:
    with ws.db.session_scope() as s:
        job, user = setup.load(s, "job", worker)
        return lease_next_task(s, job, user, now=now)


def _save(ws: Any, setup: Setup, worker: str, aid: int, content: Any, now: float) -> Any:
    with ws.db.session_scope() as s:
        _, user = setup.load(s, "job", worker)
        return drafts.save_draft(s, aid, user, content, now=now)


def _stored(ws: Any) -> list[tuple[Any, ...]]:
    with ws.db.session_scope(write=False) as s:
        rows = s.execute(text("SELECT assignment_id, content FROM assignment_drafts"))
        return [tuple(r) for r in rows]


@pytest.mark.parametrize("ending", ["submit", "release", "decline", "expiry"])
def test_a_draft_ends_with_its_lease(any_ws: Any, ending: str) -> None:
    setup = Setup(any_ws, n_items=2, n_workers=1)
    setup.job(workers_per_item=1, task_time_limit=60)
    t = _lease(any_ws, setup, "w00")
    other = _lease(any_ws, setup, "w00")  # the held lease again: one live lease
    assert other.assignment_id == t.assignment_id
    saved = _save(any_ws, setup, "w00", t.assignment_id, DRAFT, now=T0 + 5)
    assert saved["saved_at"] == T0 + 5 and saved["bytes"] > 10
    assert [a for a, _ in _stored(any_ws)] == [t.assignment_id]
    with any_ws.db.session_scope(write=False) as s:
        marked = s.execute(text("SELECT has_draft, last_seen_at FROM assignments")).one()
    assert tuple(marked) == (True, T0 + 5)  # the trigger's mark, and a heartbeat
    with any_ws.db.session_scope() as s:
        job, user = setup.load(s, "job", "w00")
        if ending == "submit":
            submit_answer(s, t.assignment_id, user, {"label": "pos"}, now=T0 + 6)
        elif ending == "release":
            release(s, t.assignment_id, user, now=T0 + 6)
        elif ending == "decline":
            decline(s, t.assignment_id, user, now=T0 + 6)
        else:
            assert expire_leases(s, job.id, now=T0 + 61) == 1
    assert _stored(any_ws) == []
    with any_ws.db.session_scope() as s:
        _, user = setup.load(s, "job", "w00")
        with pytest.raises(Conflict, match="already"):
            drafts.save_draft(s, t.assignment_id, user, DRAFT, now=T0 + 62)


def test_only_the_lease_holder_saves_and_reads_and_not_after_the_deadline(any_ws: Any) -> None:
    setup = Setup(any_ws, n_items=1, n_workers=2)
    setup.job(workers_per_item=2, task_time_limit=60)
    t = _lease(any_ws, setup, "w00")
    with pytest.raises(NotFound, match=f"assignment {t.assignment_id} not found"):
        _save(any_ws, setup, "w01", t.assignment_id, DRAFT, now=T0 + 1)
    with pytest.raises(NotFound):
        _save(any_ws, setup, "w00", 987654, DRAFT, now=T0 + 1)
    _save(any_ws, setup, "w00", t.assignment_id, DRAFT, now=T0 + 1)
    with any_ws.db.session_scope(write=False) as s:
        _, w0 = setup.load(s, "job", "w00")
        _, w1 = setup.load(s, "job", "w01")
        with pytest.raises(NotFound):
            drafts.get_draft(s, t.assignment_id, w1, now=T0 + 2)
        got = drafts.get_draft(s, t.assignment_id, w0, now=T0 + 2)
        assert got == {"assignment_id": t.assignment_id, "content": DRAFT, "saved_at": T0 + 1}
        # Past the deadline but not yet swept: the lease is over for its holder too.
        with pytest.raises(Gone, match="expired"):
            drafts.get_draft(s, t.assignment_id, w0, now=T0 + 61)
    with pytest.raises(Gone, match="expired"):
        _save(any_ws, setup, "w00", t.assignment_id, {"later": 1}, now=T0 + 61)
    assert [c for _, c in _stored(any_ws)] == [
        '{"tracks":[{"object-id":"a","keyframes":[{"frame":0}]}],"frame":12}'
    ]


def test_a_draft_over_the_limit_is_refused_and_the_last_one_kept(any_ws: Any) -> None:
    setup = Setup(any_ws, n_items=1, n_workers=1)
    setup.job(workers_per_item=1)
    t = _lease(any_ws, setup, "w00")
    _save(any_ws, setup, "w00", t.assignment_id, DRAFT, now=T0 + 1)
    huge = {"blob": "x" * drafts.DRAFT_MAX_BYTES}
    with pytest.raises(drafts.DraftTooLarge, match=r"content: the draft is 8,000,011 bytes"):
        _save(any_ws, setup, "w00", t.assignment_id, huge, now=T0 + 2)
    assert len(_stored(any_ws)) == 1 and '"frame":12' in _stored(any_ws)[0][1]


# -- through the API -------------------------------------------------------------------------


@pytest.fixture
def api(any_ws: Any) -> Iterator[tuple[TestClient, Setup]]:
    setup = Setup(any_ws, n_items=2, n_workers=2)
    setup.job(workers_per_item=1)
    forget_all_tokens()
    with TestClient(create_app(any_ws)) as client:
        yield client, setup


def test_the_next_body_hands_the_draft_back_with_the_lease(api: Any) -> None:
    client, setup = api
    w0 = bearer(setup.worker_tokens["w00"])
    first = client.post("/api/jobs/job/next", headers=w0).json()
    assert first["draft"] is None
    aid = first["assignment_id"]
    saved = client.put(f"/api/assignments/{aid}/draft", headers=w0, json={"content": DRAFT})
    assert saved.status_code == 200, saved.text
    assert saved.json()["assignment_id"] == aid and saved.json()["saved_at"] <= time.time()
    again = client.post("/api/jobs/job/next", headers=w0).json()  # stopped, resumed later
    assert again["assignment_id"] == aid
    assert again["draft"] == {"content": DRAFT, "saved_at": saved.json()["saved_at"]}
    newer = {**DRAFT, "frame": 40}
    client.put(f"/api/assignments/{aid}/draft", headers=w0, json={"content": newer})
    got = client.get(f"/api/assignments/{aid}/draft", headers=w0)
    assert got.status_code == 200 and got.json()["content"] == newer
    assert client.delete(f"/api/assignments/{aid}/draft", headers=w0).status_code == 204
    missing = client.get(f"/api/assignments/{aid}/draft", headers=w0)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert client.post("/api/jobs/job/next", headers=w0).json()["draft"] is None
    # Submitted: the draft and the route are done with.
    client.put(f"/api/assignments/{aid}/draft", headers=w0, json={"content": DRAFT})
    done = client.post(
        f"/api/assignments/{aid}/submit", headers=w0, json={"answer": {"label": "pos"}}
    )
    assert done.status_code == 200, done.text
    late = client.put(f"/api/assignments/{aid}/draft", headers=w0, json={"content": DRAFT})
    assert late.status_code == 409 and "already submitted" in late.json()["detail"]
    assert client.post("/api/jobs/job/next", headers=w0).json()["draft"] is None


def test_the_api_refuses_other_workers_and_bad_bodies(api: Any) -> None:
    client, setup = api
    w0, w1 = (bearer(setup.worker_tokens[w]) for w in ("w00", "w01"))
    aid = client.post("/api/jobs/job/next", headers=w0).json()["assignment_id"]
    url = f"/api/assignments/{aid}/draft"
    assert client.put(url, json={"content": DRAFT}).status_code == 401
    theirs = client.put(url, headers=w1, json={"content": DRAFT})
    assert theirs.status_code == 404 and theirs.json()["error"] == "not_found"
    assert client.get(url, headers=w1).status_code == 404
    assert client.delete(url, headers=w1).status_code == 404
    for body in ({"content": [1, 2]}, {"content": None}, {}, {"content": {}, "more": 1}):
        bad = client.put(url, headers=w0, json=body)
        assert bad.status_code == 422, body
        assert bad.json()["error"] == "validation_error"
    big = client.put(url, headers=w0, json={"content": {"x": "y" * drafts.DRAFT_MAX_BYTES}})
    assert big.status_code == 413 and big.json()["error"] == "too_large"
    assert "content: the draft is" in big.json()["detail"]
    assert client.get(url, headers=w0).status_code == 404  # nothing half-written


def test_the_trigger_passes_over_assignments_that_never_saved_a_draft(any_ws: Any) -> None:
    """Only an assignment marked by a save runs the trigger's delete: a row put there
    behind the service's back (no mark) outlives the submit."""
    setup = Setup(any_ws, n_items=1, n_workers=1)
    setup.job(workers_per_item=1)
    t = _lease(any_ws, setup, "w00")
    with any_ws.db.session_scope() as s:
        s.execute(
            text("INSERT INTO assignment_drafts VALUES (:a, '{}', 1)"), {"a": t.assignment_id}
        )
        _, user = setup.load(s, "job", "w00")
        submit_answer(s, t.assignment_id, user, {"label": "pos"}, now=T0 + 1)
    assert [a for a, _ in _stored(any_ws)] == [t.assignment_id]
