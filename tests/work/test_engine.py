"""The work engine's rules, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from support import run_coroutine
from truthset.errors import BadInput, Conflict, Gone, NotFound
from truthset.jobs.service import counters
from truthset.work.answers import submit_answer
from truthset.work.leases import decline, lease_next_task, release
from truthset.work.maintenance import sweep_job

T0 = 1_800_000_000.0


_BATCHED = False


@pytest.fixture(autouse=True, params=["direct", "batched"])
def via(request: pytest.FixtureRequest):
    """Each rule holds for a call in its own transaction and for one in the writer's
    batch (Database.run_write), the path the API takes: on PostgreSQL that path leases
    in one statement and writes the in-flight window once per batch."""
    global _BATCHED
    _BATCHED = request.param == "batched"
    yield request.param
    _BATCHED = False


def _write(ws, fn, durable=False):
    if _BATCHED:
        return run_coroutine(ws.db.run_write(fn, durable=durable))
    with ws.db.session_scope(durable=durable) as s:
        return fn(s)


def lease(ws, setup, job, worker, now=T0):
    def fn(s):
        j, u = setup.load(s, job, worker)
        return lease_next_task(s, j, u, now=now)

    return _write(ws, fn)


def submit(ws, setup, worker, assignment_id, label="pos", now=T0 + 1, **kw):
    def fn(s):
        _, u = setup.load(s, "job", worker)
        return submit_answer(s, assignment_id, u, {"label": label}, now=now, **kw)

    return _write(ws, fn, durable=True)


def job_counters(ws, name="job"):
    with ws.db.session_scope(write=False) as s:
        job_id = s.execute(text("SELECT id FROM jobs WHERE name = :n"), {"n": name}).scalar_one()
        return counters(s, job_id)


def test_a_worker_never_gets_the_same_item_twice(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=3, n_workers=1)
    setup.job(workers_per_item=3)
    seen = []
    while (t := lease(any_ws, setup, "job", "w00")) is not None:
        seen.append(t.item_external_id)
        submit(any_ws, setup, "w00", t.assignment_id)
    assert sorted(seen) == ["item-00000", "item-00001", "item-00002"]


def test_live_leases_never_exceed_workers_per_item(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=1, n_workers=4)
    setup.job(workers_per_item=2)
    got = [lease(any_ws, setup, "job", w) for w in setup.worker_names]
    assert [t is not None for t in got] == [True, True, False, False]


def test_started_items_come_first_then_priority_then_import_order(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=4, n_workers=2)
    setup.job(workers_per_item=2)
    with any_ws.db.session_scope() as s:
        s.execute(
            text(
                "UPDATE tasks SET priority = 5 WHERE item_id = "
                "(SELECT id FROM items WHERE external_id = 'item-00002')"
            )
        )
    first = lease(any_ws, setup, "job", "w00")
    assert first.item_external_id == "item-00002"  # highest priority score
    second = lease(any_ws, setup, "job", "w01")
    assert second.item_external_id == "item-00002"  # already started: finish it first
    submit(any_ws, setup, "w00", first.assignment_id)
    third = lease(any_ws, setup, "job", "w00")
    assert third.item_external_id == "item-00000"  # then import order


def test_max_concurrent_tasks_window(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=10, n_workers=3)
    setup.job(workers_per_item=1, max_concurrent_tasks=2)
    a = lease(any_ws, setup, "job", "w00")
    b = lease(any_ws, setup, "job", "w01")
    assert a and b
    assert lease(any_ws, setup, "job", "w02") is None  # two items out already
    submit(any_ws, setup, "w00", a.assignment_id)
    assert lease(any_ws, setup, "job", "w02") is not None  # one finished: window moves


def test_submit_is_idempotent_by_assignment_and_by_client_key(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=2, n_workers=1)
    setup.job(workers_per_item=1)
    t = lease(any_ws, setup, "job", "w00")
    first = submit(any_ws, setup, "w00", t.assignment_id, client_key="abc")
    again = submit(any_ws, setup, "w00", t.assignment_id, client_key="abc")
    third = submit(any_ws, setup, "w00", t.assignment_id, label="neg")
    assert not first.replayed and again.replayed and third.replayed
    assert first.answer_id == again.answer_id == third.answer_id
    with any_ws.db.session_scope(write=False) as s:
        assert s.execute(text("SELECT count(*) FROM answers")).scalar_one() == 1
        # The first answer stands; the retried one with another label changed nothing.
        assert "pos" in str(s.execute(text("SELECT content FROM answers")).scalar_one())
    t2 = lease(any_ws, setup, "job", "w00")
    with pytest.raises(Conflict, match="already used"):
        submit(any_ws, setup, "w00", t2.assignment_id, client_key="abc")


def test_expired_lease_returns_task_to_pool(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=1, n_workers=2)
    setup.job(workers_per_item=1, task_time_limit=60)
    t = lease(any_ws, setup, "job", "w00", now=T0)
    assert lease(any_ws, setup, "job", "w01", now=T0 + 30) is None
    t2 = lease(any_ws, setup, "job", "w01", now=T0 + 61)  # expired: reclaimed
    assert t2 is not None and t2.task_id == t.task_id
    with pytest.raises(Gone, match="expired"):
        submit(any_ws, setup, "w00", t.assignment_id, now=T0 + 62)
    submit(any_ws, setup, "w01", t2.assignment_id, now=T0 + 63)
    assert job_counters(any_ws)["human_labeled"] == 1
    with any_ws.db.session_scope(write=False) as s:
        events = [r[0] for r in s.execute(text("SELECT event FROM activity_events ORDER BY id"))]
    assert events == ["accept", "expire", "accept", "submit"]


def test_late_answer_is_accepted_while_the_task_is_still_open(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=1, n_workers=2)
    setup.job(workers_per_item=2, task_time_limit=60)
    t = lease(any_ws, setup, "job", "w00", now=T0)
    result = submit(any_ws, setup, "w00", t.assignment_id, now=T0 + 120)
    assert not result.replayed
    with any_ws.db.session_scope(write=False) as s:
        row = s.execute(text("SELECT answers, live_leases, status FROM tasks")).one()
    assert tuple(row) == (1, 0, "open")


def test_decline_by_workers_per_item_workers_fails_the_item(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=1, n_workers=3)
    setup.job(workers_per_item=2)
    for w in ("w00", "w01"):
        t = lease(any_ws, setup, "job", w)
        with any_ws.db.session_scope() as s:
            _, u = setup.load(s, "job", w)
            decline(s, t.assignment_id, u, now=T0 + 1)
    assert lease(any_ws, setup, "job", "w02") is None
    c = job_counters(any_ws)
    assert c["failed"] == 1 and c["unlabeled"] == 0


def test_release_gives_the_task_to_someone_else_not_back(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=1, n_workers=2)
    setup.job(workers_per_item=1)
    t = lease(any_ws, setup, "job", "w00")
    with any_ws.db.session_scope() as s:
        _, u = setup.load(s, "job", "w00")
        release(s, t.assignment_id, u, now=T0 + 1)
        with pytest.raises(Conflict):
            release(s, t.assignment_id, u, now=T0 + 2)
    assert lease(any_ws, setup, "job", "w00") is None
    assert lease(any_ws, setup, "job", "w01").task_id == t.task_id


def test_other_workers_assignments_look_missing(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=1, n_workers=2)
    setup.job(workers_per_item=1)
    t = lease(any_ws, setup, "job", "w00")
    with pytest.raises(NotFound):
        submit(any_ws, setup, "w01", t.assignment_id)


def test_invalid_answer_writes_nothing(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=1, n_workers=1)
    setup.job(workers_per_item=1)
    t = lease(any_ws, setup, "job", "w00")
    with pytest.raises(BadInput, match="'maybe' is not one of the job's labels"):
        submit(any_ws, setup, "w00", t.assignment_id, label="maybe")
    with any_ws.db.session_scope(write=False) as s:
        assert s.execute(text("SELECT count(*) FROM answers")).scalar_one() == 0
        assert s.execute(text("SELECT status FROM assignments")).scalar_one() == "leased"


def test_consolidation_by_majority_vote_with_vote_share(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=1, n_workers=3)
    setup.job(workers_per_item=3)
    for w, label in zip(("w00", "w01", "w02"), ("neg", "pos", "neg"), strict=True):
        t = lease(any_ws, setup, "job", w)
        submit(any_ws, setup, w, t.assignment_id, label=label)
    with any_ws.db.session_scope(write=False) as s:
        value, meta, conf = s.execute(text("SELECT value, meta, confidence FROM labels")).one()
        state = s.execute(text("SELECT state FROM jobs")).scalar_one()
    assert str(value) == "1" and "neg" in str(meta) and conf == pytest.approx(0.67)
    assert state == "completed"


def test_consolidation_weighs_answers_by_the_workers_skill(any_ws, setup_factory):
    """The answer that completes a task brings the earlier ones with it (one statement
    on PostgreSQL): the label must be what the task's stored answers give."""
    from truthset.work.consolidation import task_answers

    setup = setup_factory(any_ws, n_items=1, n_workers=3)
    setup.job(workers_per_item=3)
    with any_ws.db.session_scope() as s:
        job_id = s.execute(text("SELECT id FROM jobs")).scalar_one()
        for name, skill in (("w00", 0.3), ("w01", 0.95), ("w02", 0.4)):
            _, u = setup.load(s, "job", name)
            s.execute(
                text(
                    "INSERT INTO worker_stats (job_id, worker_id, skill, gold_answers, "
                    "gold_correct, blocked, params) VALUES (:j, :w, :k, 0, 0, false, '{}')"
                ),
                {"j": job_id, "w": u.id, "k": skill},
            )
    for w, label in zip(("w00", "w01", "w02"), ("neg", "pos", "neg"), strict=True):
        t = lease(any_ws, setup, "job", w)
        submit(any_ws, setup, w, t.assignment_id, label=label)
    with any_ws.db.session_scope(write=False) as s:
        value, conf = s.execute(text("SELECT value, confidence FROM labels")).one()
        answers = task_answers(s, s.execute(text("SELECT id FROM tasks")).scalar_one())
    # 0.95 for pos against 0.3 + 0.4 for neg: the skilled worker's answer wins.
    assert [a.weight for a in answers] == [0.3, 0.95, 0.4]
    assert str(value) == "0" and conf == pytest.approx(0.95 / 1.65, abs=0.01)


def test_max_human_labeled_stops_new_work(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=5, n_workers=1)
    setup.job(workers_per_item=1, max_human_labeled=2)
    for _ in range(2):
        t = lease(any_ws, setup, "job", "w00")
        submit(any_ws, setup, "w00", t.assignment_id)
    assert lease(any_ws, setup, "job", "w00") is None
    with any_ws.db.session_scope(write=False) as s:
        assert s.execute(text("SELECT state FROM jobs")).scalar_one() == "completed"
    assert job_counters(any_ws) == {
        "total": 5,
        "human_labeled": 2,
        "machine_labeled": 0,
        "failed": 0,
        "unlabeled": 3,
    }


def test_stop_and_resume(any_ws, setup_factory):
    from truthset.jobs.service import get_job, resume_job, stop_job

    setup = setup_factory(any_ws, n_items=3, n_workers=1)
    setup.job(workers_per_item=1)
    with any_ws.db.session_scope() as s:
        stop_job(s, get_job(s, "job"))
    assert lease(any_ws, setup, "job", "w00") is None
    with any_ws.db.session_scope() as s:
        assert get_job(s, "job").state == "stopped"
        resume_job(s, get_job(s, "job"))
    assert lease(any_ws, setup, "job", "w00") is not None


def test_task_availability_ends_tasks(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=2, n_workers=1)
    setup.job(workers_per_item=2, task_availability=600)
    t = lease(any_ws, setup, "job", "w00", now=T0)
    submit(any_ws, setup, "w00", t.assignment_id, now=T0 + 1)
    with any_ws.db.session_scope() as s:
        j, _ = setup.load(s, "job", "w00")
        j.created_at = T0
        out = sweep_job(s, j, now=T0 + 10_000)
    assert out["closed_tasks"] == 2 and out["state"] == "completed"
    c = job_counters(any_ws)
    # The answered item is consolidated with what it has; the other is failed.
    assert c["human_labeled"] == 1 and c["failed"] == 1
