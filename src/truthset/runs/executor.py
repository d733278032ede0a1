"""Executing runs. The embedded executor is a thread in the server process; `truthset
worker` runs the same loop as its own process, on any host that reaches the database.

`execute_run(ctx_factory, run_id)` is the single entry point a queue library's worker
would call (e.g. an RQ or Dramatiq actor taking the run id): the run's definition does
not change with who executes it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from typing import Any

from truthset.config import Settings
from truthset.errors import AppError
from truthset.runs import repository, service
from truthset.runs.periodic import run_periodic_hooks
from truthset.runs.registry import get_run_kind
from truthset.store.db import Database

log = logging.getLogger("truthset.runs")
HEARTBEAT_INTERVAL = 5.0


class RunContext:
    """What a run function gets: the database, the settings, and a progress reporter.

    Progress goes to a small file beside the data (always) and to the database (on
    PostgreSQL). On SQLite a run's own write transaction (an import) holds the single write
    lock, so progress cannot go through the database until it ends; the file is what the
    API reads for a running run there, and its mtime is the run's heartbeat.
    """

    def __init__(self, db: Database, settings: Settings, run_id: int):
        self.db = db
        self.settings = settings
        self.run_id = run_id
        self._last = 0.0
        self._total: int | None = None
        self.progress_file = service.progress_path(settings.data_dir, run_id)
        self.progress_file.parent.mkdir(parents=True, exist_ok=True)

    def progress(
        self,
        done: int,
        total: int | None = None,
        message: str | None = None,
        *,
        force: bool = False,
    ) -> None:
        now = time.time()
        if total is not None:
            self._total = total
        if not force and now - self._last < 0.5:
            return
        self._last = now
        service.write_progress_file(self.progress_file, done, self._total, message, now)
        if not self.db.is_sqlite:
            with self.db.session_scope() as session:
                service.set_progress(session, self.run_id, done, self._total, message, now=now)

    def beat(self) -> None:
        now = time.time()
        try:
            os.utime(self.progress_file, (now, now))
        except FileNotFoundError:
            service.write_progress_file(self.progress_file, 0, self._total, None, now)
        if not self.db.is_sqlite:
            with self.db.session_scope() as session:
                repository.record_heartbeat(session, self.run_id, now)


def execute_run(db: Database, settings: Settings, run_id: int) -> None:
    """Run one claimed run to its end and record the outcome."""
    with db.session_scope(write=False) as session:
        run = repository.run_by_id(session, run_id)
        assert run is not None
        kind, params = run.kind, dict(run.params)
    ctx = RunContext(db, settings, run_id)
    ctx.beat()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_INTERVAL):
            try:
                ctx.beat()
            except Exception:  # pragma: no cover - the next beat retries
                log.exception("run %s heartbeat failed", run_id)

    beater = threading.Thread(target=beat, name=f"run-{run_id}-heartbeat", daemon=True)
    beater.start()
    try:
        result = get_run_kind(kind).fn(ctx, **params)
        error = None
    except AppError as exc:
        result, error = None, str(exc.detail)
    except Exception as exc:
        log.error("run %s failed:\n%s", run_id, traceback.format_exc())
        result, error = None, f"{type(exc).__name__}: {exc}"
    finally:
        stop.set()
        beater.join()
    last = service.read_progress_file(ctx.progress_file)
    with db.session_scope() as session:
        if last is not None:
            service.set_progress(session, run_id, last["done"], last["total"], last["message"])
        service.finish(session, run_id, result=result, error=error)
    ctx.progress_file.unlink(missing_ok=True)


def run_pending(
    db: Database, settings: Settings, *, owner: str | None = None, max_runs: int | None = None
) -> int:
    """Claim and execute queued runs until none is left. Returns how many ran."""
    owner = owner or service.owner_name()
    done = 0
    while max_runs is None or done < max_runs:
        with db.session_scope() as session:
            run_id = service.claim_next(session, owner)
        if run_id is None:
            break
        execute_run(db, settings, run_id)
        done += 1
    return done


class EmbeddedExecutor:
    """Polls for queued runs in a background thread of the server process."""

    def __init__(
        self, db: Database, settings: Settings, *, poll_interval: float = 0.5, on_tick: Any = None
    ):
        self.db = db
        self.settings = settings
        self.poll_interval = poll_interval
        self.on_tick = on_tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self.db.session_scope() as session:
            recovered = service.recover_interrupted(session, data_dir=self.settings.data_dir)
        if recovered:
            log.warning("runs interrupted by a previous stop were recovered: %s", recovered)
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
        if self._thread is not None:
            self._thread.join(timeout)
