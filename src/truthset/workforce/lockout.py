"""The sign-in lockout: after `MAX_FAILURES` failed sign-ins for one user name within
`WINDOW` seconds, that name is locked for `LOCK_SECONDS`. Counted per name, known or not
(unknown names behave as known ones), in the database so every app process sees it; a
successful sign-in clears the count."""

from __future__ import annotations

import math
import time

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from truthset.errors import AppError
from truthset.store.models import LoginFailure

MAX_FAILURES = 10
WINDOW = 15 * 60.0
LOCK_SECONDS = 15 * 60.0


class LockedOut(AppError):
    status_code = 429
    kind = "too_many_requests"


def _key(name: str) -> str:
    return name[:100]


def check_not_locked(session: Session, name: str, *, now: float) -> None:
    locked_until = session.scalar(
        select(LoginFailure.locked_until).where(LoginFailure.user_name == _key(name))
    )
    if locked_until is not None and locked_until > now:
        opens = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(locked_until))
        raise LockedOut(
            f"too many failed sign-ins for user {name!r}: signing in as this user is locked "
            f"until {opens} ({math.ceil(locked_until - now)} s from now)"
        )


def record_failure(session: Session, name: str, *, now: float) -> None:
    """Count one failed sign-in; the row is locked while it is read, so two app processes
    counting at once lose neither failure."""
    key = _key(name)
    # Stale rows of names nobody tries any more are cleared as new failures come in.
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.first_at < now - WINDOW,
            (LoginFailure.locked_until.is_(None)) | (LoginFailure.locked_until < now),
            LoginFailure.user_name != key,
        )
    )
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(LoginFailure)
        .values(user_name=key, failures=0, first_at=now, locked_until=None)
        .on_conflict_do_nothing(index_elements=["user_name"])
    )
    row = session.scalars(
        select(LoginFailure).where(LoginFailure.user_name == key).with_for_update()
    ).one()
    if row.first_at < now - WINDOW or (row.locked_until is not None and row.locked_until <= now):
        row.failures, row.first_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= MAX_FAILURES:
        row.locked_until = now + LOCK_SECONDS
    session.flush()


def clear_failures(session: Session, name: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.user_name == _key(name)))
    session.flush()
