"""A worker holds at most max-leases-per-worker live leases of a job (default 1): a `next`
at the limit, or one for whom no new task is left, hands back the oldest live lease (the
same assignment, the same deadline), so a `next` whose response was lost leaves no lease
nobody holds, and one worker cannot lease every task of a job. On SQLite and PostgreSQL,
each call in its own transaction and in the writer's batch, one worker's calls at once on
threads, and through two PostgreSQL batch writers (two app processes)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import select, text

from conftest import make_workspace
from support import run_coroutine
from truthset.jobs.service import get_job, update_job
from truthset.store.db import Database
from truthset.store.models import User
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task, release
from truthset.work.router import next_task_body

T0 = 1_800_000_000.0


@pytest.fixture(params=["direct", "batched"])
def write(request: pytest.FixtureRequest, any_ws: Any):
    """Run `fn(session)` in its own transaction, or in the writer's batch as the API does."""

    def run(fn: Any, durable: bool = False) -> Any:
        if request.param == "batched":
            return run_coroutine(any_ws.db.run_write(fn, durable=durable))
        with any_ws.db.session_scope(durable=durable) as s:
            return fn(s)

    return run


def _lease(
    write: Any, setup: Any, worker: str, now: float = T0, job: str = "job", ahead: bool = False
) -> Any:
    def fn(s: Any) -> Any:
        j, u = setup.load(s, job, worker)
        return lease_next_task(s, j, u, now=now, ahead=ahead)

    return write(fn)


def _submit(write: Any, setup: Any, worker: str, assignment_id: int, now: float) -> Any:
    def fn(s: Any) -> Any:
        _, u = setup.load(s, "job", worker)
        return submit_answer(s, assignment_id, u, {"label": "pos"}, now=now)

    return write(fn, durable=True)


def _live_leases(ws: Any) -> list[tuple[Any, ...]]:
    with ws.db.session_scope(write=False) as s:
        rows = s.execute(
            text("SELECT worker_id, task_id FROM assignments WHERE status = 'leased' ORDER BY id")
        )
        return [tuple(r) for r in rows]


def test_one_worker_cannot_lease_every_task(any_ws, setup_factory, write):
    """The attack's repro: 30 `next` calls of one worker on a 30-item job gave 30 leases
    and the next worker a 204. Now the worker keeps its one lease."""
    setup = setup_factory(any_ws, n_items=30, n_workers=2)
    setup.job(workers_per_item=1)
    got = [_lease(write, setup, "w00", now=T0 + i) for i in range(30)]
    assert {t.assignment_id for t in got} == {got[0].assignment_id}
    # The same lease each time: not extended, not re-stamped.
    assert {(t.deadline, t.leased_at, t.item_external_id) for t in got} == {
        (got[0].deadline, T0, "item-00000")
    }
    assert len(_live_leases(any_ws)) == 1
    other = _lease(write, setup, "w01")
    assert other is not None and other.item_external_id == "item-00001"
    with any_ws.db.session_scope(write=False) as s:
        accepts = s.execute(text("SELECT count(*) FROM activity_events WHERE event = 'accept'"))
        assert accepts.scalar_one() == 2
        assert s.execute(text("SELECT in_flight FROM jobs")).scalar_one() == 2


def test_a_lost_next_response_is_handed_back(any_ws, setup_factory, write):
    """The worker never saw the first answer; its next `next` gets that lease, and once it
    is answered the worker moves on."""
    setup = setup_factory(any_ws, n_items=3, n_workers=1)
    setup.job(workers_per_item=1, task_time_limit=60)
    lost = _lease(write, setup, "w00", now=T0)
    again = _lease(write, setup, "w00", now=T0 + 20)
    assert again == lost  # every field: assignment, item, deadline, leased_at
    _submit(write, setup, "w00", again.assignment_id, now=T0 + 21)
    after = _lease(write, setup, "w00", now=T0 + 22)
    assert after.assignment_id != lost.assignment_id
    assert after.item_external_id == "item-00001"
    assert after.deadline == T0 + 22 + 60


def test_an_expired_lease_does_not_count(any_ws, setup_factory, write):
    setup = setup_factory(any_ws, n_items=3, n_workers=1)
    setup.job(workers_per_item=1, task_time_limit=60)
    first = _lease(write, setup, "w00", now=T0)
    later = _lease(write, setup, "w00", now=T0 + 61)
    assert later.assignment_id != first.assignment_id
    assert later.item_external_id == "item-00001"  # its own expired task is not for it again
    assert len(_live_leases(any_ws)) == 1


def test_a_released_lease_does_not_count(any_ws, setup_factory, write):
    setup = setup_factory(any_ws, n_items=3, n_workers=1)
    setup.job(workers_per_item=1)
    first = _lease(write, setup, "w00")

    def give_back(s: Any) -> None:
        _, u = setup.load(s, "job", "w00")
        release(s, first.assignment_id, u, now=T0 + 1)

    write(give_back)
    second = _lease(write, setup, "w00", now=T0 + 2)
    assert second.assignment_id != first.assignment_id


def test_the_job_setting_raises_the_limit(any_ws, setup_factory, write):
    setup = setup_factory(any_ws, n_items=5, n_workers=1)
    setup.job(workers_per_item=1, settings={"max_leases_per_worker": 3})
    got = [_lease(write, setup, "w00", now=T0 + i) for i in range(5)]
    ids = [t.assignment_id for t in got]
    assert len(set(ids[:3])) == 3
    assert ids[3] == ids[4] == ids[0]  # at the limit: the oldest live lease
    assert len(_live_leases(any_ws)) == 3


def test_with_no_new_task_left_a_held_lease_comes_back(any_ws, setup_factory, write):
    """Under the limit but nothing new to take: the held lease, not a 204."""
    setup = setup_factory(any_ws, n_items=1, n_workers=1)
    setup.job(workers_per_item=1, settings={"max_leases_per_worker": 2})
    first = _lease(write, setup, "w00")
    assert _lease(write, setup, "w00", now=T0 + 5) == first


def test_the_workspace_default_applies_to_jobs_without_the_setting(
    tmp_path, setup_factory, monkeypatch
):
    monkeypatch.setenv("TRUTHSET_MAX_LEASES_PER_WORKER", "2")
    ws = make_workspace(tmp_path)
    try:
        setup = setup_factory(ws, n_items=5, n_workers=1)
        setup.job(workers_per_item=1)
        setup.job("strict", workers_per_item=1, settings={"max_leases_per_worker": 1})
        with ws.db.session_scope() as s:
            ids = {_lease_in(s, setup, "job", i).assignment_id for i in range(4)}
            assert len(ids) == 2
            strict = {_lease_in(s, setup, "strict", i).assignment_id for i in range(3)}
            assert len(strict) == 1
    finally:
        ws.close()


def _lease_in(s: Any, setup: Any, job: str, i: int) -> Any:
    j, u = setup.load(s, job, "w00")
    return lease_next_task(s, j, u, now=T0 + i)


def test_lowering_the_limit_keeps_the_leases_but_gives_no_more(any_ws, setup_factory, write):
    setup = setup_factory(any_ws, n_items=5, n_workers=1)
    setup.job(workers_per_item=1, settings={"max_leases_per_worker": 3})
    held = [_lease(write, setup, "w00", now=T0 + i).assignment_id for i in range(3)]
    with any_ws.db.session_scope() as s:
        update_job(s, get_job(s, "job"), {"settings": {"max_leases_per_worker": 1}})
    assert _lease(write, setup, "w00", now=T0 + 9).assignment_id == held[0]
    assert len(_live_leases(any_ws)) == 3


# -- one worker's calls at once ---------------------------------------------------------------


def test_one_workers_calls_at_once_on_threads(any_ws, setup_factory):
    """Eight `next` calls of one worker at the same moment, each in its own transaction (on
    PostgreSQL each on its own connection): one lease, all eight get it."""
    setup = setup_factory(any_ws, n_items=20, n_workers=1)
    setup.job(workers_per_item=1)
    barrier = threading.Barrier(8)
    got: list[Any] = []
    errors: list[str] = []

    def call() -> None:
        try:
            barrier.wait(timeout=30)
            with any_ws.db.session_scope() as s:
                j, u = setup.load(s, "job", "w00")
                got.append(lease_next_task(s, j, u))
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(got) == 8 and len({t.assignment_id for t in got}) == 1
    assert len(_live_leases(any_ws)) == 1


def test_one_workers_calls_at_once_through_two_batch_writers(pg_url, tmp_path, setup_factory):
    """The worker's calls spread over two app processes' batch writers on PostgreSQL, some
    in one batch, some racing the other process's batch."""
    ws = make_workspace(tmp_path, pg_url)
    other = Database(pg_url)
    try:
        setup = setup_factory(ws, n_items=20, n_workers=2)
        setup.job(workers_per_item=1)
        with ws.db.session_scope(write=False) as s:
            users = list(s.scalars(select(User).where(User.name.in_(["w00", "w01"]))))
            s.expunge_all()
        w00 = next(u for u in users if u.name == "w00")
        w01 = next(u for u in users if u.name == "w01")

        async def main() -> list[Any]:
            calls = [
                (ws.db, other)[i % 2].run_write(
                    lambda s, u=(w00 if i % 4 else w01): next_task_body(s, "job", u)
                )
                for i in range(16)
            ]
            return await asyncio.gather(*calls)

        bodies = run_coroutine(main())
        by_worker: dict[int, set[int]] = {}
        for i, body in enumerate(bodies):
            worker = w00 if i % 4 else w01
            by_worker.setdefault(worker.id, set()).add(body["assignment_id"])
        assert {k: len(v) for k, v in by_worker.items()} == {w00.id: 1, w01.id: 1}
        live = _live_leases(ws)
        assert sorted(w for w, _ in live) == sorted([w00.id, w01.id])
        with ws.db.session_scope(write=False) as s:
            assert s.execute(text("SELECT in_flight FROM jobs")).scalar_one() == 2
    finally:
        other.dispose()
        ws.close()


def test_the_task_page_leases_one_task_ahead_of_the_one_on_screen(any_ws, setup_factory, write):
    """The portal shows the next task the moment one is submitted because it holds it
    already: an `ahead` lease may go one over the limit of 1, and is never answered with
    the task on screen; a lost one comes back to the next `ahead` call."""
    setup = setup_factory(any_ws, n_items=3, n_workers=1)
    setup.job(workers_per_item=1)
    shown = _lease(write, setup, "w00", now=T0)
    ahead = _lease(write, setup, "w00", now=T0 + 1, ahead=True)
    assert ahead.assignment_id != shown.assignment_id
    assert ahead.item_external_id == "item-00001"
    # Its answer was lost: the next `ahead` call gets it back, not a third lease.
    assert _lease(write, setup, "w00", now=T0 + 2, ahead=True) == ahead
    # A reload asks without `ahead`: the task that was on screen first.
    assert _lease(write, setup, "w00", now=T0 + 3) == shown
    assert len(_live_leases(any_ws)) == 2
    _submit(write, setup, "w00", shown.assignment_id, now=T0 + 4)
    last = _lease(write, setup, "w00", now=T0 + 5, ahead=True)
    assert last.item_external_id == "item-00002"
    _submit(write, setup, "w00", ahead.assignment_id, now=T0 + 6)
    # Nothing left beyond the task on screen: no task ahead, never the one shown.
    assert _lease(write, setup, "w00", now=T0 + 7, ahead=True) is None
    assert _lease(write, setup, "w00", now=T0 + 8) == last
