"""Literal SQL on a session's own connection, for the work engine's hot path.

SQLAlchemy's statement machinery costs ~0.1 ms per statement in CPU, which is most of a
lease or a submit; these statements are fixed strings, so they go to the DB-API cursor
directly, inside the same transaction the session began (and the same SQLite write lock).
Parameters use the `:name` style; PostgreSQL's driver gets them as `%(name)s`.

Each RawSQL counts the statements that may have changed rows (`writes`, with those sent
through SQLAlchemy in the same transaction): PostgreSQL's batch writer uses it to tell a
failed call that left nothing to undo from one that did.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import chain
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def _pyformat(sql: str) -> str:
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "TRUNCATE")


@lru_cache(maxsize=1024)
def is_write(sql: str) -> bool:
    """Whether a statement may change rows (a SELECT ... FOR UPDATE only locks them)."""
    words = sql.lstrip().split(None, 1)
    if not words:
        return False
    first = words[0].upper()
    if first in _WRITES:
        return True
    return first == "WITH" and any(f"({w} " in sql.upper() for w in _WRITES)


class RawSQL:
    __slots__ = ("cursor", "dbapi", "pg", "writes")

    def __init__(self, pg: bool, dbapi: Any):
        self.pg = pg
        self.dbapi = dbapi
        self.cursor = dbapi.cursor()
        self.writes = 0  # statements so far that may have changed rows

    def execute(
        self, sql: str, params: dict[str, Any] | None = None, *, write: bool | None = None
    ) -> Any:
        """Run a statement. `write=False` leaves counting its writes to the caller (a
        statement that writes only sometimes and reports whether it did)."""
        if write if write is not None else is_write(sql):
            self.writes += 1
        self.cursor.execute(_pyformat(sql) if self.pg else sql, params or {})
        return self.cursor

    def executemany(self, sql: str, rows: list[dict[str, Any]]) -> None:
        """One statement over many parameter sets (a bulk write: an import's batch)."""
        if not rows:
            return
        self.writes += 1
        self.cursor.executemany(_pyformat(sql) if self.pg else sql, rows)

    def executemany_rows(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        """An `INSERT ... VALUES (?, ...) [ON CONFLICT ...]` over many rows, with
        positional `?` parameters; returns how many rows it changed. SQLite gets it as
        multi-row VALUES statements of up to 500 rows (half the cost of an executemany,
        which binds and steps one row at a time); PostgreSQL's driver pipelines an
        executemany by itself."""
        if not rows:
            return 0
        self.writes += 1
        if self.pg:
            self.cursor.executemany(sql.replace("?", "%s"), rows)
            return int(self.cursor.rowcount or 0)
        head, values, tail = _split_values(sql)
        width = len(rows[0])
        per = max(1, min(500, 32000 // width))
        changed = 0
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            statement = _multi_values(head, values, tail, len(chunk))
            self.cursor.execute(statement, list(chain.from_iterable(chunk)))
            changed += self.cursor.rowcount
        return changed

    def failed(self) -> bool:
        """Whether the transaction cannot go on: the server aborted it (a statement in it
        failed) or the connection was lost."""
        if self.pg:
            from psycopg.pq import TransactionStatus

            status = self.dbapi.info.transaction_status
            return bool(status in (TransactionStatus.INERROR, TransactionStatus.UNKNOWN))
        return False

    def first(
        self, sql: str, params: dict[str, Any] | None = None, *, write: bool | None = None
    ) -> Any:
        return self.execute(sql, params, write=write).fetchone()

    def all(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        return list(self.execute(sql, params).fetchall())

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def named(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        """The first row as an object with the selected columns as attributes, or None."""
        cur = self.execute(sql, params)
        row = cur.fetchone()
        if row is None:
            return None
        names = _COLUMN_NAMES.get(sql)
        if names is None:  # a statement's columns never change; reading them is not free
            names = _COLUMN_NAMES[sql] = tuple(d[0] for d in cur.description)
        return _Row(zip(names, row, strict=True))


_COLUMN_NAMES: dict[str, tuple[str, ...]] = {}


@lru_cache(maxsize=64)
def _split_values(sql: str) -> tuple[str, str, str]:
    """`INSERT ... VALUES (...) rest` as (`INSERT ... VALUES `, `(...)`, ` rest`)."""
    head, _, after = sql.partition(" VALUES ")
    depth = 0
    for end, char in enumerate(after):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return head + " VALUES ", after[: end + 1], after[end + 1 :]
    raise ValueError(f"no VALUES (...) in {sql[:60]!r}")


@lru_cache(maxsize=64)
def _multi_values(head: str, values: str, tail: str, n: int) -> str:
    return head + ", ".join([values] * n) + tail


class _Row(dict[str, Any]):
    __getattr__ = dict.__getitem__


def raw(session: Session) -> RawSQL:
    """The session's RawSQL for its current transaction (made on first use)."""
    found = session.info.get("raw_sql")
    if found is None:
        conn = session.connection()  # begins the session's transaction if needed
        found = RawSQL(conn.dialect.name == "postgresql", conn.connection.dbapi_connection)
        session.info["raw_sql"] = found
        conn.info["raw_sql"] = found  # for _through_sqlalchemy
    return found


@event.listens_for(Engine, "before_cursor_execute")
def _through_sqlalchemy(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    # A statement through SQLAlchemy in a transaction that RawSQL serves: count a write.
    found = conn.info.get("raw_sql")
    if found is not None and is_write(statement):
        found.writes += 1


@event.listens_for(Session, "after_transaction_end")
def _forget_cursor(session: Session, transaction: Any) -> None:
    # A new transaction may run on another pooled connection.
    if transaction.parent is None:
        session.info.pop("raw_sql", None)


def stored_json(value: Any) -> Any:
    """A JSON column's value: SQLite hands back text, PostgreSQL the parsed value."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value
