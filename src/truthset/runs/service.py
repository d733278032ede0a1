"""Runs in the database: enqueue, claim, progress, finish, recover after a crash."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.errors import BadInput, Conflict, NotFound
from truthset.runs import queue, repository
from truthset.runs.registry import get_run_kind
from truthset.store.models import Run

# A running run whose heartbeat is older than this is considered interrupted.
STALE_AFTER = 30.0
MAX_ATTEMPTS = 3


def progress_path(data_dir: Path, run_id: int) -> Path:
    return data_dir / "runs" / f"{run_id}.progress.json"


def cancel_marker_path(data_dir: Path, run_id: int) -> Path:
    """On SQLite a running run may hold the one write lock (an import's transaction), so a
    cancel request cannot be written to the database until it ends: it is this file, on
    the one host where SQLite's server runs its runs."""
    return data_dir / "runs" / f"{run_id}.cancel"


def request_cancel_by_file(data_dir: Path, run: Run) -> None:
    path = cancel_marker_path(data_dir, run.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def write_progress_file(
    path: Path, done: int, total: int | None, message: str | None, now: float
) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps({"done": done, "total": total, "message": message, "at": now}))
    os.replace(tmp, path)


def read_progress_file(path: Path) -> dict[str, Any] | None:
    try:
        data = orjson.loads(path.read_bytes())
        data["mtime"] = path.stat().st_mtime
        return dict(data)
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(
    session: Session,
    kind: str,
    params: dict[str, Any],
    *,
    job_id: int | None = None,
    created_by: int | None = None,
    now: float | None = None,
) -> Run:
    get_run_kind(kind)  # unknown kinds are refused before anything is written
    run = Run(
        kind=kind,
        state="queued",
        params=params,
        job_id=job_id,
        created_by=created_by,
        progress_done=0,
        attempts=0,
        created_at=time.time() if now is None else now,
    )
    session.add(run)
    session.flush()
    # In this transaction: on PostgreSQL the queue's job commits (or not) with the run.
    queue.defer_run(session, run.id)
    return run


def get_run(session: Session, run_id: int) -> Run:
    run = repository.run_by_id(session, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found")
    return run


def list_runs(session: Session, *, limit: int = 50, job_id: int | None = None) -> list[Run]:
    return repository.recent_runs(session, limit=limit, job_id=job_id)


def claim(session: Session, run_id: int, owner: str, now: float | None = None) -> bool:
    """Mark a queued run as running for `owner`; False when another executor was first
    (or the run is no longer queued: cancelled, or finished by an earlier job)."""
    return repository.claim_queued_run(session, run_id, owner, time.time() if now is None else now)


_claim = claim


def claim_next(session: Session, owner: str, *, now: float | None = None) -> int | None:
    """Take the oldest queued run that is due; safe with many executors on one database."""
    pg = session.get_bind().dialect.name == "postgresql"
    due = time.time() if now is None else now
    run_id = repository.oldest_queued_run_id(session, pg=pg, now=due)
    if run_id is None or not _claim(session, int(run_id), owner, now):
        return None
    return int(run_id)


def set_progress(
    session: Session,
    run_id: int,
    done: int,
    total: int | None,
    message: str | None,
    *,
    now: float | None = None,
) -> None:
    repository.record_progress(
        session, run_id, done, total, message, time.time() if now is None else now
    )


def finish(
    session: Session,
    run_id: int,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    now: float | None = None,
) -> None:
    repository.record_outcome(
        session,
        run_id,
        state="failed" if error else "succeeded",
        result=None if result is None else __import__("orjson").dumps(result).decode(),
        error=error,
        now=time.time() if now is None else now,
    )


def cancel(session: Session, run: Run) -> None:
    """A queued run is cancelled at once; a running one is asked to stop (`cancelling`):
    the process running it, on whatever host, sees it within a second and stops at the
    run's next progress report, its transaction rolled back."""
    if run.state == "queued":
        run.state = "cancelled"
        run.finished_at = time.time()
        session.flush()
        return
    if run.state == "cancelling":
        return
    if run.state == "running" and repository.request_cancel(session, run.id):
        session.refresh(run)
        return
    raise Conflict(f"run {run.id} is {run.state}; only a queued or running run can be cancelled")


def finish_cancelled(session: Session, run_id: int, *, now: float | None = None) -> None:
    repository.mark_cancelled(
        session, run_id, "cancelled while running", time.time() if now is None else now
    )


def recover_interrupted(
    session: Session,
    *,
    data_dir: Path | None = None,
    now: float | None = None,
    stale_after: float = STALE_AFTER,
) -> list[int]:
    """Runs left 'running' by a process that died: start resumable ones again, fail the
    others with the reason. Nothing is silently lost."""
    now = time.time() if now is None else now
    touched = []
    for run_id in repository.stale_cancelling_runs(session, now - stale_after):
        repository.mark_cancelled(session, run_id, "cancelled: its process stopped first", now)
        touched.append(run_id)
    rows = repository.stale_running_runs(session, now - stale_after)
    for run_id, kind, attempts in rows:
        if data_dir is not None:
            beat = read_progress_file(progress_path(data_dir, run_id))
            if beat is not None and beat["mtime"] >= now - stale_after:
                continue  # alive: its heartbeat is in the progress file (SQLite)
            marker = cancel_marker_path(data_dir, run_id)
            if marker.exists():
                repository.mark_cancelled(session, run_id, "cancelled: its process stopped", now)
                marker.unlink(missing_ok=True)
                touched.append(int(run_id))
                continue
        try:
            resumable = get_run_kind(kind).resumable
        except BadInput:
            resumable = False
        if resumable and attempts < MAX_ATTEMPTS:
            requeue(session, int(run_id), f"interrupted (attempt {attempts}); queued again")
        else:
            reason = (
                "interrupted: the process running it stopped before it finished"
                + ("" if resumable else "; this kind of run is not restarted automatically")
                + (f" (after {attempts} attempts)" if resumable else "")
            )
            repository.fail_run(session, run_id, reason, now)
        touched.append(int(run_id))
    return touched


def requeue(session: Session, run_id: int, message: str) -> None:
    """Queue a run again, and hand it to the queue again (a new job on PostgreSQL: the
    one that ran it died with its worker, or was never the one that claimed it)."""
    repository.requeue_run(session, run_id, message)
    queue.defer_run(session, run_id)


def retry_later(session: Session, run_id: int, message: str, delay: float) -> None:
    """Queue a run that met an outage again, to be taken no sooner than `delay` seconds
    from now (its `created_at` moves there: the queue is taken in that order)."""
    not_before = time.time() + delay
    repository.requeue_run_at(session, run_id, message, not_before)
    queue.defer_run(session, run_id, not_before=not_before)


def run_as_dict(run: Run, data_dir: Path | None = None) -> dict[str, Any]:
    done, total, message = run.progress_done, run.progress_total, run.message
    state = run.state
    if state == "running" and data_dir and cancel_marker_path(data_dir, run.id).exists():
        state = "cancelling"
    if run.state == "running" and data_dir is not None:
        live = read_progress_file(progress_path(data_dir, run.id))
        if live is not None:
            done, total = live["done"], live["total"] if live["total"] is not None else total
            message = live["message"] or message
    return {
        "id": run.id,
        "kind": run.kind,
        "state": state,
        "params": run.params,
        "job_id": run.job_id,
        "progress": {"done": done, "total": total},
        "message": message,
        "result": run.result,
        "error": run.error,
        "attempts": run.attempts,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


def claim_next_specific(
    session: Session, run_id: int, owner: str, *, now: float | None = None
) -> None:
    """Claim one given queued run (the CLI runs its own runs in the foreground)."""
    if not _claim(session, run_id, owner, now):
        raise Conflict(f"run {run_id} is no longer queued")
