"""Runs on PostgreSQL through procrastinate, a PostgreSQL-backed task queue: workers on any
host take jobs with `SKIP LOCKED`, are woken by LISTEN/NOTIFY, retry, and hold locks;
periodic tasks are deferred once per tick across the cluster (its `periodic_defers` table
refuses a second defer of one tick), so every process may run the deferrer.

The runs table stays the record of a run (state, progress, result, who ran it); a job
only says "execute run N". A job's task claims its run (`queued -> running`, the same
conditional UPDATE the embedded executor uses), so a run executes once however many jobs
name it: a job whose run is no longer queued does nothing.

Three tasks:
- `truthset.run` (queue `truthset-runs`): claim and execute one run; retried with backoff
  when the database could not be reached before the run was claimed.
- `truthset.periodic_hooks` (queue `truthset-periodic`, every second): the periodic run
  hooks (auto-labeling scheduler, output folders, hooks, webhooks), each throttling itself.
- `truthset.recover_runs` (every 2 s): jobs whose worker stopped sending heartbeats (kill
  -9, a lost host) have their run queued again and the job retried, or the run failed
  with the reason when it may not start again; runs left running without a heartbeat
  (claimed outside the queue) are recovered as at a server's start.
The periodic tasks have a `queueing_lock` (at most one tick waiting) but no `lock`: a
lock held by a job whose worker died would stop every later tick until recovery, and
recovery is itself a tick. They run on their own queue and worker, so long runs never
delay them; two ticks may overlap on two hosts, as the hooks always allowed (each
process's server ran them all before).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from typing import Any

import procrastinate
from procrastinate import jobs as procrastinate_jobs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from truthset.config import Settings
from truthset.errors import BadInput
from truthset.runs import repository, service
from truthset.runs.execution import execute_run
from truthset.runs.periodic import run_periodic_hooks
from truthset.runs.queue import PERIODIC_QUEUE, RUN_TASK, RUNS_QUEUE
from truthset.runs.registry import get_run_kind
from truthset.store.db import Database

log = logging.getLogger("truthset.runs.queue")

# Seconds without a worker heartbeat after which its jobs count as stalled; every worker
# of a cluster must agree (TRUTHSET_WORKER_STALLED_AFTER), each beats a third of it.
DEFAULT_STALLED_AFTER = 30.0
# A worker that lost the database (a restart) starts again after this long.
RESTART_DELAY = 1.0


def stalled_after_from_env() -> float:
    raw = os.environ.get("TRUTHSET_WORKER_STALLED_AFTER")
    if not raw:
        return DEFAULT_STALLED_AFTER
    try:
        value = float(raw)
    except ValueError:
        raise BadInput(f"TRUTHSET_WORKER_STALLED_AFTER must be seconds, got {raw!r}") from None
    if value < 1:
        raise BadInput(f"TRUTHSET_WORKER_STALLED_AFTER must be at least 1 s, got {raw!r}")
    return value


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL (`postgresql+psycopg://...`) as libpq reads it."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _context(context: procrastinate.JobContext) -> tuple[Database, Settings, float]:
    extra = context.additional_context
    return extra["db"], extra["settings"], float(extra["stalled_after"])


def _owner(context: procrastinate.JobContext) -> str:
    # The runs table's owner column holds 100 characters.
    return f"{service.owner_name()}:queue-worker-{context.job.worker_id}"[:100]


def execute_queued_run(db: Database, settings: Settings, run_id: int, owner: str) -> str:
    """Claim the run and execute it; what happened, in a word."""
    with db.session_scope() as session:
        if not service.claim(session, run_id, owner):
            state = repository.run_state(session, run_id)
            return f"skipped: run is {state}"
    execute_run(db, settings, run_id)
    return "executed"


def recover_dead_run(db: Database, run_id: int) -> str:
    """The run of a job whose worker died: `queued` (to be retried), or `done` (nothing
    left to do: it finished, was failed with the reason, or was cancelled)."""
    with db.session_scope() as session:
        run = repository.run_by_id(session, run_id)
        if run is None:
            return "done"
        if run.state == "queued":
            return "queued"  # an earlier tick queued it and stopped before the retry
        if run.state == "cancelling":
            repository.mark_cancelled(session, run_id, "cancelled: its worker stopped first", 0.0)
            return "done"
        if run.state != "running":
            return "done"
        try:
            resumable = get_run_kind(run.kind).resumable
        except BadInput:
            resumable = False
        if resumable and run.attempts < service.MAX_ATTEMPTS:
            repository.requeue_run(
                session, run_id, f"its worker stopped (attempt {run.attempts}); queued again"
            )
            return "queued"
        reason = (
            "interrupted: the worker running it stopped before it finished"
            + (f" (after {run.attempts} attempts)" if resumable else "")
            + ("" if resumable else "; this kind of run is not restarted automatically")
        )
        repository.fail_run(session, run_id, reason, time.time())
        return "done"


def make_app(database_url: str, *, pool_size: int = 4) -> procrastinate.App:
    """A procrastinate app on the database, with truthset's three tasks."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=libpq_url(database_url), min_size=1, max_size=pool_size
        )
    )

    @app.task(
        name=RUN_TASK,
        queue=RUNS_QUEUE,
        pass_context=True,
        retry=procrastinate.RetryStrategy(
            max_attempts=8, exponential_wait=2, retry_exceptions={DBAPIError, OSError}
        ),
    )
    def run_task(context: procrastinate.JobContext, run_id: int) -> str:
        db, settings, _ = _context(context)
        return execute_queued_run(db, settings, run_id, _owner(context))

    @app.periodic(cron="* * * * * *", periodic_id="hooks")
    @app.task(
        name="truthset.periodic_hooks",
        queue=PERIODIC_QUEUE,
        pass_context=True,
        queueing_lock="truthset.periodic_hooks",
    )
    def periodic_hooks(context: procrastinate.JobContext, timestamp: int) -> None:
        db, _, _ = _context(context)
        with db.session_scope() as session:
            run_periodic_hooks(session)

    @app.periodic(cron="*/2 * * * * *", periodic_id="recovery")
    @app.task(
        name="truthset.recover_runs",
        queue=PERIODIC_QUEUE,
        pass_context=True,
        queueing_lock="truthset.recover_runs",
    )
    async def recover_runs(context: procrastinate.JobContext, timestamp: int) -> None:
        db, settings, stalled_after = _context(context)
        manager = context.app.job_manager
        stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after)
        for job in stalled:
            if job.task_name != RUN_TASK:
                # A periodic tick its worker never finished: the next tick does its work.
                await manager.finish_job(
                    job, status=procrastinate_jobs.Status.FAILED, delete_job=True
                )
                continue
            run_id = int(job.task_kwargs["run_id"])  # type: ignore[arg-type]
            outcome = await asyncio.to_thread(recover_dead_run, db, run_id)
            log.warning("run %s: its worker stopped; %s", run_id, outcome)
            if outcome == "queued":
                await manager.retry_job(job)
            else:
                await manager.finish_job(
                    job, status=procrastinate_jobs.Status.FAILED, delete_job=False
                )

        def recover_unqueued() -> list[int]:
            with db.session_scope() as session:
                return service.recover_interrupted(session)

        touched = await asyncio.to_thread(recover_unqueued)
        if touched:
            log.warning("runs without a heartbeat recovered: %s", touched)

    del run_task, periodic_hooks, recover_runs  # registered on the app
    return app


async def run_queue_workers(
    db: Database,
    settings: Settings,
    *,
    concurrency: int = 1,
    stalled_after: float = DEFAULT_STALLED_AFTER,
    name: str | None = None,
    graceful_timeout: float | None = None,
) -> None:
    """Run procrastinate workers until cancelled: `concurrency` runs at a time on the runs
    queue, and one periodic task at a time on its own queue."""
    app = make_app(settings.database_url, pool_size=concurrency + 4)
    name = name or service.owner_name()
    options: dict[str, Any] = {
        "install_signal_handlers": False,
        "additional_context": {"db": db, "settings": settings, "stalled_after": stalled_after},
        "delete_jobs": "successful",  # the runs table keeps the history
        "update_heartbeat_interval": max(stalled_after / 3.0, 0.3),
        "stalled_worker_timeout": stalled_after,
        "shutdown_graceful_timeout": graceful_timeout,
    }
    async with app.open_async():
        await asyncio.gather(
            app.run_worker_async(
                queues=[RUNS_QUEUE], concurrency=concurrency, name=f"{name}/runs", **options
            ),
            app.run_worker_async(
                queues=[PERIODIC_QUEUE], concurrency=1, name=f"{name}/periodic", **options
            ),
        )


async def run_queue_workers_forever(db: Database, settings: Settings, **options: Any) -> None:
    """`run_queue_workers`, started again after it failed (the database went away)."""
    while True:
        try:
            await run_queue_workers(db, settings, **options)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the run workers stopped on an error; starting again")
            await asyncio.sleep(RESTART_DELAY)


def serve_until_signal(db: Database, settings: Settings, **options: Any) -> None:
    """`truthset worker` on PostgreSQL: the workers in the foreground until SIGINT or
    SIGTERM, which let the runs in progress finish."""
    import signal

    async def main() -> None:
        workers = asyncio.create_task(run_queue_workers_forever(db, settings, **options))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, workers.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await workers

    asyncio.run(main())


class QueueWorkerThread:
    """The procrastinate workers in a thread of a server process (PostgreSQL's embedded
    executor), with an event loop of their own."""

    def __init__(self, db: Database, settings: Settings, **options: Any):
        self.db = db
        self.settings = settings
        self.options = {"graceful_timeout": 5.0, **options}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="truthset-queue", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.create_task(
                run_queue_workers_forever(self.db, self.settings, **self.options)
            )
            self._ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

        asyncio.run(main())

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join(timeout)
