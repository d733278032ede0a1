"""Literal SQL on a session's own connection, for the work engine's hot path.

SQLAlchemy's statement machinery costs ~0.1 ms per statement in CPU, which is most of a
lease or a submit; these statements are fixed strings, so they go to the DB-API cursor
directly, inside the same transaction the session began (and the same SQLite write lock).
Parameters use the `:name` style; PostgreSQL's driver gets them as `%(name)s`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def _pyformat(sql: str) -> str:
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


class RawSQL:
    __slots__ = ("cursor", "dbapi", "pg")

    def __init__(self, pg: bool, dbapi: Any):
        self.pg = pg
        self.dbapi = dbapi
        self.cursor = dbapi.cursor()

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        self.cursor.execute(_pyformat(sql) if self.pg else sql, params or {})
        return self.cursor

    def first(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        return self.execute(sql, params).fetchone()

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
        return _Row(zip([d[0] for d in cur.description], row, strict=True))


class _Row(dict[str, Any]):
    __getattr__ = dict.__getitem__


def raw(session: Session) -> RawSQL:
    """The session's RawSQL for its current transaction (made on first use)."""
    found = session.info.get("raw_sql")
    if found is None:
        conn = session.connection()  # begins the session's transaction if needed
        found = RawSQL(conn.dialect.name == "postgresql", conn.connection.dbapi_connection)
        session.info["raw_sql"] = found
    return found


@event.listens_for(Session, "after_transaction_end")
def _forget_cursor(session: Session, transaction: Any) -> None:
    # A new transaction may run on another pooled connection.
    if transaction.parent is None:
        session.info.pop("raw_sql", None)
