"""A job's in-flight window (max-concurrent-tasks) inside a PostgreSQL write batch.

The job row holds the count of started, unfinished tasks. One transaction per request
updated it when a lease started a task and when a submit finished one, and the row stayed
locked from that update to the commit. A PostgreSQL batch (store.batching.PgBatchWriter) runs
many calls in one transaction; updating the row in its first call would lock it for the
whole batch, and the other app process's batch would wait on it (or, holding task rows
this batch needs, deadlock with it). So a batch keeps its changes to the count here and
writes them once, just before its commit, with the window checked against the row as it
is then: if another process filled the window meanwhile, the batch is rolled back and its
calls run again one by one (BatchConflict). The count is therefore exact at every commit.

Outside a PostgreSQL batch (SQLite, or a call run alone) `window_ledger` is None and the
work engine updates the row directly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from truthset.jobs import service as jobs_service
from truthset.store.batching import BatchConflict, batch_states
from truthset.store.raw import raw
from truthset.work import statements as sql


class WindowLedger:
    """Per job: the in-flight count read at first use, this batch's change to it, and
    how many tasks this batch started."""

    def __init__(self) -> None:
        self.base: dict[int, int] = {}
        self.delta: dict[int, int] = {}
        self.started: dict[int, int] = {}
        self.finished: dict[int, int] = {}

    def mark(self) -> Any:
        return dict(self.base), dict(self.delta), dict(self.started), dict(self.finished)

    def reset(self, mark: Any) -> None:
        self.base, self.delta, self.started, self.finished = (dict(m) for m in mark)

    def in_flight(self, session: Session, job_id: int) -> int:
        if job_id not in self.base:
            self.base[job_id] = int(raw(session).scalar(sql.IN_FLIGHT, {"j": job_id}))
        return self.base[job_id] + self.delta.get(job_id, 0)

    def claim(self, session: Session, job_id: int, max_tasks: int) -> bool:
        """Count a newly started task, if the window (as this batch sees it) has room."""
        if self.in_flight(session, job_id) >= max_tasks:
            return False
        self.delta[job_id] = self.delta.get(job_id, 0) + 1
        self.started[job_id] = self.started.get(job_id, 0) + 1
        return True

    def finish(self, session: Session, job_id: int) -> int:
        """A started task is done; the job's in-flight count as this batch sees it."""
        self.delta[job_id] = self.delta.get(job_id, 0) - 1
        self.finished[job_id] = self.finished.get(job_id, 0) + 1
        return self.in_flight(session, job_id)

    def write(self, session: Session, job_id: int) -> int | None:
        """Write this batch's change to one job's count now (the row stays locked to the
        commit); the count, or None when there was nothing to write. Raises BatchConflict
        when the tasks this batch started no longer fit."""
        delta = self.delta.pop(job_id, 0)
        started = self.started.pop(job_id, 0)
        if not started and not delta:
            return None
        if started:
            count = raw(session).scalar(sql.WRITE_WINDOW_STARTS, {"d": delta, "j": job_id})
            if count is None:
                raise BatchConflict(f"job {job_id}: its window filled up during the batch")
        else:
            count = raw(session).scalar(sql.WRITE_WINDOW_CHANGE, {"d": delta, "j": job_id})
        self.base[job_id] = int(count)
        return self.base[job_id]

    def before_commit(self, session: Session) -> None:
        for job_id in sorted(set(self.delta) | set(self.started)):  # one lock order
            count = self.write(session, job_id)
            if count is not None and count <= 0 and self.finished.get(job_id):
                # Other processes finished tasks meanwhile: this batch finished the last
                # ones, so it decides whether the job is done, as the last decrement did.
                jobs_service.refresh_state(session, job_id)


def window_ledger(session: Session) -> WindowLedger | None:
    """The ledger of the PostgreSQL batch this session runs, or None outside one."""
    states = batch_states(session)
    if states is None:
        return None
    ledger = states.get("window")
    if ledger is None:
        ledger = states["window"] = WindowLedger()
    assert isinstance(ledger, WindowLedger)
    return ledger
