"""Leasing tasks to workers: the pick, the lease, the in-flight window, expiry, and the
worker's heartbeat, release and decline.

`lease_next_task` is one atomic step. On SQLite the whole write transaction holds the
database's single write lock (``BEGIN IMMEDIATE``), so the pick and the lease cannot
interleave with another worker's. On PostgreSQL the picked task row is locked with
``FOR UPDATE SKIP LOCKED`` so concurrent workers pick different rows without waiting, and
the job row, which holds the in-flight counter that bounds max-concurrent-tasks, is
updated only when a new task is started, by a conditional increment as late in the
transaction as possible (the row stays locked until the commit). Locks are taken
``FOR NO KEY UPDATE``: they do not block the foreign-key checks of concurrent inserts
that refer to the locked row.

Invariants, each enforced here and in work/answers.py and checked by the concurrency
tests:
- a worker never holds two assignments for one task (also a unique constraint);
- live leases + answers of a task never exceed its target answers;
- at most max-concurrent-tasks tasks of a job are started and unfinished.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy.orm import Session

from truthset.errors import Conflict, Forbidden, Gone, NotFound
from truthset.jobs import service as jobs_service
from truthset.quality import gold
from truthset.store.models import User
from truthset.store.raw import raw
from truthset.work import repository
from truthset.work import statements as sql
from truthset.work.window import window_ledger
from truthset.workspace import settings_of_session

# A job setting: how many live leases of the job one worker may hold (default: the
# workspace's TRUTHSET_MAX_LEASES_PER_WORKER, itself 1); checked by work/settings.py.
MAX_LEASES_SETTING = "max_leases_per_worker"
# Per database (engine): the workspace's default of that limit.
_DEFAULT_LEASE_LIMIT: WeakKeyDictionary[Any, int] = WeakKeyDictionary()
# Per database (engine) and job: when this process last swept its expired leases.
_LAST_EXPIRY_SWEEP: WeakKeyDictionary[Any, dict[int, float]] = WeakKeyDictionary()
# Expired leases are swept lazily by `lease_next_task` at most this often per job and
# process; the background sweeper covers idle jobs.
EXPIRY_SWEEP_INTERVAL = 1.0
# Tasks with a negative priority wait: an auto-labeling job holds back everything but the
# current batch for people until the model's next iteration (Ground Truth's batches).
HELD_BACK = -1.0


@dataclass(frozen=True)
class LeasedTask:
    assignment_id: int
    task_id: int
    job_id: int
    item_id: int
    item_external_id: str
    item: dict[str, Any]
    deadline: float
    leased_at: float
    is_gold: bool
    # A reviewer returned the item to this worker: their answer then, for their tool.
    returned_answer: Any = None


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def log_event(
    session: Session, job_id: int, task_id: int, asg_id: int, worker_id: int, event: str, now: float
) -> None:
    """One step of an assignment's life in the activity log (accept, submit, ...)."""
    raw(session).execute(
        sql.LOG_EVENT,
        {"j": job_id, "t": task_id, "a": asg_id, "w": worker_id, "e": event, "at": now},
    )


# -- expiry -------------------------------------------------------------------------------


def expire_leases(session: Session, job_id: int, now: float | None = None) -> int:
    """Return every lease of a job past its deadline to the pool. Returns how many."""
    now = time.time() if now is None else now
    rows = raw(session).all(
        sql.EXPIRED_LEASES_PG if is_postgresql(session) else sql.EXPIRED_LEASES,
        {"j": job_id, "now": now},
    )
    for asg_id, task_id, worker_id in rows:
        expire_lease(session, job_id, task_id, asg_id, worker_id, now)
    return len(rows)


def end_lease(session: Session, asg_id: int, task_id: int, status: str, now: float) -> None:
    raw(session).execute(sql.END_ASSIGNMENT, {"s": status, "now": now, "a": asg_id})
    raw(session).execute(sql.RETURN_LEASE_TO_TASK, {"now": now, "t": task_id})


def expire_lease(
    session: Session, job_id: int, task_id: int, asg_id: int, worker_id: int, now: float
) -> None:
    """End one lease past its deadline, and log it."""
    end_lease(session, asg_id, task_id, "expired", now)
    log_event(session, job_id, task_id, asg_id, worker_id, "expire", now)


def _maybe_sweep(session: Session, job_id: int, now: float) -> int:
    swept = _LAST_EXPIRY_SWEEP.setdefault(session.get_bind().engine, {})
    last = swept.get(job_id)
    if last is None or abs(now - last) >= EXPIRY_SWEEP_INTERVAL:
        swept[job_id] = now
        return expire_leases(session, job_id, now)
    return 0


# -- picking and leasing ------------------------------------------------------------------


def _pick(
    session: Session,
    job_id: int,
    worker_id: int,
    *,
    gold: int,
    started: int,
    now: float,
    min_priority: float = float("-inf"),
) -> Any:
    params = {
        "j": job_id,
        "w": worker_id,
        "now": now,
        "gold": gold,
        "started": started,
        "min_priority": max(min_priority, -1e300),
    }
    return raw(session).first(sql.PICK_PG if is_postgresql(session) else sql.PICK, params)


def _check_worker(
    session: Session, job: Any, worker: User, now: float, *, newest: bool = False
) -> tuple[Any, int]:
    """Team membership and the quality bar, then the worker's live leases of the job, in
    one query: the oldest (`newest`: the newest) live lease, or None, and how many there
    are."""
    if is_postgresql(session):
        raw(session).execute(sql.LOCK_WORKER_PG, {"w": worker.id})
    member, blocked, *held = raw(session).first(
        sql.CHECK_WORKER_AND_HELD,
        {"j": job.id, "w": worker.id, "now": now, "newest": int(newest)},
    )
    _judge_worker(job, worker, member, blocked)
    return _held_lease(job, held)


def _held_lease(job: Any, held: list[Any]) -> tuple[LeasedTask | None, int]:
    """The held-lease columns of statements._HELD_LEASE as a LeasedTask, and the count."""
    asg_id, task_id, item_id, ext_id, data, deadline, leased_at, is_gold, n = held
    if asg_id is None:
        return None, 0
    lease = LeasedTask(
        asg_id,
        task_id,
        job.id,
        item_id,
        ext_id,
        orjson.loads(data),
        deadline,
        leased_at,
        bool(is_gold),
    )
    return lease, int(n)


def lease_limit(session: Session, job: Any) -> int:
    """How many live leases of this job one worker may hold: the job's
    `max_leases_per_worker`, else the workspace's default (1)."""
    value = job.settings.get(MAX_LEASES_SETTING)
    if value is not None:
        return int(value)
    engine = session.get_bind().engine
    default = _DEFAULT_LEASE_LIMIT.get(engine)
    if default is None:
        settings = settings_of_session(session)
        default = settings.max_leases_per_worker if settings is not None else 1
        _DEFAULT_LEASE_LIMIT[engine] = default
    return default


def _judge_worker(job: Any, worker: User, member: Any, blocked: Any) -> None:
    if not member and worker.role != "admin":
        if worker.role == "requester":
            raise Forbidden(f"you are not in a team of job {job.name!r}")
        # Workers learn nothing about jobs outside their teams, not even that they exist.
        raise NotFound(f"job {job.name!r} not found")
    if blocked:
        raise Forbidden(
            "your answers on this job fell below its quality bar; you cannot take more of its tasks"
        )


def lease_next_task(
    session: Session,
    job: Any,
    worker: User,
    *,
    now: float | None = None,
    rng: random.Random | None = None,
    ahead: bool = False,
) -> LeasedTask | None:
    """Pick the next task for this worker by priority and lease it. None when no work.

    A worker holding as many live leases of the job as `lease_limit` allows gets the
    oldest of them back (the same assignment and deadline) instead of a new one, and so
    does one for whom no new task is left: a `next` whose response was lost is answered
    again by the next `next`.

    `ahead`: the task page leasing one task beyond the one on screen, so that the next
    task shows the moment this one is submitted. It may hold one lease over the limit;
    at that, or with no new task left, it gets back its newest live lease if that is its
    lease ahead (a lost answer), else nothing: never the task on screen."""
    now = time.time() if now is None else now
    gold_rate = float(job.settings.get("gold_rate") or 0.0)
    qualification = job.settings.get("qualification")
    pg = is_postgresql(session)
    base_limit = lease_limit(session, job)
    limit = base_limit + 1 if ahead else base_limit
    if pg and job.state == "in_progress" and not gold_rate and not qualification:
        return _lease_pg(session, job, worker, now, limit, ahead=ahead)
    held, n_held = _check_worker(session, job, worker, now, newest=ahead)
    if job.state != "in_progress":
        return None
    # What the worker gets when no new lease is made.
    if ahead and n_held < limit:
        held = None
    if n_held >= limit:
        return held
    _maybe_sweep(session, job.id, now)

    row = None
    qualifying = bool(qualification) and gold.needs_qualification(session, job, worker.id)
    if qualifying or (gold_rate > 0 and (rng or random).random() < gold_rate):
        row = _pick(session, job.id, worker.id, gold=1, started=1, now=now) or _pick(
            session, job.id, worker.id, gold=1, started=0, now=now
        )
        if row is None and qualifying:
            return held
    if row is None:
        row = _pick(session, job.id, worker.id, gold=0, started=1, now=now)
    claims_window = False
    if row is None and _may_start_new_task(session, job):
        gated = bool(job.settings.get("auto_label"))
        row = _pick(
            session,
            job.id,
            worker.id,
            gold=0,
            started=0,
            now=now,
            min_priority=0.0 if gated else float("-inf"),
        )
        claims_window = row is not None
    if row is None:
        return held
    task_id, item_id, started, is_gold, ext_id, data, reserved = row

    deadline = now + job.task_time_limit
    params = {"t": task_id, "j": job.id, "w": worker.id, "now": now, "d": deadline}
    if pg:
        asg_id = raw(session).scalar(sql.LEASE_PG, params)  # the three writes, one round trip
    else:
        asg_id = raw(session).scalar(sql.INSERT_ASSIGNMENT, params)
        if asg_id is not None:
            raw(session).execute(sql.COUNT_LEASE, params)
            log_event(session, job.id, task_id, asg_id, worker.id, "accept", now)
    if asg_id is None:
        # The same worker raced itself to this task in two requests; the other one won.
        return held
    # Last, because on PostgreSQL the job row stays locked from here to the commit.
    if claims_window and not _claim_window_slot(session, job):
        _undo_lease(session, job, task_id, asg_id, now)
        return held
    returned = _take_return_place(session, task_id, worker.id, now) if reserved else None
    return LeasedTask(
        asg_id,
        task_id,
        job.id,
        item_id,
        ext_id,
        orjson.loads(data),
        deadline,
        now,
        bool(is_gold),
        returned,
    )


def _lease_pg(
    session: Session, job: Any, worker: User, now: float, limit: int, *, ahead: bool
) -> LeasedTask | None:
    """`lease_next_task` on PostgreSQL for a job without gold items or qualification: the
    check, the held leases, the pick and the lease are one statement
    (statements.PICK_AND_LEASE), after the worker's row is locked; the window is looked at
    before it and claimed after it, as on the general path."""
    raw_sql = raw(session)
    raw_sql.execute(sql.LOCK_WORKER_PG, {"w": worker.id})
    _maybe_sweep(session, job.id, now)
    may_start = _may_start_new_task(session, job)
    deadline = now + job.task_time_limit
    row = raw_sql.first(
        sql.PICK_AND_LEASE,
        {
            "j": job.id,
            "w": worker.id,
            "admin": worker.role == "admin",
            "any_priority": -1e300,
            # An auto-labeling job holds back tasks below priority 0 (HELD_BACK).
            "min_priority": 0.0 if job.settings.get("auto_label") else -1e300,
            "may_start": may_start,
            "max_leases": limit,
            "newest": int(ahead),
            "now": now,
            "d": deadline,
        },
        write=False,  # counted below, when it leased
    )
    member, blocked, task_id, item_id, started, ext_id, data, reserved, asg_id, *held_row = row
    if asg_id is not None:
        raw_sql.writes += 1
    _judge_worker(job, worker, member, blocked)
    held, n_held = _held_lease(job, held_row)
    if ahead and n_held < limit:
        held = None  # a lease ahead gets back only itself, never the task on screen
    if asg_id is None:
        # No new task for this worker (or it holds its limit): its oldest live lease.
        return held
    if not started and not _claim_window_slot(session, job):
        _undo_lease(session, job, task_id, asg_id, now)
        return held
    returned = _take_return_place(session, task_id, worker.id, now) if reserved else None
    return LeasedTask(
        asg_id, task_id, job.id, item_id, ext_id, orjson.loads(data), deadline, now, False, returned
    )


def _take_return_place(session: Session, task_id: int, worker_id: int, now: float) -> Any:
    """A lease on a returned task: the worker's held place (and any past its time) is
    taken; their answer as it was returned (for their tool), or None for another worker
    who got a place past its time. Runs only for a reserved task."""
    sql_ = raw(session)
    answer = sql_.scalar(sql.RETURNED_ANSWER, {"t": task_id, "w": worker_id})
    sql_.execute(sql.TAKE_RETURN_PLACES, {"t": task_id, "w": worker_id, "now": now})
    sql_.execute(sql.UPDATE_RESERVED, {"t": task_id})
    return orjson.loads(answer) if answer else None


# -- the in-flight window -----------------------------------------------------------------


def _undo_lease(session: Session, job: Any, task_id: int, asg_id: int, now: float) -> None:
    """Take back a lease that started a task the window had no room for (another worker
    took the last slot since we looked), inside this transaction."""
    raw(session).execute(sql.UNDO_LEASE_EVENT, {"j": job.id, "now": now, "a": asg_id})
    raw(session).execute(sql.UNDO_LEASE_ASSIGNMENT, {"a": asg_id})
    raw(session).execute(sql.UNDO_LEASE_TASK, {"t": task_id})


def _has_budget(job: Any) -> bool:
    return job.max_human_labeled is not None or job.max_percentage_labeled is not None


def _may_start_new_task(session: Session, job: Any) -> bool:
    """Max-concurrent-tasks and the stopping conditions gate new (unstarted) tasks.

    Without stopping conditions this is a look without a lock; `_claim_window_slot`
    makes it exact. With them, the job row is locked here, because the budget counts
    labeled tasks too and must not change between the check and the lease."""
    if _has_budget(job):
        locked = sql.IN_FLIGHT_LOCKED_PG if is_postgresql(session) else sql.IN_FLIGHT
        in_flight = raw(session).scalar(locked, {"j": job.id})
        if in_flight >= job.max_concurrent_tasks:
            return False
        return not jobs_service.human_budget_reached(session, job, extra=in_flight)
    ledger = window_ledger(session)
    if ledger is not None:  # in a PostgreSQL batch: written before its commit
        return ledger.in_flight(session, job.id) < job.max_concurrent_tasks
    in_flight = raw(session).scalar(sql.IN_FLIGHT, {"j": job.id})
    return bool(in_flight < job.max_concurrent_tasks)


def _claim_window_slot(session: Session, job: Any) -> bool:
    """Count a newly started task in the job's in-flight window, if it still has room."""
    if _has_budget(job):  # the row is locked and was checked: the room is there
        raw(session).execute(sql.COUNT_STARTED_TASK, {"j": job.id})
        return True
    ledger = window_ledger(session)
    if ledger is not None:
        return ledger.claim(session, job.id, job.max_concurrent_tasks)
    claimed = raw(session).scalar(
        sql.CLAIM_WINDOW_SLOT, {"j": job.id, "max": job.max_concurrent_tasks}
    )
    return claimed is not None


# -- the worker's actions on a lease --------------------------------------------------------


def _load_assignment(session: Session, assignment_id: int, worker: User) -> Any:
    row = repository.assignment(session, assignment_id, pg=is_postgresql(session))
    if row is None or row.worker_id != worker.id:
        # Another worker's assignment is reported as missing, not as forbidden.
        raise NotFound(f"assignment {assignment_id} not found")
    return row


def heartbeat(
    session: Session, assignment_id: int, worker: User, *, now: float | None = None
) -> dict[str, Any]:
    now = time.time() if now is None else now
    asg = _load_assignment(session, assignment_id, worker)
    if asg.status != "leased" or asg.deadline < now:
        raise Gone(
            f"assignment {assignment_id} is no longer leased to you "
            f"(status {asg.status if asg.deadline >= now else 'expired'})"
        )
    repository.touch_assignment(session, assignment_id, now)
    return {
        "assignment_id": assignment_id,
        "deadline": asg.deadline,
        "seconds_left": max(0.0, asg.deadline - now),
    }


def release(
    session: Session, assignment_id: int, worker: User, *, now: float | None = None
) -> None:
    """Give a task back without answering; another worker will get it."""
    _end_without_answer(session, assignment_id, worker, "released", now)


def decline(
    session: Session, assignment_id: int, worker: User, *, now: float | None = None
) -> None:
    """Skip a task. A task declined by workers-per-item workers is marked failed."""
    now = time.time() if now is None else now
    asg = _end_without_answer(session, assignment_id, worker, "skipped", now)
    task = repository.task_declines(session, asg.task_id, pg=is_postgresql(session))
    declines = task.declines + 1
    if declines >= task.target_answers and task.status in ("open", "full"):
        repository.fail_declined_task(session, asg.job_id, task.id, declines, now)
        jobs_service.refresh_state(session, asg.job_id, now=now)
    else:
        repository.count_decline(session, task.id, declines)


def _end_without_answer(
    session: Session, assignment_id: int, worker: User, status: str, now: float | None
) -> Any:
    now = time.time() if now is None else now
    asg = _load_assignment(session, assignment_id, worker)
    if asg.status != "leased":
        raise Conflict(f"assignment {assignment_id} is already {asg.status}")
    if asg.deadline < now:
        expire_lease(session, asg.job_id, asg.task_id, asg.id, worker.id, now)
        raise Gone(f"assignment {assignment_id} expired before it was {status}")
    end_lease(session, asg.id, asg.task_id, status, now)
    log_event(
        session,
        asg.job_id,
        asg.task_id,
        asg.id,
        worker.id,
        "decline" if status == "skipped" else "release",
        now,
    )
    return asg
