"""The runs table's queries: reading runs, claiming a queued one (``SKIP LOCKED`` on
PostgreSQL, so many executors share one database), progress and heartbeats, outcomes, and
the runs a dead process left behind.

Each function keeps the way its query always ran: the ORM for reading `Run` objects, the
session (`text`) for every statement on the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from truthset.store.models import Run

# -- reading runs ---------------------------------------------------------------------------


def run_by_id(session: Session, run_id: int) -> Run | None:
    return session.get(Run, run_id)


def run_state(session: Session, run_id: int) -> str | None:
    """The run's state read afresh (a running run polls it for a cancel request)."""
    state = session.execute(text("SELECT state FROM runs WHERE id = :i"), {"i": run_id}).scalar()
    return None if state is None else str(state)


def recent_runs(session: Session, *, limit: int, job_id: int | None = None) -> list[Run]:
    """The newest runs first, of one job when `job_id` is given."""
    q = select(Run).order_by(Run.id.desc()).limit(limit)
    if job_id is not None:
        q = q.where(Run.job_id == job_id)
    return list(session.scalars(q))


# -- claiming a queued run ------------------------------------------------------------------

# A run queued again after an outage (so tried before) has its created_at moved to when
# it is due; a new run is due whatever time its creator gave it.
_OLDEST_QUEUED = (
    "SELECT id FROM runs WHERE state = 'queued' AND (attempts = 0 OR created_at <= :now) "
    "ORDER BY created_at, id LIMIT 1"
)
# Another executor's claim in progress is passed over instead of waited for.
_OLDEST_QUEUED_PG = _OLDEST_QUEUED + " FOR UPDATE SKIP LOCKED"


def oldest_queued_run_id(session: Session, *, pg: bool, now: float) -> Any:
    """The id of the oldest queued run due by `now` (locked on PostgreSQL, skipping locked
    ones), or None."""
    return session.execute(text(_OLDEST_QUEUED_PG if pg else _OLDEST_QUEUED), {"now": now}).scalar()


def claim_queued_run(session: Session, run_id: int, owner: str, now: float) -> bool:
    """Mark the run running for `owner`; False when it is no longer queued."""
    updated = session.execute(
        text(
            "UPDATE runs SET state = 'running', owner = :o, started_at = :now, "
            "heartbeat_at = :now, attempts = attempts + 1 WHERE id = :id AND state = 'queued'"
        ),
        {"o": owner, "now": now, "id": run_id},
    )
    return bool(updated.rowcount)  # type: ignore[attr-defined]


# -- a running run --------------------------------------------------------------------------


def record_progress(
    session: Session, run_id: int, done: int, total: int | None, message: str | None, now: float
) -> None:
    """Progress and a heartbeat; a None total or message keeps the one stored."""
    session.execute(
        text(
            "UPDATE runs SET progress_done = :d, progress_total = coalesce(:t, progress_total), "
            "message = coalesce(:m, message), heartbeat_at = :now WHERE id = :id"
        ),
        {"d": done, "t": total, "m": message, "now": now, "id": run_id},
    )


def record_heartbeat(session: Session, run_id: int, now: float) -> None:
    session.execute(
        text("UPDATE runs SET heartbeat_at = :n WHERE id = :i"),
        {"n": now, "i": run_id},
    )


def record_outcome(
    session: Session,
    run_id: int,
    *,
    state: str,
    result: str | None,
    error: str | None,
    now: float,
) -> None:
    """The run finished in `state` with its result (JSON text) or error."""
    session.execute(
        text(
            "UPDATE runs SET state = :s, result = :r, error = :e, finished_at = :now WHERE id = :id"
        ),
        {"s": state, "r": result, "e": error, "now": now, "id": run_id},
    )


# -- runs left behind by a process that died ------------------------------------------------


def stale_running_runs(session: Session, cut: float) -> Sequence[Any]:
    """(id, kind, attempts) of running runs without a heartbeat since `cut`."""
    return session.execute(
        text(
            "SELECT id, kind, attempts FROM runs WHERE state = 'running' "
            "AND (heartbeat_at IS NULL OR heartbeat_at < :cut)"
        ),
        {"cut": cut},
    ).all()


def stale_cancelling_runs(session: Session, cut: float) -> list[int]:
    """Ids of runs asked to stop whose process stopped first (no heartbeat since `cut`)."""
    rows = session.execute(
        text(
            "SELECT id FROM runs WHERE state = 'cancelling' "
            "AND (heartbeat_at IS NULL OR heartbeat_at < :cut)"
        ),
        {"cut": cut},
    ).all()
    return [int(r[0]) for r in rows]


def request_cancel(session: Session, run_id: int) -> bool:
    """Ask a running run to stop; False when it is no longer running."""
    updated = session.execute(
        text("UPDATE runs SET state = 'cancelling' WHERE id = :id AND state = 'running'"),
        {"id": run_id},
    )
    return bool(updated.rowcount)  # type: ignore[attr-defined]


def mark_cancelled(session: Session, run_id: int, message: str, now: float) -> None:
    session.execute(
        text(
            "UPDATE runs SET state = 'cancelled', message = :m, finished_at = :now WHERE id = :id"
        ),
        {"m": message, "now": now, "id": run_id},
    )


def requeue_run(session: Session, run_id: int, message: str) -> None:
    session.execute(
        text("UPDATE runs SET state = 'queued', owner = NULL, message = :m WHERE id = :id"),
        {"m": message, "id": run_id},
    )


def requeue_run_at(session: Session, run_id: int, message: str, not_before: float) -> None:
    session.execute(
        text(
            "UPDATE runs SET state = 'queued', owner = NULL, message = :m, created_at = :t "
            "WHERE id = :id"
        ),
        {"m": message, "t": not_before, "id": run_id},
    )


def fail_run(session: Session, run_id: int, error: str, now: float) -> None:
    session.execute(
        text("UPDATE runs SET state = 'failed', error = :e, finished_at = :now WHERE id = :id"),
        {"e": error, "now": now, "id": run_id},
    )
