"""Many workers at once against one job: no duplicate leases, no lost answers, exact
counts — with threads and with processes on SQLite and PostgreSQL, and through the batch
writers of two app processes on PostgreSQL."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import threading
from collections import Counter
from typing import Any

import orjson
import pytest
from sqlalchemy import select, text

from concurrency_support import process_main, worker_loop
from conftest import make_workspace
from truthset.store.db import Database
from truthset.store.models import Job, User
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task, release
from truthset.work.router import next_task_body
from truthset.workspace import Workspace

N_ITEMS = 60
WPI = 3


def check_invariants(ws: Workspace, n_items: int, wpi: int) -> None:
    with ws.db.session_scope(write=False) as s:
        pairs = s.execute(text("SELECT task_id, worker_id FROM assignments")).all()
        assert len(pairs) == len(set(pairs)), "a worker was given the same task twice"
        per_task = Counter(
            r[0]
            for r in s.execute(
                text("SELECT task_id FROM answers WHERE excluded = :f"), {"f": False}
            )
        )
        assert len(per_task) == n_items
        assert set(per_task.values()) == {wpi}, f"answers per task: {Counter(per_task.values())}"
        statuses = Counter(r[0] for r in s.execute(text("SELECT status FROM tasks")))
        assert statuses == {"complete": n_items}
        assert s.execute(text("SELECT count(*) FROM labels")).scalar_one() == n_items
        assert s.execute(text("SELECT in_flight FROM jobs")).scalar_one() == 0
        assert s.execute(text("SELECT state FROM jobs")).scalar_one() == "completed"
        live = s.execute(text("SELECT count(*) FROM assignments WHERE status = 'leased'"))
        assert live.scalar_one() == 0
        submitted = s.execute(text("SELECT count(*) FROM assignments WHERE status = 'submitted'"))
        assert submitted.scalar_one() == n_items * wpi
        submits = s.execute(text("SELECT count(*) FROM activity_events WHERE event = 'submit'"))
        assert submits.scalar_one() == n_items * wpi
    check_aggregates(ws, n_items)


def _rows(s: Any, sql: str) -> dict[Any, tuple[float, ...]]:
    return {r[0]: tuple(float(v) for v in r[1:]) for r in s.execute(text(sql))}


def check_aggregates(ws: Workspace, n_items: int) -> None:
    """Migration 0016's job aggregates equal the rows they count (summed over shards):
    kept by triggers, and on PostgreSQL by the submit's statement (alone) or its batch's
    ledger (work/answer_counts.py)."""
    with ws.db.session_scope(write=False) as s:
        tasks = _rows(
            s,
            "SELECT status, sum(tasks) FROM job_task_counts GROUP BY status HAVING sum(tasks) <> 0",
        )
        assert tasks == {"complete": (n_items,)}
        workers = _rows(
            s,
            "SELECT worker_id, sum(answers), sum(time_spent), sum(labeled), sum(agreeing) "
            "FROM job_worker_counts GROUP BY worker_id HAVING sum(answers) <> 0",
        )
        answers = s.execute(
            text(
                "SELECT a.worker_id, a.time_spent, a.content, l.meta FROM answers a "
                "LEFT JOIN labels l ON l.task_id = a.task_id"
            )
        ).all()
        expected: dict[int, list[float]] = {}
        for worker, spent, content, meta in answers:
            e = expected.setdefault(worker, [0, 0.0, 0, 0])
            label = (orjson.loads(content) if isinstance(content, str) else content)["label"]
            meta = orjson.loads(meta) if isinstance(meta, str) else meta
            e[0] += 1
            e[1] += spent
            e[2] += meta is not None
            e[3] += meta is not None and meta.get("class-name") == label
        assert set(workers) == set(expected)
        for worker, (n, spent, labeled, agreeing) in expected.items():
            assert workers[worker][0] == n and workers[worker][2:] == (labeled, agreeing)
            assert workers[worker][1] == pytest.approx(spent)
        minutes = _rows(
            s,
            "SELECT minute, sum(answers), sum(time_spent) FROM job_answer_minutes "
            "GROUP BY minute HAVING sum(answers) <> 0",
        )
        by_minute = _rows(
            s,
            "SELECT CAST(floor(submitted_at / 60) AS BIGINT), count(*), sum(time_spent) "
            "FROM answers GROUP BY 1",
        )
        assert set(minutes) == set(by_minute)
        for minute, (n, spent) in by_minute.items():
            assert minutes[minute][0] == n
            assert minutes[minute][1] == pytest.approx(spent)


def run_threads(ws: Workspace, workers: list[str]) -> list[str]:
    errors: list[str] = []
    threads = [
        threading.Thread(target=worker_loop, args=(ws, w, errors, i)) for i, w in enumerate(workers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_threads_on_both_stores(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=N_ITEMS, n_workers=12)
    setup.job(workers_per_item=WPI, max_concurrent_tasks=10)
    errors = run_threads(any_ws, setup.worker_names)
    assert errors == []
    check_invariants(any_ws, N_ITEMS, WPI)


def test_processes_on_both_stores(any_ws, setup_factory):
    """Separate processes share the store: on SQLite the file (BEGIN IMMEDIATE keeps leases
    atomic), on PostgreSQL the server (row locks, SKIP LOCKED)."""
    ws = any_ws
    setup = setup_factory(ws, n_items=30, n_workers=8)
    setup.job(workers_per_item=WPI)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    groups = [setup.worker_names[i::3] for i in range(3)]
    procs = [
        ctx.Process(
            target=process_main,
            args=(str(ws.settings.data_dir), ws.settings.database_url, g, i * 100, out),
        )
        for i, g in enumerate(groups)
    ]
    for p in procs:
        p.start()
    errors = [e for _ in procs for e in out.get(timeout=180)]
    for p in procs:
        p.join(timeout=30)
    assert errors == []
    check_invariants(ws, 30, WPI)


def test_window_is_exact_under_concurrent_leases(any_ws, setup_factory):
    """Many workers racing for the last slots of a max-concurrent-tasks window: exactly the
    window's worth of tasks is started, and a lost race leaves nothing behind."""
    setup = setup_factory(any_ws, n_items=40, n_workers=16)
    setup.job(workers_per_item=1, max_concurrent_tasks=3)
    barrier = threading.Barrier(len(setup.worker_names))
    leased: list[int] = []
    errors: list[str] = []

    def lease(worker: str) -> None:
        try:
            barrier.wait(timeout=30)
            with any_ws.db.session_scope() as s:
                job = s.query(Job).one()
                user = s.query(User).filter(User.name == worker).one()
                t = lease_next_task(s, job, user)
                if t is not None:
                    leased.append(t.task_id)
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=lease, args=(w,)) for w in setup.worker_names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(leased) == 3 and len(set(leased)) == 3
    with any_ws.db.session_scope(write=False) as s:
        assert s.execute(text("SELECT in_flight FROM jobs")).scalar_one() == 3
        assert s.execute(text("SELECT count(*) FROM assignments")).scalar_one() == 3
        accepts = s.execute(text("SELECT count(*) FROM activity_events WHERE event = 'accept'"))
        assert accepts.scalar_one() == 3
        started = s.execute(text("SELECT count(*) FROM tasks WHERE started = 1 OR live_leases > 0"))
        assert started.scalar_one() == 3


# -- PostgreSQL's batch writers (store.batching.PgBatchWriter): two Database objects on one
# database stand in for two app processes.


def _run(coro: Any) -> Any:
    """asyncio.run on a thread of its own: another test may leave this thread's loop set."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _users(db: Database, names: list[str]) -> list[Any]:
    with db.session_scope(write=False) as s:
        users = [s.scalar(select(User).where(User.name == n)) for n in names]
        s.expunge_all()
    return users


def test_two_processes_of_batches_keep_every_invariant(pg_url, tmp_path, setup_factory):
    ws = make_workspace(tmp_path, pg_url)
    other = Database(pg_url)  # the second app process
    try:
        setup = setup_factory(ws, n_items=45, n_workers=12)
        setup.job(workers_per_item=3, max_concurrent_tasks=8)
        users = _users(ws.db, setup.worker_names)
        errors: list[str] = []

        async def worker(i: int, user: Any) -> None:
            db = (ws.db, other)[i % 2]
            rng = random.Random(i)
            idle = 0
            while idle < 200:
                body = await db.run_write(lambda s: next_task_body(s, "job", user))
                if body is None:
                    idle += 1
                    await asyncio.sleep(0.01)
                    continue
                idle = 0
                aid = body["assignment_id"]
                if rng.random() < 0.05:
                    await db.run_write(lambda s, a=aid: release(s, a, user))
                    continue
                key = f"{user.name}-{aid}"

                def answer(s: Any, a: int = aid, k: str = key) -> Any:
                    return submit_answer(s, a, user, {"label": "pos"}, client_key=k)

                first = await db.run_write(answer, durable=True)
                if rng.random() < 0.2:  # a retry, on the other process
                    again = await (other, ws.db)[i % 2].run_write(answer, durable=True)
                    if again.answer_id != first.answer_id or not again.replayed:
                        errors.append(f"retry of {key} created a new answer")

        async def main() -> None:
            await asyncio.gather(*(worker(i, u) for i, u in enumerate(users)))

        _run(main())
        assert errors == []
        check_invariants(ws, 45, 3)
    finally:
        other.dispose()
        ws.close()


def test_window_is_exact_across_two_processes_of_batches(pg_url, tmp_path, setup_factory):
    ws = make_workspace(tmp_path, pg_url)
    other = Database(pg_url)
    try:
        setup = setup_factory(ws, n_items=40, n_workers=16)
        setup.job(workers_per_item=1, max_concurrent_tasks=3)
        users = _users(ws.db, setup.worker_names)

        async def main() -> list[Any]:
            return await asyncio.gather(
                *(
                    (ws.db, other)[i % 2].run_write(lambda s, u=u: next_task_body(s, "job", u))
                    for i, u in enumerate(users)
                )
            )

        leased = [b for b in _run(main()) if b is not None]
        assert len(leased) == 3 and len({b["item"]["id"] for b in leased}) == 3
        with ws.db.session_scope(write=False) as s:
            assert s.execute(text("SELECT in_flight FROM jobs")).scalar_one() == 3
            assert s.execute(text("SELECT count(*) FROM assignments")).scalar_one() == 3
            started = s.execute(text("SELECT count(*) FROM tasks WHERE started = 1"))
            assert started.scalar_one() == 3
    finally:
        other.dispose()
        ws.close()


def test_a_window_filled_by_another_process_during_the_batch(pg_url, tmp_path, setup_factory):
    """The batch saw room and started a task; another process filled the window before the
    batch's count was written: the batch is undone and its call, run alone, gets nothing."""
    ws = make_workspace(tmp_path, pg_url)
    try:
        setup = setup_factory(ws, n_items=5, n_workers=2)
        setup.job(workers_per_item=1, max_concurrent_tasks=1)
        (user,) = _users(ws.db, setup.worker_names[:1])
        tries = []

        def lease(s: Any) -> Any:
            body = next_task_body(s, "job", user)
            if not tries:  # the other process takes the only slot, and commits
                with ws.db.engine.connect() as c:
                    c.execute(text("UPDATE jobs SET in_flight = 1"))
                    c.commit()
            tries.append(body)
            return body

        async def main() -> Any:
            return await ws.db.run_write(lease)

        assert _run(main()) is None
        assert tries[0] is not None  # the batch had leased it before the conflict
        with ws.db.session_scope(write=False) as s:
            assert s.execute(text("SELECT in_flight FROM jobs")).scalar_one() == 1
            assert s.execute(text("SELECT count(*) FROM assignments")).scalar_one() == 0
            assert s.execute(text("SELECT count(*) FROM tasks WHERE started = 1")).scalar_one() == 0
        job_state = ws.db.new_session(write=False)
        assert job_state.scalar(select(Job.state)) == "in_progress"
        job_state.close()
    finally:
        ws.close()
