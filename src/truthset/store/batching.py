"""The batch writers behind `Database.run_write`: the write calls waiting when the writer
thread becomes free run one after another in one transaction, and every caller is answered
after its commit. Why, and how one failing call is kept from the others: BatchWriter for
SQLite (a savepoint per call), PgBatchWriter for PostgreSQL (no savepoint; redone batches).

The writers use only a store's write sessions (`WriteStore`), so this module does not
import `store.db`, which makes them.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

T = TypeVar("T")


class WriteStore(Protocol):
    """What a writer uses of its Database (store.db)."""

    @property
    def write_engine(self) -> Engine: ...

    def session_scope(
        self, *, write: bool = True, durable: bool = False
    ) -> AbstractContextManager[Session]: ...


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    """Answer a caller, on its event loop; one that stopped waiting (cancelled) is skipped,
    as a cancelled future refuses a result."""
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class BatchWriter:
    """SQLite's single writer: runs queued write calls in batches, one transaction each.

    A SQLite write transaction costs a BEGIN IMMEDIATE, a COMMIT that appends to the WAL,
    and SQLAlchemy's bookkeeping around both; for the work engine's short calls that was
    more than the calls themselves. Calls that are waiting when the writer becomes free run
    one after another in one transaction, each inside a savepoint: a call that raises rolls
    back only its own changes and gets its own exception, the others commit together.
    Every caller is answered only after the batch has committed. Calls run strictly one
    at a time, so each sees the effects of those before it, exactly as separate
    transactions would."""

    MAX_BATCH = 64
    THREAD_NAME = "sqlite-writer"

    def __init__(self, db: WriteStore):
        self._db = db
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=self.THREAD_NAME, daemon=True)
        self._thread.start()

    def run(self, fn: Callable[[Session], T]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, future, loop))
        return future

    def stop(self) -> None:
        """Let the calls queued so far run, then end the writer (and wait for it)."""
        self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while (batch := self._next_batch([])) is not None:
            self._run_batch(batch)

    def _next_batch(self, batch: list[Any]) -> list[Any] | None:
        """``batch`` (calls carried over, if any) filled up with the calls waiting now, up
        to MAX_BATCH; when it is empty, waits for one. None once stopped."""
        if not batch:
            first = self._queue.get()
            if first is None:
                return None
            batch = [self._call(first)]
        while len(batch) < self.MAX_BATCH:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None:
                self._queue.put(None)  # stop after this batch
                break
            batch.append(self._call(more))
        return batch

    def _call(self, queued: Any) -> Any:
        """A queued (fn, future, loop) as the batch keeps it."""
        return queued

    def _run_batch(self, batch: list[Any]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._db.session_scope(write=True) as session:
                for fn, _future, _loop in batch:
                    try:
                        with session.begin_nested():
                            outcomes.append((True, fn(session)))
                    except Exception as exc:  # noqa: BLE001 - handed to that call's caller
                        outcomes.append((False, exc))
        except Exception as exc:  # noqa: BLE001 - the commit failed: nothing was written
            outcomes = [(False, exc)] * len(batch)
        for (ok, value), (_fn, future, loop) in zip(outcomes, batch, strict=True):
            loop.call_soon_threadsafe(_settle, future, ok, value)


class BatchConflict(Exception):
    """Raised inside a PostgreSQL batch when its calls cannot commit together (a deferred
    check failed at the end, e.g. a window another process filled meanwhile): the batch is
    rolled back and its calls run again, each in its own transaction."""


class BatchState(Protocol):
    """Per-transaction state a batched call keeps beyond its SQL (see PgBatchWriter)."""

    def mark(self) -> Any: ...

    def reset(self, mark: Any) -> None: ...

    def before_commit(self, session: Session) -> None: ...


BATCH_STATES = "truthset_batch_states"


def batch_states(session: Session) -> dict[str, BatchState] | None:
    """The session's batch states when it runs a PostgreSQL batch, else None."""
    return session.info.get(BATCH_STATES)


# SQLSTATEs of a lock wait that was given up (lock_timeout) or broken (deadlock).
_LOCK_GIVEN_UP = {"55P03", "40P01"}


def _lock_given_up(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) in _LOCK_GIVEN_UP


class PgBatchWriter(BatchWriter):
    """PostgreSQL's write calls of one app process, batched like SQLite's (BatchWriter).

    Measured on the work loop, one transaction per request spent most of the CPU on what
    surrounds the statements: a thread-pool hop, a session, BEGIN and COMMIT, and a
    database backend per busy thread (dozens, on two cores). Here the calls waiting when
    the writer becomes free run one after another in one transaction, and every caller is
    answered after the COMMIT.

    No savepoint is taken per call: a SAVEPOINT was one statement and one round trip in
    four, and the writer's time goes by the statement. A call that raises before it wrote
    anything leaves nothing to undo; the batch goes on. A call that raises after writing,
    or whose statement failed on the server (which aborts the transaction), makes the
    batch roll back: that call runs again alone, in its own transaction, and the others
    run again in the next batch (see `_redo`). Nothing was answered before the commit,
    so running a call again is invisible to its caller.

    Two batches of two processes must not wait on each other in a cycle: a row one batch
    locked stays locked until its commit. So a batch waits at most LOCK_WAIT_MS for a
    lock; when a call gives up, the batch is redone with that call in the next one (after
    this one released its locks), or alone after MAX_TRIES. Counters that every call would
    lock (a job's in-flight window) are kept in a BatchState and written once, just before
    the commit; when that last check fails (BatchConflict) the batch rolls back and its
    calls run one by one, each in its own transaction."""

    MAX_BATCH = 32
    LOCK_WAIT_MS = 10
    MAX_TRIES = 3

    THREAD_NAME = "pg-writer"  # one per process: a second was measured no faster

    def __init__(self, db: WriteStore):
        self._carry: list[Any] = []  # calls to run again in the next batch
        self._conn: Connection | None = None
        self.counts = {
            "batches": 0,
            "calls": 0,
            "retried": 0,
            "redone": 0,
            "alone": 0,
            "conflicts": 0,
        }
        super().__init__(db)

    def _call(self, queued: Any) -> Any:
        return (*queued, 0)  # and how many times it gave up a lock

    def _loop(self) -> None:
        while True:
            carried, self._carry = self._carry, []
            batch = self._next_batch(carried)
            if batch is None:
                self._close_connection()
                return
            alone = [call for call in batch if call[3] >= self.MAX_TRIES]
            batched = [call for call in batch if call[3] < self.MAX_TRIES]
            for call in alone:
                self._run_alone(call)
            if batched:
                self._run_batch(batched)

    def _run_alone(self, call: Any) -> None:
        fn, future, loop, _tries = call
        self.counts["alone"] += 1
        try:
            with self._db.session_scope(write=True) as session:
                ok, value = True, fn(session)
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            ok, value = False, exc
        loop.call_soon_threadsafe(_settle, future, ok, value)

    def _run_batch(self, batch: list[Any]) -> None:
        from truthset.store.raw import raw

        self.counts["batches"] += 1
        self.counts["calls"] += len(batch)
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn = self._connection()
        except Exception as exc:  # noqa: BLE001 - the database is unreachable: tell the callers
            # The thread must live on (a PostgreSQL restart used to end it, and every later
            # call waited forever); the next batch tries to connect again.
            for _fn, future, loop, _tries in batch:
                loop.call_soon_threadsafe(_settle, future, False, exc)
            return
        session = Session(bind=conn, expire_on_commit=False)
        try:
            states: dict[str, BatchState] = {}
            session.info[BATCH_STATES] = states
            sql = raw(session)
            for index, call in enumerate(batch):
                fn = call[0]
                marks = {name: state.mark() for name, state in states.items()}
                writes = sql.writes
                try:
                    value = fn(session)
                    session.flush()
                except BatchConflict:
                    raise
                except Exception as exc:  # noqa: BLE001 - handed to that call's caller
                    if sql.writes != writes or sql.failed():
                        # Its writes cannot be taken back alone (or the server aborted
                        # the transaction): the batch is redone without it.
                        _rollback(session)
                        self._redo(batch, index, exc)
                        return
                    # It wrote nothing: the batch goes on as if it had not run.
                    session.expunge_all()
                    for name in list(states):
                        if name in marks:
                            states[name].reset(marks[name])
                        else:
                            del states[name]
                    outcomes.append((False, exc))
                else:
                    outcomes.append((True, value))
            for state in states.values():
                state.before_commit(session)
            session.commit()
        except Exception:  # noqa: BLE001 - nothing of the batch was written: run each alone
            _rollback(session)
            self.counts["conflicts"] += 1
            self._carry = []
            for call in batch:
                self._run_alone(call)
            return
        finally:
            session.close()
        for (ok, value), (_fn, future, loop, _tries) in zip(outcomes, batch, strict=True):
            loop.call_soon_threadsafe(_settle, future, ok, value)

    def _connection(self) -> Connection:
        """The writer's own connection, on which lock waits are bounded (LOCK_WAIT_MS) for
        the whole session, not per transaction: a SET per batch was a statement more.
        One that broke is replaced; the batch it failed ran its calls alone meanwhile."""
        conn = self._conn
        if conn is None or conn.invalidated or conn.closed or _broken(conn):
            if conn is not None:
                if not conn.invalidated and not conn.closed:
                    conn.invalidate()  # not back into the pool
                conn.close()
            conn = self._db.write_engine.connect()
            conn.exec_driver_sql(f"SET lock_timeout = '{self.LOCK_WAIT_MS}ms'")
            conn.commit()
            self._conn = conn
        return conn

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if not conn.invalidated:
                conn.exec_driver_sql("RESET lock_timeout")  # back to the pool as it came
                conn.commit()
        finally:
            conn.close()

    def _redo(self, batch: list[Any], index: int, exc: Exception) -> None:
        """The batch was rolled back because its call at `index` failed after writing
        (or with a server error). That call runs again: in the next batch when it gave
        up a lock wait (alone after MAX_TRIES), otherwise alone at once, to fail (or not)
        in its own transaction. The batch's other calls run again in the next batch."""
        failed = batch[index]
        others = batch[:index] + batch[index + 1 :]
        if _lock_given_up(exc):
            self.counts["retried"] += 1
            self._carry = [*others, (*failed[:3], failed[3] + 1)]
            return
        self.counts["redone"] += 1
        self._carry = others
        self._run_alone(failed)


def _broken(conn: Connection) -> bool:
    """Whether a PostgreSQL connection was lost (psycopg knows once a call failed on it)."""
    return bool(getattr(conn.connection.dbapi_connection, "broken", False))


def _rollback(session: Session) -> None:
    """Roll a batch back; on a connection the server dropped (a restart) the rollback
    itself fails, and must not end the writer's thread: the connection is invalidated
    then, and the next batch opens another (`PgBatchWriter._connection`)."""
    try:
        session.rollback()
    except Exception:  # noqa: BLE001 - the transaction is gone with its connection
        logging.getLogger("truthset.store").warning(
            "rollback failed on a lost connection; it will be replaced"
        )
