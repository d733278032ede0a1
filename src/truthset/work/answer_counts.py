"""A PostgreSQL batch's additions to the job aggregates of its answers (migration 0016's
job_worker_counts and job_answer_minutes), written once just before its commit.

A submit on PostgreSQL counts its answer itself (statements.RECORD_ANSWER_PG, with 0016's
trigger skipped for that statement: migration 0019). Inside a batch (store.batching.
PgBatchWriter) most of a batch's answers add to the same few rows: its minute's row and,
through the batch, its workers' rows, on the writer's shard. So a batched submit only
says here what it adds (statements.RECORD_ANSWER_BATCHED_PG), and the batch adds it all in
one statement before the commit: one row version per row and batch instead of one per
answer. An answer on a task that already has a label (rare: a late answer, a reopened
task) adds its labeled / agreeing pair in its own statement, which reads the label.

Outside a batch (SQLite, or a call run alone) `answer_counts_ledger` is None and the
submit's statement writes its counts itself.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import Session

from truthset.store.batching import batch_states
from truthset.store.raw import raw
from truthset.work import statements as sql


class AnswerCountsLedger:
    """Per (job, worker): answers and seconds spent; per (job, minute): the same."""

    def __init__(self) -> None:
        self.workers: dict[tuple[int, int], list[float]] = {}
        self.minutes: dict[tuple[int, int], list[float]] = {}

    def mark(self) -> Any:
        return (
            {k: list(v) for k, v in self.workers.items()},
            {k: list(v) for k, v in self.minutes.items()},
        )

    def reset(self, mark: Any) -> None:
        workers, minutes = mark
        self.workers = {k: list(v) for k, v in workers.items()}
        self.minutes = {k: list(v) for k, v in minutes.items()}

    def add(self, job_id: int, worker_id: int, submitted_at: float, spent: float) -> None:
        """One answer. Its minute as 0016's trigger computes it (floor of the UNIX time
        over 60, in the same double precision)."""
        worker = self.workers.setdefault((job_id, worker_id), [0, 0.0])
        worker[0] += 1
        worker[1] += spent
        minute = self.minutes.setdefault((job_id, math.floor(submitted_at / 60)), [0, 0.0])
        minute[0] += 1
        minute[1] += spent

    def before_commit(self, session: Session) -> None:
        if not self.workers:
            return
        workers = sorted(self.workers.items())  # one lock order
        minutes = sorted(self.minutes.items())
        raw(session).execute(
            sql.ADD_ANSWER_COUNTS_PG,
            {
                "wj": [j for (j, _w), _v in workers],
                "ww": [w for (_j, w), _v in workers],
                "wn": [int(v[0]) for _k, v in workers],
                "ws": [float(v[1]) for _k, v in workers],
                "mj": [j for (j, _m), _v in minutes],
                "mm": [m for (_j, m), _v in minutes],
                "mn": [int(v[0]) for _k, v in minutes],
                "ms": [float(v[1]) for _k, v in minutes],
            },
        )
        self.workers, self.minutes = {}, {}


def answer_counts_ledger(session: Session) -> AnswerCountsLedger | None:
    """The ledger of the PostgreSQL batch this session runs, or None outside one."""
    states = batch_states(session)
    if states is None:
        return None
    ledger = states.get("answer_counts")
    if ledger is None:
        ledger = states["answer_counts"] = AnswerCountsLedger()
    assert isinstance(ledger, AnswerCountsLedger)
    return ledger
