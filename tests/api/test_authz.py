"""What a worker may see and do through the API, and the shape of every error."""

from __future__ import annotations

from support import bearer
from truthset.api.tokens import issue_token
from truthset.workforce.service import create_user


def make(ws, setup_factory):
    setup = setup_factory(ws, n_items=3, n_workers=2)
    setup.job("ours", workers_per_item=1)
    with ws.db.session_scope() as s:
        outsider = create_user(s, "outsider", role="worker", teams=["elsewhere"])
        setup.outsider = issue_token(s, outsider)
    setup.job("theirs", workers_per_item=1, teams=["elsewhere"])
    return setup


def test_worker_sees_only_jobs_of_their_teams(ws, setup_factory, client):
    setup = make(ws, setup_factory)
    w = bearer(setup.worker_tokens["w00"])
    assert [j["name"] for j in client.get("/api/jobs", headers=w).json()] == ["ours"]
    r = client.get("/api/jobs/theirs", headers=w)
    assert r.status_code == 404 and r.json() == {
        "error": "not_found",
        "detail": "job 'theirs' not found",
    }
    assert client.post("/api/jobs/theirs/next", headers=w).status_code == 404
    # A worker's view of their own job leaves out the requester's settings.
    mine = client.get("/api/jobs/ours", headers=w).json()
    assert "settings" not in mine and "teams" not in mine


def test_worker_cannot_reach_admin_or_requester_routes(ws, setup_factory, client):
    setup = make(ws, setup_factory)
    w = bearer(setup.worker_tokens["w00"])
    forbidden = [
        ("get", "/api/users"),
        ("post", "/api/users"),
        ("get", "/api/teams"),
        ("get", "/api/datasets"),
        ("post", "/api/jobs"),
        ("get", "/api/jobs/ours/labels"),
        ("get", "/api/jobs/ours/items/item-00000"),
        ("get", "/api/jobs/ours/workers"),
        ("get", "/api/jobs/ours/activity"),
        ("post", "/api/jobs/ours/stop"),
        ("delete", "/api/jobs/ours"),
        ("post", "/api/jobs/ours/exports"),
        ("get", "/api/runs"),
    ]
    for method, path in forbidden:
        r = getattr(client, method)(path, headers=w, **({"json": {}} if method == "post" else {}))
        assert r.status_code == 403, (method, path, r.status_code)
        assert r.json()["error"] == "forbidden"


def test_worker_never_sees_other_workers_answers(ws, setup_factory, client):
    setup = make(ws, setup_factory)
    w0, w1 = bearer(setup.worker_tokens["w00"]), bearer(setup.worker_tokens["w01"])
    task = client.post("/api/jobs/ours/next", headers=w0).json()
    assert (
        client.post(
            f"/api/assignments/{task['assignment_id']}/submit",
            json={"answer": {"label": "pos"}},
            headers=w0,
        ).status_code
        == 200
    )
    # Another worker cannot touch or even see that assignment.
    r = client.post(
        f"/api/assignments/{task['assignment_id']}/submit",
        json={"answer": {"label": "neg"}},
        headers=w1,
    )
    assert r.status_code == 404
    nxt = client.post("/api/jobs/ours/next", headers=w1).json()
    assert "answers" not in nxt and "pos" not in str(
        {k: v for k, v in nxt.items() if k not in ("labels", "label_config")}
    )
    assert (
        client.get("/api/me/assignments", headers=w1).json()[0]["assignment_id"]
        == nxt["assignment_id"]
    )


def test_media_only_for_assigned_items(ws, setup_factory, client):
    setup = make(ws, setup_factory)
    r = client.get("/api/items/1/media", headers=bearer(setup.outsider))
    assert r.status_code == 404


def test_errors_are_json_with_kind_and_detail(ws, setup_factory, client):
    setup = make(ws, setup_factory)
    a = bearer(setup.admin_token)
    assert client.get("/api/jobs").json()["error"] == "unauthorized"
    assert client.get("/api/jobs", headers=bearer("ts_wrong")).status_code == 401
    r = client.post("/api/jobs", json={"name": "x"}, headers=a)
    assert r.status_code == 422 and r.json()["error"] == "validation_error"
    assert {p["field"] for p in r.json()["detail"]} >= {"task_type", "labels"}
    r = client.post(
        "/api/jobs",
        json={
            "name": "bad name!",
            "task_type": "text-classification",
            "labels": ["a", "b"],
            "dataset": "texts",
        },
        headers=a,
    )
    assert r.status_code == 400 and "bad name!" in r.json()["detail"]
    r = client.post(
        "/api/jobs",
        json={
            "name": "ours",
            "task_type": "text-classification",
            "labels": ["a", "b"],
            "dataset": "texts",
        },
        headers=a,
    )
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    r = client.post(
        "/api/jobs",
        json={"name": "nt", "task_type": "nope", "labels": ["a", "b"], "dataset": "texts"},
        headers=a,
    )
    assert r.status_code == 400 and "unknown task type 'nope'" in r.json()["detail"]
    assert client.get("/api/nothing-here", headers=a).json()["error"] == "not_found"


def test_cookie_session_needs_csrf_header_for_writes(ws, setup_factory, client):
    make(ws, setup_factory)
    with ws.db.session_scope() as s:
        from truthset.workforce.service import get_user, set_password

        set_password(s, get_user(s, "w00"), "secret-pass")
    r = client.post("/api/auth/login", json={"name": "w00", "password": "wrong-pass"})
    assert r.status_code == 401
    r = client.post("/api/auth/login", json={"name": "w00", "password": "secret-pass"})
    assert r.status_code == 200 and r.json()["teams"] == ["crew"]
    assert client.get("/api/me").json()["name"] == "w00"
    assert client.post("/api/jobs/ours/next").status_code == 403
    assert client.post("/api/jobs/ours/next", headers={"X-Truthset-CSRF": "1"}).status_code == 200


def test_tokens_are_stored_hashed(ws, setup_factory):
    setup = make(ws, setup_factory)
    from sqlalchemy import text

    with ws.db.session_scope(write=False) as s:
        stored = s.execute(text("SELECT token_hash FROM auth_tokens")).scalars().all()
    assert setup.admin_token not in stored and all(len(h) == 64 for h in stored)
