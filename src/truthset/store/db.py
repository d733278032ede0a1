"""The Database: engines and sessions for the embedded SQLite store and for PostgreSQL.

The caller owns the transaction: ``session_scope`` commits when its block ends without an
error and rolls back otherwise; services only ``flush()``. SQLite's write lock, WAL and
group commit are in `store.sqlite`; the writer threads behind ``run_write`` in
`store.batching`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from truthset.store.batching import BatchWriter, PgBatchWriter
from truthset.store.sqlite import WRITE, GroupSync, database_file, install_sqlite_hooks

T = TypeVar("T")
# Execution option that marks the durable engine (session_scope's `durable` does the wait).
DURABLE = "truthset_durable"


class Database:
    """One database: a read engine and a write engine over the same pool."""

    def __init__(self, url: str, *, pool_size: int = 20, echo: bool = False):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._wal_sync: GroupSync | None = None
        self._writer: BatchWriter | None = None
        if self.is_sqlite:
            path = database_file(url)
            if path is not None:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                self._wal_sync = GroupSync(Path(path + "-wal"))
            self._writer = BatchWriter(self)
            self.engine = create_engine(
                url,
                echo=echo,
                poolclass=QueuePool,
                pool_size=pool_size,
                max_overflow=pool_size,
                connect_args={"check_same_thread": False, "timeout": 60},
            )
            install_sqlite_hooks(self.engine)
        else:
            self.engine = create_engine(
                url,
                echo=echo,
                pool_size=pool_size,
                max_overflow=pool_size,
            )
            _ping_after_idle(self.engine)
            self._writer = PgBatchWriter(self)
        self.write_engine = self.engine.execution_options(**{WRITE: True})
        self.durable_engine = self.engine.execution_options(**{WRITE: True, DURABLE: True})
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self._durable_sessions = sessionmaker(self.durable_engine, expire_on_commit=False)

    def new_session(self, *, write: bool = True, durable: bool = False) -> Session:
        if durable:
            return self._durable_sessions()
        return self._write_sessions() if write else self._read_sessions()

    @contextmanager
    def session_scope(self, *, write: bool = True, durable: bool = False) -> Iterator[Session]:
        """A session whose transaction commits at the end of the block, or rolls back.

        With ``durable`` the block returns only once the commit is on disk. On SQLite that
        is one fsync of the WAL shared by every commit that is waiting for one (group
        commit): a commit costs ~6 ms of fsync here, so syncing each on its own would cap
        the store near 150 durable commits a second."""
        session = self.new_session(write=write, durable=durable)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        if durable and self._wal_sync is not None:
            self._wal_sync.sync()

    async def run_write(self, fn: Callable[[Session], T], *, durable: bool = False) -> T:
        """Run `fn(session)` atomically in a write transaction from async code.

        On SQLite every such call runs on one writer thread (they would queue on the write
        lock anyway), which runs the calls waiting at that moment together in one
        transaction, each in its own savepoint (see batching.BatchWriter). The durable
        wait, the shared WAL fsync, happens off that thread so the next batch can start.
        On PostgreSQL the calls go to one writer thread per process that batches them the
        same way (see batching.PgBatchWriter); a commit there is durable when it returns."""
        from starlette.concurrency import run_in_threadpool

        if self._writer is None:

            def tx() -> T:
                with self.session_scope(write=True, durable=durable) as session:
                    return fn(session)

            return await run_in_threadpool(tx)

        result = await self._writer.run(fn)
        if durable and self._wal_sync is not None:
            await run_in_threadpool(self._wal_sync.sync)
        return result

    def dispose(self) -> None:
        if self._writer is not None:
            self._writer.stop()
        self.engine.dispose()


# A pooled PostgreSQL connection idle for longer than this is checked before use.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_after_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has sat idle.

    SQLAlchemy's pool_pre_ping sends a `SELECT 1` on every checkout, one extra round trip
    for each request of the work loop. A connection goes stale while it sits in the pool
    (a server restart, an idle timeout), not while it is in constant use, so only one that
    was idle is checked; a dead one is replaced (DisconnectionError makes the pool
    reconnect)."""
    from sqlalchemy import exc

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get("last_checkin")
        if last is None or time.monotonic() - last < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as err:  # any failure of the ping: use a fresh connection
            raise exc.DisconnectionError(f"stale pooled connection: {err}") from err

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["last_checkin"] = time.monotonic()
