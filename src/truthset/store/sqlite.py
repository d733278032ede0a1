"""SQLite specifics of the embedded store: WAL, the write lock and group commit.

SQLite allows one writer at a time. Write transactions start with ``BEGIN IMMEDIATE`` so
that two writers never both read and then collide on the upgrade to a write lock, and
within one process they also queue on a lock, which is fairer and faster than SQLite's
sleeping busy handler. Read transactions use WAL snapshots and never wait.

With ``synchronous=NORMAL`` a commit is not on disk when it returns; a durable write then
waits for a fsync of the WAL that one caller runs for every commit waiting (GroupSync).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection

# Execution option of the engine whose transactions write: they begin with BEGIN IMMEDIATE,
# after the in-process write lock.
WRITE = "truthset_write"


def database_file(url: str) -> str | None:
    """The file a SQLite URL names, or None for an in-memory database (no WAL file)."""
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        return path
    return None


def install_sqlite_hooks(engine: Engine) -> None:
    """Set each new connection up (WAL, pragmas) and make write transactions queue on one
    lock per engine before BEGIN IMMEDIATE; the lock is released at commit or rollback."""
    lock = threading.Lock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        opts = conn.get_execution_options()
        if opts.get(WRITE):
            lock.acquire()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                lock.release()
                raise
            conn.info["holds_write_lock"] = True
        else:
            conn.exec_driver_sql("BEGIN")

    def _release(conn: Connection) -> None:
        if conn.info.pop("holds_write_lock", False):
            lock.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)


class GroupSync:
    """fsync of the SQLite WAL file, shared by all threads that committed before it began.

    In WAL mode (synchronous=NORMAL) a commit is durable once the WAL file is on disk;
    checkpoints sync the WAL before copying it into the database file. A caller commits,
    then calls `sync()`: it either starts an fsync that covers its commit or waits for one
    that does. fsync acts on the file, so this also covers other processes' commits."""

    def __init__(self, wal_path: Path):
        self.wal_path = wal_path
        self._cond = threading.Condition()
        self._requested = 0
        self._synced = 0
        self._syncing = False

    def sync(self) -> None:
        with self._cond:
            self._requested += 1
            ticket = self._requested
            while self._synced < ticket:
                if self._syncing:
                    self._cond.wait()
                    continue
                self._syncing = True
                covered = self._requested
                self._cond.release()
                try:
                    self._fsync()
                finally:
                    self._cond.acquire()
                    self._syncing = False
                    self._synced = max(self._synced, covered)
                    self._cond.notify_all()

    def _fsync(self) -> None:
        try:
            fd = os.open(self.wal_path, os.O_RDONLY)
        except FileNotFoundError:
            return  # no WAL yet: nothing was written through it
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
