"""Executors of runs. On SQLite the embedded executor is a thread in the server process
that polls the runs table; on PostgreSQL runs are procrastinate jobs
(`runs/procrastinate_app`), taken by `truthset worker` processes on any host and, unless
told otherwise (`TRUTHSET_EMBEDDED_RUNS=0`), by procrastinate workers inside each server
process. What executes one run is `runs/execution`.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from truthset.config import Settings
from truthset.runs import service
from truthset.runs.execution import RunCancelled, RunContext, execute_run, run_pending
from truthset.runs.periodic import run_periodic_hooks
from truthset.store.db import Database

__all__ = ["EmbeddedExecutor", "RunCancelled", "RunContext", "execute_run", "run_pending"]

log = logging.getLogger("truthset.runs")


class EmbeddedExecutor:
    """Runs inside the server process. On SQLite: a thread polling for queued runs and
    calling the periodic hooks between them. On PostgreSQL: procrastinate's workers in a
    thread (`QueueWorkerThread`), the same workers `truthset worker` runs on other hosts,
    so periodic work is deferred once across the cluster instead of once per process."""

    def __init__(
        self, db: Database, settings: Settings, *, poll_interval: float = 0.5, on_tick: Any = None
    ):
        self.db = db
        self.settings = settings
        self.poll_interval = poll_interval
        self.on_tick = on_tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: Any = None

    def start(self) -> None:
        if os.environ.get("TRUTHSET_EMBEDDED_RUNS", "1") == "0":
            # An app host of a cluster whose runs go to dedicated `truthset worker`s.
            log.info("TRUTHSET_EMBEDDED_RUNS=0: this process executes no runs")
            return
        with self.db.session_scope() as session:
            recovered = service.recover_interrupted(session, data_dir=self.settings.data_dir)
        if recovered:
            log.warning("runs interrupted by a previous stop were recovered: %s", recovered)
        if not self.db.is_sqlite:
            from truthset.runs.procrastinate_app import QueueWorkerThread, stalled_after_from_env

            self._queue = QueueWorkerThread(
                self.db, self.settings, stalled_after=stalled_after_from_env()
            )
            self._queue.start()
            return
        self._thread = threading.Thread(target=self._loop, name="truthset-runs", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with self.db.session_scope() as session:
                    run_periodic_hooks(session)
                ran = run_pending(self.db, self.settings, max_runs=1)
                if self.on_tick is not None:
                    self.on_tick()
            except Exception:  # pragma: no cover - keep the executor alive
                log.exception("run executor loop error")
                ran = 0
            if not ran:
                self._stop.wait(self.poll_interval)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._queue is not None:
            self._queue.stop(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
