"""Handing a queued run to whoever executes it, whatever the store.

On SQLite nothing is handed over: the server's embedded executor polls the runs table.
On PostgreSQL a run is a procrastinate job too, deferred on the connection of the session
that writes the run, so the job exists exactly when the run's row does (both commit or
both roll back) and a worker on any host is woken by procrastinate's LISTEN/NOTIFY
(`runs/procrastinate_app` holds the workers and their tasks).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

RUNS_QUEUE = "truthset-runs"
PERIODIC_QUEUE = "truthset-periodic"
RUN_TASK = "truthset.run"

_deferrer: Any = None


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def run_lock(run_id: int) -> str:
    return f"truthset.run.{run_id}"


def defer_run(session: Session, run_id: int, *, not_before: float | None = None) -> None:
    """Queue the run's job in the session's own transaction (PostgreSQL only), to be
    taken from `not_before` (UNIX seconds) when given."""
    if not is_postgres(session):
        return
    connection = session.connection().connection.driver_connection
    defer_on_connection(connection, run_id, not_before=not_before)


def defer_on_connection(connection: Any, run_id: int, *, not_before: float | None = None) -> None:
    """Write run `run_id`'s job on `connection` (a psycopg connection inside the caller's
    transaction). The lock keeps two jobs of one run from running at once."""
    import datetime

    global _deferrer
    import procrastinate
    from procrastinate import jobs
    from procrastinate.manager import JobManager

    if _deferrer is None:
        # Deferring needs no pool: the job is written on the caller's own connection.
        _deferrer = JobManager(procrastinate.SyncPsycopgConnector())
    job = jobs.Job(
        id=None,
        queue=RUNS_QUEUE,
        lock=run_lock(run_id),
        queueing_lock=None,
        task_name=RUN_TASK,
        task_kwargs={"run_id": run_id},
        scheduled_at=None
        if not_before is None
        else datetime.datetime.fromtimestamp(not_before, tz=datetime.UTC),
    )
    _deferrer.defer_job(job, connection=connection)
