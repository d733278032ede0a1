"""The demo workspace: its logins (a reviewer among them) sign in, the reviewer may review
the demo's jobs from the start, and seeding again (or an older demo) changes nothing else."""

from __future__ import annotations

from sqlalchemy import func, select

from truthset.demo.seed import REVIEWER, TEAM, seed_demo
from truthset.store.models import User
from truthset.workforce import service as workforce


def test_the_demo_seeds_a_reviewer_who_can_review(ws, client):
    logins = seed_demo(ws)
    assert REVIEWER in logins and [role for _, role, _ in logins].count("reviewer") == 1
    for name, _role, password in logins:
        r = client.post("/api/auth/login", json={"name": name, "password": password})
        assert r.status_code == 200, name
    r = client.post("/api/auth/login", json={"name": REVIEWER[0], "password": REVIEWER[2]})
    assert r.json()["role"] == "reviewer" and r.json()["teams"] == [TEAM]
    headers = {"X-Truthset-CSRF": "1"}
    # Nothing is consolidated yet: an empty queue (204), not a refusal.
    r = client.post("/api/jobs/weather-sentiment/review/next", headers=headers)
    assert r.status_code == 204, r.text
    queue = client.get("/api/jobs/photo-topics/review/queue")
    assert queue.status_code == 200, queue.text


def test_seeding_again_adds_the_reviewer_to_an_older_demo_only(ws):
    seed_demo(ws)
    with ws.db.session_scope() as s:
        s.delete(workforce.get_user(s, REVIEWER[0]))  # a demo seeded before the reviewer
    seed_demo(ws)
    seed_demo(ws)
    with ws.db.session_scope() as s:
        assert workforce.get_user(s, REVIEWER[0]).role == "reviewer"
        assert s.scalar(select(func.count()).select_from(User)) == 5
