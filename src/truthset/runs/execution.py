"""Executing one run: its context (progress, heartbeat, cancel requests), its outcome.

`execute_run(db, settings, run_id)` is the single entry point every executor calls (the
embedded one, procrastinate's workers, the command line's foreground runs): the run's
definition does not change with who executes it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback

from truthset.config import Settings
from truthset.errors import AppError
from truthset.runs import repository, service
from truthset.runs.registry import get_run_kind
from truthset.runs.transient import is_outage, retry_delay
from truthset.store.db import Database

log = logging.getLogger("truthset.runs")
HEARTBEAT_INTERVAL = 5.0
# How often a running run looks whether it was asked to stop (one small read).
CANCEL_CHECK_INTERVAL = 1.0


class RunCancelled(Exception):
    """Raised inside a run (at its next progress report) once it was asked to stop; its
    transaction rolls back as for any other exception, and the run ends `cancelled`."""


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
        # Set by the heartbeat thread when the run's row says `cancelling`.
        self.cancel_requested = threading.Event()
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
        self.check_cancelled()
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

    def check_cancelled(self) -> None:
        """Raise RunCancelled when the run was asked to stop: run kinds call it (through
        `progress`) where stopping leaves nothing half-done."""
        if self.cancel_requested.is_set():
            raise RunCancelled(f"run {self.run_id} was cancelled while running")

    def poll_cancel(self) -> None:
        if self.db.is_sqlite:
            if service.cancel_marker_path(self.settings.data_dir, self.run_id).exists():
                self.cancel_requested.set()
            return
        with self.db.session_scope(write=False) as session:
            if repository.run_state(session, self.run_id) == "cancelling":
                self.cancel_requested.set()

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
        kind, params, attempts = run.kind, dict(run.params), run.attempts
    ctx = RunContext(db, settings, run_id)
    ctx.beat()
    stop = threading.Event()

    def beat() -> None:
        last_beat = time.monotonic()
        while not stop.wait(CANCEL_CHECK_INTERVAL):
            try:
                ctx.poll_cancel()
                if time.monotonic() - last_beat >= HEARTBEAT_INTERVAL:
                    last_beat = time.monotonic()
                    ctx.beat()
            except Exception:  # pragma: no cover - the next beat retries
                log.exception("run %s heartbeat failed", run_id)

    beater = threading.Thread(target=beat, name=f"run-{run_id}-heartbeat", daemon=True)
    beater.start()
    outage: str | None = None
    resumable = False
    try:
        run_kind = get_run_kind(kind)
        resumable = run_kind.resumable
        result = run_kind.fn(ctx, **params)
        error, cancelled = None, False
    except RunCancelled:
        result, error, cancelled = None, None, True
    except Exception as exc:
        result, error, cancelled = None, _failure(run_id, exc), False
        if resumable and is_outage(exc):
            outage = error
    finally:
        stop.set()
        beater.join()
    last = service.read_progress_file(ctx.progress_file)
    with db.session_scope() as session:
        if last is not None:
            service.set_progress(session, run_id, last["done"], last["total"], last["message"])
        if cancelled:
            service.finish_cancelled(session, run_id)
        elif outage is not None and attempts < service.MAX_ATTEMPTS:
            delay = retry_delay(attempts)
            service.retry_later(
                session, run_id, f"{outage} (attempt {attempts}; tried again in {delay:g} s)", delay
            )
        elif outage is not None:
            service.finish(session, run_id, error=f"{outage} (after {attempts} attempts)")
        else:
            service.finish(session, run_id, result=result, error=error)
    ctx.progress_file.unlink(missing_ok=True)
    service.cancel_marker_path(settings.data_dir, run_id).unlink(missing_ok=True)


def _failure(run_id: int, exc: Exception) -> str:
    """What a failed run's record says: a user's error as it was told, anything else
    with its type (and its traceback in the log)."""
    if isinstance(exc, AppError):
        return str(exc.detail)
    log.error("run %s failed:\n%s", run_id, "".join(traceback.format_exception(exc)))
    return f"{type(exc).__name__}: {exc}"


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
