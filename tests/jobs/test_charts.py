"""The console job page's charts: progress and its estimated finish, the label
distribution, agreement over time and the confusion matrix, on both stores."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from truthset.jobs.charts import job_charts
from truthset.jobs.service import get_job
from truthset.store.models import User
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task

TRUTH = {f"item-{i:05d}": ("pos" if i < 4 else "neg") for i in range(6)}


def _answer_all(ws: Any, job: str, worker: str, choose: Any) -> None:
    while True:
        with ws.db.session_scope() as s:
            j = get_job(s, job)
            user = s.scalar(select(User).where(User.name == worker))
            t = lease_next_task(s, j, user)
            if t is None:
                return
            submit_answer(s, t.assignment_id, user, {"label": choose(t.item_external_id)})


def test_charts_of_a_classification_job(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=6, n_workers=3)
    setup.job("j", workers_per_item=3)
    with any_ws.db.session_scope(write=False) as s:
        empty = job_charts(s, get_job(s, "j"))
    assert empty["progress"]["remaining"] == 6 and empty["progress"]["eta_seconds"] is None
    assert empty["progress"]["note"] == "not enough answers yet to measure the pace"
    assert empty["labels"]["counts"] == [{"label": "pos", "count": 0}, {"label": "neg", "count": 0}]
    assert empty["confusion"]["matrix"] == [[0, 0], [0, 0]]
    # Two workers answer the truth; the third always says "neg". Half the items are done
    # by all three, so the estimate has a pace and items left.
    _answer_all(any_ws, "j", "w00", TRUTH.get)
    _answer_all(any_ws, "j", "w01", TRUTH.get)
    with any_ws.db.session_scope(write=False) as s:
        half = job_charts(s, get_job(s, "j"))
    assert half["progress"]["done"] == 0 and half["progress"]["basis"] == 12
    _answer_all(any_ws, "j", "w02", lambda _item: "neg")
    now = time.time()
    with any_ws.db.session_scope(write=False) as s:
        got = job_charts(s, get_job(s, "j"), now=now)
    assert got["progress"]["done"] == 6 and got["progress"]["remaining"] == 0
    assert got["progress"]["eta_seconds"] == 0
    assert got["labels"]["counts"] == [{"label": "pos", "count": 4}, {"label": "neg", "count": 2}]
    assert got["labels"]["labels_read"] == 6
    conf = got["confusion"]
    assert conf["against"] == "consolidated label" and conf["labels"] == ["pos", "neg"]
    # Rows are the consolidated class, columns the workers' answers.
    assert conf["matrix"] == [[8, 4], [0, 6]] and conf["answers"] == 18
    skill = {w["worker"]: w["points"] for w in got["skill"]["workers"]}
    assert set(skill) == {"w00", "w01", "w02"}
    assert all(p["share"] == 1.0 for p in skill["w00"] + skill["w01"])
    # Every point lies inside the span the chart draws.
    span = (got["skill"]["start"], got["skill"]["end"])
    assert all(span[0] <= p["t"] <= span[1] for pts in skill.values() for p in pts)
    w02 = skill["w02"]
    assert sum(p["answers"] for p in w02) == 6
    assert sum(round(p["share"] * p["answers"]) for p in w02) == 2


def test_the_estimate_follows_the_recent_pace(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=10, n_workers=1)
    setup.job("j", workers_per_item=1)
    _answer_all_n(any_ws, "j", 4)
    with any_ws.db.session_scope(write=False) as s:
        job = get_job(s, "j")
        from truthset.jobs import charts_repository

        times = charts_repository.recent_answer_times(s, job.id, 100)
        now = times[0] + 1.0
        got = job_charts(s, job, now=now)["progress"]
        stale = job_charts(s, job, now=times[0] + 7200)["progress"]
    span = now - times[-1]
    assert got["remaining"] == 6 and got["basis"] == 4
    assert abs(got["items_per_hour"] - round(3 / span * 3600, 1)) < 0.2
    assert abs(got["eta_seconds"] - 6 / (3 / span)) <= 1
    assert (
        got["finish_at"] == round(now + got["eta_seconds"])
        or abs(got["finish_at"] - (now + 6 / (3 / span))) <= 1
    )
    assert stale["eta_seconds"] is None and stale["note"] == "no answers in the last hour"


def _answer_all_n(ws: Any, job: str, n: int) -> None:
    for _ in range(n):
        with ws.db.session_scope() as s:
            j = get_job(s, job)
            user = s.scalar(select(User).where(User.name == "w00"))
            t = lease_next_task(s, j, user)
            submit_answer(s, t.assignment_id, user, {"label": "pos"})
        time.sleep(0.05)


def test_confusion_against_gold_where_gold_exists(ws, client):
    from support import Setup, bearer

    setup = Setup(ws, n_items=4, n_workers=1)
    setup.job("g", workers_per_item=1, settings={"gold_rate": 1.0})
    gold = [
        {"item": "item-00000", "answer": {"label": "pos"}},
        {"item": "item-00001", "answer": {"label": "neg"}},
    ]
    r = client.post("/api/jobs/g/gold", json={"items": gold}, headers=bearer(setup.admin_token))
    assert r.status_code == 201, r.text
    _answer_all(ws, "g", "w00", lambda _item: "pos")
    r = client.get("/api/jobs/g/charts", headers=bearer(setup.admin_token))
    assert r.status_code == 200, r.text
    conf = r.json()["confusion"]
    # Only the two gold answers count: one right (pos), one wrong (neg answered pos).
    assert conf["against"] == "gold" and conf["matrix"] == [[1, 0], [1, 0]]
    points = r.json()["skill"]["workers"][0]["points"]
    assert sum(p["answers"] for p in points) == 2
    assert sum(round(p["share"] * p["answers"]) for p in points) == 1
    worker = client.get("/api/jobs/g/charts", headers=bearer(setup.worker_tokens["w00"]))
    assert worker.status_code == 403 and "error" in worker.json()
    missing = client.get("/api/jobs/nope/charts", headers=bearer(setup.admin_token))
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_charts_of_a_job_whose_answers_are_not_one_class(ws, client):
    from support import Setup, bearer

    setup = Setup(ws, n_items=2, n_workers=1)
    setup.job("m", task_type="text-classification-multilabel", workers_per_item=1)
    r = client.get("/api/jobs/m/charts", headers=bearer(setup.admin_token))
    assert r.status_code == 200, r.text
    assert (
        r.json()["confusion"]["problem"]
        == "text-classification-multilabel answers are not one class each"
    )
    assert r.json()["labels"]["counts"] == [
        {"label": "pos", "count": 0},
        {"label": "neg", "count": 0},
    ]
