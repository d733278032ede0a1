"""The writers of SQLite and PostgreSQL: calls batched into one transaction, each atomic on
its own."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from support import run_coroutine
from truthset.errors import BadInput
from truthset.store.db import Database


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    else:
        database = Database(request.getfixturevalue("pg_url"))
    with database.session_scope() as s:
        s.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER)"))
    yield database
    database.dispose()


def test_batched_calls_each_commit_or_roll_back_alone(db: Database) -> None:
    commits = 0

    def count(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    event.listen(db.engine, "commit", count)

    def write(k: int) -> Any:
        def fn(session: Any) -> int:
            session.execute(text("INSERT INTO t (k, v) VALUES (:k, 0)"), {"k": k})
            if k % 3 == 0:
                raise BadInput(f"no {k}")  # after writing: the write must vanish with it
            return k * 10

        return fn

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(db.run_write(write(k), durable=k % 2 == 0) for k in range(1, 61)),
            return_exceptions=True,
        )

    results = run_coroutine(main())
    for k, result in zip(range(1, 61), results, strict=True):
        if k % 3 == 0:
            assert isinstance(result, BadInput) and result.detail == f"no {k}"
        else:
            assert result == k * 10
    with db.session_scope(write=False) as s:
        stored = s.execute(text("SELECT k FROM t ORDER BY k")).scalars().all()
    assert stored == [k for k in range(1, 61) if k % 3]
    assert commits < 60  # the 60 calls shared transactions


def test_a_call_failing_on_the_server_gets_its_error_and_the_others_commit(db: Database) -> None:
    """A statement the server refuses (here a duplicate key) aborts a PostgreSQL
    transaction: the batch is redone without that call, which fails alone."""
    from sqlalchemy.exc import IntegrityError

    with db.session_scope() as s:
        s.execute(text("INSERT INTO t (k, v) VALUES (0, 0)"))

    def insert(k: int) -> Any:
        def fn(session: Any) -> int:
            session.execute(text("INSERT INTO t (k, v) VALUES (:k, 1)"), {"k": k})
            return k

        return fn

    def slow(_session: Any) -> None:
        time.sleep(0.2)  # keeps the writer busy: the calls below queue into one batch

    async def main() -> list[Any]:
        keys = [1, 2, 0, 3, 4, 0, 5]
        return await asyncio.gather(
            db.run_write(slow), *(db.run_write(insert(k)) for k in keys), return_exceptions=True
        )

    results = run_coroutine(main())[1:]
    assert [isinstance(r, IntegrityError) for r in results] == [False] * 2 + [True] + [
        False
    ] * 2 + [True, False]
    with db.session_scope(write=False) as s:
        stored = s.execute(text("SELECT k, v FROM t ORDER BY k")).all()
    assert [tuple(r) for r in stored] == [(0, 0), (1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]
    if not db.is_sqlite:
        assert db._writer.counts["redone"] >= 1  # type: ignore[union-attr]


def test_each_call_sees_the_calls_before_it(db: Database) -> None:
    def bump(session: Any) -> int:
        session.execute(
            text("INSERT INTO t (k, v) VALUES (1, 1) ON CONFLICT (k) DO UPDATE SET v = t.v + 1")
        )
        return int(session.execute(text("SELECT v FROM t WHERE k = 1")).scalar())

    async def main() -> list[int]:
        return await asyncio.gather(*(db.run_write(bump) for _ in range(50)))

    assert sorted(run_coroutine(main())) == list(range(1, 51))


def test_a_pg_batch_gives_up_a_lock_wait_and_runs_the_call_again(pg_url: str) -> None:
    """Two processes' batches must never wait on each other in a cycle: a batched call
    that waits too long for a row lock makes its batch roll back and runs again later
    (alone, waiting as long as it takes, after PgBatchWriter.MAX_TRIES), while the other
    calls of its batch commit without it."""
    import threading

    database = Database(pg_url)
    try:
        with database.session_scope() as s:
            s.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER)"))
            s.execute(text("INSERT INTO t (k, v) VALUES (1, 0)"))
        other = Database(pg_url)  # another process, holding the row
        holder = other.new_session()
        holder.execute(text("SELECT v FROM t WHERE k = 1 FOR UPDATE"))
        threading.Timer(0.5, holder.commit).start()

        def bump(session: Any) -> int:
            return int(
                session.execute(text("UPDATE t SET v = v + 1 WHERE k = 1 RETURNING v")).scalar()
            )

        def insert(k: int) -> Any:
            return lambda session: session.execute(text("INSERT INTO t VALUES (:k, 0)"), {"k": k})

        async def main() -> list[Any]:
            return await asyncio.gather(
                database.run_write(bump), *(database.run_write(insert(k)) for k in range(2, 6))
            )

        assert run_coroutine(main())[0] == 1
        counts = database._writer.counts  # type: ignore[union-attr]
        assert counts["retried"] >= 1 and counts["alone"] >= 1
        with database.session_scope(write=False) as s:
            assert s.execute(text("SELECT count(*) FROM t")).scalar() == 5
        holder.close()
        other.dispose()
    finally:
        database.dispose()


def test_the_pg_writer_replaces_a_lost_connection(pg_url: str) -> None:
    """The writer keeps one connection; when the server ends it (a restart, an
    administrator), the calls of the batch that found out run again and none is lost."""
    database = Database(pg_url)
    try:
        with database.session_scope() as s:
            s.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER)"))

        def insert(k: int) -> Any:
            def fn(session: Any) -> int:
                session.execute(text("INSERT INTO t (k, v) VALUES (:k, 0)"), {"k": k})
                return k

            return fn

        async def write(keys: range) -> list[Any]:
            return await asyncio.gather(*(database.run_write(insert(k)) for k in keys))

        assert run_coroutine(write(range(1, 4))) == [1, 2, 3]
        writer = database._writer
        assert writer is not None
        pid = writer._conn.connection.dbapi_connection.info.backend_pid  # type: ignore[attr-defined]
        with database.session_scope() as s:
            s.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        assert run_coroutine(write(range(4, 10))) == list(range(4, 10))
        assert writer._conn.connection.dbapi_connection.info.backend_pid != pid  # type: ignore[attr-defined]
        with database.session_scope(write=False) as s:
            assert s.execute(text("SELECT count(*) FROM t")).scalar() == 9
    finally:
        database.dispose()


def test_a_connection_idle_in_the_pool_is_checked_before_use(pg_url, monkeypatch):
    """A pooled PostgreSQL connection that died while idle (here: terminated by the server)
    is replaced on checkout; a connection in constant use is not pinged."""
    import truthset.store.db as dbmod

    database = Database(pg_url, pool_size=1)
    try:

        def backend_pid() -> int:
            with database.session_scope(write=False) as s:
                return int(s.execute(text("SELECT pg_backend_pid()")).scalar_one())

        def kill(pid: int) -> None:
            other = Database(pg_url, pool_size=1)
            with other.session_scope() as s:
                s.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            other.dispose()

        monkeypatch.setattr(dbmod, "PING_AFTER_IDLE_SECONDS", 3600.0)
        first = backend_pid()
        kill(first)
        # Not idle long enough to be checked: the dead connection is used and fails.
        with pytest.raises(Exception, match="terminat|closed|connection"):
            backend_pid()
        second = backend_pid()  # the pool replaced the broken connection
        kill(second)
        monkeypatch.setattr(dbmod, "PING_AFTER_IDLE_SECONDS", 0.0)
        third = backend_pid()  # checked on checkout, found dead, replaced
        assert third not in (first, second)
    finally:
        database.dispose()


def test_the_pg_writer_survives_a_database_it_cannot_reach(pg_url: str, monkeypatch) -> None:
    """While the server is down the writer cannot open its connection: the calls waiting
    get the error instead of hanging, and the writer thread lives on, so work resumes
    once the database is back (issue 15: after a restart every next / submit hung)."""
    from sqlalchemy.exc import OperationalError

    database = Database(pg_url)
    try:
        with database.session_scope() as s:
            s.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
        writer = database._writer
        assert writer is not None
        writer._close_connection()
        down = OperationalError("connect", {}, Exception("the server is restarting"))

        def unreachable(*_args: Any, **_kwargs: Any) -> Any:
            raise down

        monkeypatch.setattr(database.write_engine, "connect", unreachable)
        monkeypatch.setattr(database.engine, "connect", unreachable)

        def insert(k: int) -> Any:
            return lambda session: session.execute(text("INSERT INTO t VALUES (:k)"), {"k": k})

        async def write(keys: range) -> list[Any]:
            return await asyncio.gather(
                *(database.run_write(insert(k)) for k in keys), return_exceptions=True
            )

        failed = run_coroutine(asyncio.wait_for(write(range(1, 4)), timeout=10))
        assert all(isinstance(r, OperationalError) for r in failed), failed
        monkeypatch.undo()  # the database is back
        run_coroutine(asyncio.wait_for(write(range(4, 7)), timeout=10))
        with database.session_scope(write=False) as s:
            assert s.execute(text("SELECT k FROM t ORDER BY k")).scalars().all() == [4, 5, 6]
    finally:
        database.dispose()
