"""The work engine: leasing tasks to workers, answers, declines, releases and expiry.

`lease_next_task` is one atomic step. On SQLite the whole write transaction holds the
database's single write lock (``BEGIN IMMEDIATE``), so the pick and the lease cannot
interleave with another worker's. On PostgreSQL the picked task row is locked with
``FOR UPDATE SKIP LOCKED`` so concurrent workers pick different rows without waiting, and
the job row, which holds the in-flight counter that bounds max-concurrent-tasks, is
updated only when a new task is started, by a conditional increment as late in the
transaction as possible (the row stays locked until the commit). Locks are taken
``FOR NO KEY UPDATE``: they do not block the foreign-key checks of concurrent inserts
that refer to the locked row.

Invariants, each enforced here and checked by the concurrency tests:
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

from truthset.errors import BadInput, Conflict, Forbidden, Gone, NotFound
from truthset.jobs import service as jobs_service
from truthset.quality import gold
from truthset.store.models import User
from truthset.store.raw import raw
from truthset.tasktypes import get_task_type
from truthset.work import consolidation
from truthset.work.window import window_ledger

# Per database (engine) and job: when this process last swept its expired leases.
_LAST_EXPIRY_SWEEP: WeakKeyDictionary[Any, dict[int, float]] = WeakKeyDictionary()
# Expired leases are swept lazily by `lease_next_task` at most this often per job and
# process; the background sweeper covers idle jobs.
EXPIRY_SWEEP_INTERVAL = 1.0


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


@dataclass(frozen=True)
class SubmitResult:
    answer_id: int
    assignment_id: int
    task_id: int
    submitted_at: float
    task_complete: bool
    # Instant feedback on gold items, when the job turns it on.
    feedback: dict[str, Any] | None = None
    replayed: bool = False


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _log(
    session: Session, job_id: int, task_id: int, asg_id: int, worker_id: int, event: str, now: float
) -> None:
    raw(session).execute(
        "INSERT INTO activity_events (job_id, task_id, assignment_id, worker_id, event, at) "
        "VALUES (:j, :t, :a, :w, :e, :at)",
        {"j": job_id, "t": task_id, "a": asg_id, "w": worker_id, "e": event, "at": now},
    )


# -- expiry -------------------------------------------------------------------------------


def expire_leases(session: Session, job_id: int, now: float | None = None) -> int:
    """Return every lease of a job past its deadline to the pool. Returns how many."""
    now = time.time() if now is None else now
    lock = " FOR NO KEY UPDATE SKIP LOCKED" if _is_pg(session) else ""
    rows = raw(session).all(
        "SELECT id, task_id, worker_id FROM assignments "
        "WHERE job_id = :j AND status = 'leased' AND deadline < :now" + lock,
        {"j": job_id, "now": now},
    )
    for asg_id, task_id, worker_id in rows:
        _end_lease(session, asg_id, task_id, "expired", now)
        _log(session, job_id, task_id, asg_id, worker_id, "expire", now)
    return len(rows)


def _end_lease(session: Session, asg_id: int, task_id: int, status: str, now: float) -> None:
    raw(session).execute(
        "UPDATE assignments SET status = :s, ended_at = :now WHERE id = :a",
        {"s": status, "now": now, "a": asg_id},
    )
    raw(session).execute(
        "UPDATE tasks SET live_leases = live_leases - 1, updated_at = :now, "
        "status = CASE WHEN status = 'full' THEN 'open' ELSE status END WHERE id = :t",
        {"now": now, "t": task_id},
    )


def _maybe_sweep(session: Session, job_id: int, now: float) -> int:
    swept = _LAST_EXPIRY_SWEEP.setdefault(session.get_bind().engine, {})
    last = swept.get(job_id)
    if last is None or abs(now - last) >= EXPIRY_SWEEP_INTERVAL:
        swept[job_id] = now
        return expire_leases(session, job_id, now)
    return 0


# -- leasing ------------------------------------------------------------------------------

# The pick of one task, by priority then import order. On PostgreSQL the NOT EXISTS stays
# a probe of (task_id, worker_id) per candidate task (`OFFSET 0`): planned as an anti-join
# (on a freshly filled table's statistics) it read all of the worker's assignments for
# every candidate, a cost that grew with each answer.
_PICK_TEMPLATE = (
    "SELECT t.id, t.item_id, t.started, t.is_gold, i.external_id, i.data "
    "FROM tasks t JOIN items i ON i.id = t.item_id "
    "WHERE t.job_id = :j AND t.status = 'open' AND t.is_gold = {gold} AND t.started = {started} "
    "AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.worker_id = :w"
    "{probe}) AND t.priority >= {min_priority}{gate} "
    "ORDER BY t.priority DESC, t.position LIMIT 1{lock}"
)
_PG_PICK = {"probe": " OFFSET 0", "lock": " FOR NO KEY UPDATE OF t SKIP LOCKED"}
_PICK = _PICK_TEMPLATE.format(
    gold=":gold", started=":started", min_priority=":min_priority", gate="", probe="", lock=""
)
_PICK_PG = _PICK_TEMPLATE.format(
    gold=":gold", started=":started", min_priority=":min_priority", gate="", **_PG_PICK
)
_INSERT_ASSIGNMENT = (
    "INSERT INTO assignments (task_id, job_id, worker_id, status, leased_at, "
    "deadline, last_seen_at) VALUES (:t, :j, :w, 'leased', :now, :d, :now) "
    "ON CONFLICT (task_id, worker_id) DO NOTHING RETURNING id"
)
_LEASE_COUNTS = (
    "live_leases = live_leases + 1, started = 1, updated_at = :now, "
    "status = CASE WHEN live_leases + 1 + answers >= target_answers AND is_gold = 0 "
    "THEN 'full' ELSE 'open' END"
)
_COUNT_LEASE = f"UPDATE tasks SET {_LEASE_COUNTS} WHERE id = :t"
# PostgreSQL: the lease's three writes for the task in `pk`, in the statement that picked
# it. Nothing is written when `pk` holds no task, or when the worker raced itself to it.
_LEASE_WRITES_PG = (
    "asg AS (INSERT INTO assignments (task_id, job_id, worker_id, status, leased_at, deadline, "
    "last_seen_at) SELECT pk.id, :j, :w, 'leased', :now, :d, :now FROM pk WHERE pk.id IS NOT NULL "
    "ON CONFLICT (task_id, worker_id) DO NOTHING RETURNING id, task_id), "
    f"tsk AS (UPDATE tasks SET {_LEASE_COUNTS} FROM asg WHERE tasks.id = asg.task_id), "
    "ev AS (INSERT INTO activity_events (job_id, task_id, assignment_id, worker_id, event, at) "
    "SELECT :j, asg.task_id, asg.id, :w, 'accept', :now FROM asg) "
)
_LEASE_PG = f"WITH pk AS (SELECT CAST(:t AS BIGINT) AS id), {_LEASE_WRITES_PG}SELECT id FROM asg"
_CHECK = (
    "SELECT (SELECT 1 FROM job_teams jt JOIN team_members tm ON tm.team_id = jt.team_id "
    "WHERE jt.job_id = :j AND tm.user_id = :w LIMIT 1) AS member, "
    "(SELECT blocked FROM worker_stats WHERE job_id = :j AND worker_id = :w) AS blocked"
)
# PostgreSQL, for a job without gold items or qualification: the worker's check, the pick
# (a started task first, else a new one when the window has room) and the lease's writes
# in one statement, one round trip for the whole of "next task". The second pick runs
# only when the first found nothing (its `s.id IS NULL` is a one-time filter), and nothing
# is picked for a worker the check turns away.
_ADMITTED = " AND (c.member IS NOT NULL OR :admin) AND c.blocked IS NOT TRUE"
_PICK_AND_LEASE = (
    "WITH pk AS (SELECT c.member, c.blocked, COALESCE(s.id, u.id) AS id, "
    "COALESCE(s.item_id, u.item_id) AS item_id, COALESCE(s.started, u.started) AS started, "
    "COALESCE(s.external_id, u.external_id) AS external_id, COALESCE(s.data, u.data) AS data "
    f"FROM ({_CHECK} OFFSET 0) c LEFT JOIN LATERAL ("
    + _PICK_TEMPLATE.format(
        gold="0", started="1", min_priority=":any_priority", gate=_ADMITTED, **_PG_PICK
    )
    + ") s ON true LEFT JOIN LATERAL ("
    + _PICK_TEMPLATE.format(
        gold="0",
        started="0",
        min_priority=":min_priority",
        gate=f"{_ADMITTED} AND s.id IS NULL AND :may_start",
        **_PG_PICK,
    )
    + f") u ON true), {_LEASE_WRITES_PG}"
    "SELECT pk.member, pk.blocked, pk.id, pk.item_id, pk.started, pk.external_id, pk.data, "
    "asg.id FROM pk LEFT JOIN asg ON true"
)
# Tasks with a negative priority wait: an auto-labeling job holds back everything but the
# current batch for people until the model's next iteration (Ground Truth's batches).
HELD_BACK = -1.0


def _pick(
    session: Session,
    job_id: int,
    worker_id: int,
    *,
    gold: int,
    started: int,
    min_priority: float = float("-inf"),
) -> Any:
    sql = _PICK_PG if _is_pg(session) else _PICK
    params = {
        "j": job_id,
        "w": worker_id,
        "gold": gold,
        "started": started,
        "min_priority": max(min_priority, -1e300),
    }
    return raw(session).first(sql, params)


def _check_worker(session: Session, job: Any, worker: User) -> None:
    """Team membership and the quality bar, in one query."""
    member, blocked = raw(session).first(_CHECK, {"j": job.id, "w": worker.id})
    _judge_worker(job, worker, member, blocked)


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
) -> LeasedTask | None:
    """Pick the next task for this worker by priority and lease it. None when no work."""
    now = time.time() if now is None else now
    gold_rate = float(job.settings.get("gold_rate") or 0.0)
    qualification = job.settings.get("qualification")
    if _is_pg(session) and job.state == "in_progress" and not gold_rate and not qualification:
        return _lease_pg(session, job, worker, now)
    _check_worker(session, job, worker)
    if job.state != "in_progress":
        return None
    _maybe_sweep(session, job.id, now)

    row = None
    qualifying = bool(qualification) and gold.needs_qualification(session, job, worker.id)
    if qualifying or (gold_rate > 0 and (rng or random).random() < gold_rate):
        row = _pick(session, job.id, worker.id, gold=1, started=1) or _pick(
            session, job.id, worker.id, gold=1, started=0
        )
        if row is None and qualifying:
            return None
    if row is None:
        row = _pick(session, job.id, worker.id, gold=0, started=1)
    claims_window = False
    if row is None and _may_start_new_task(session, job):
        gated = bool(job.settings.get("auto_label"))
        row = _pick(
            session,
            job.id,
            worker.id,
            gold=0,
            started=0,
            min_priority=0.0 if gated else float("-inf"),
        )
        claims_window = row is not None
    if row is None:
        return None
    task_id, item_id, started, is_gold, ext_id, data = row

    deadline = now + job.task_time_limit
    params = {"t": task_id, "j": job.id, "w": worker.id, "now": now, "d": deadline}
    if _is_pg(session):
        asg_id = raw(session).scalar(_LEASE_PG, params)  # the three writes, one round trip
    else:
        asg_id = raw(session).scalar(_INSERT_ASSIGNMENT, params)
        if asg_id is not None:
            raw(session).execute(_COUNT_LEASE, params)
            _log(session, job.id, task_id, asg_id, worker.id, "accept", now)
    if asg_id is None:
        # The same worker raced itself to this task in two requests; the other one won.
        return None
    # Last, because on PostgreSQL the job row stays locked from here to the commit.
    if claims_window and not _claim_window_slot(session, job):
        _undo_lease(session, job, task_id, asg_id, now)
        return None
    return LeasedTask(
        asg_id, task_id, job.id, item_id, ext_id, orjson.loads(data), deadline, now, bool(is_gold)
    )


def _lease_pg(session: Session, job: Any, worker: User, now: float) -> LeasedTask | None:
    """`lease_next_task` on PostgreSQL for a job without gold items or qualification: the
    check, the pick and the lease are one statement (_PICK_AND_LEASE); the window is
    looked at before it and claimed after it, as on the general path."""
    _maybe_sweep(session, job.id, now)
    may_start = _may_start_new_task(session, job)
    sql = raw(session)
    deadline = now + job.task_time_limit
    row = sql.first(
        _PICK_AND_LEASE,
        {
            "j": job.id,
            "w": worker.id,
            "admin": worker.role == "admin",
            "any_priority": -1e300,
            # An auto-labeling job holds back tasks below priority 0 (HELD_BACK).
            "min_priority": 0.0 if job.settings.get("auto_label") else -1e300,
            "may_start": may_start,
            "now": now,
            "d": deadline,
        },
        write=False,  # counted below, when it leased
    )
    member, blocked, task_id, item_id, started, ext_id, data, asg_id = row
    if asg_id is not None:
        sql.writes += 1
    _judge_worker(job, worker, member, blocked)
    if asg_id is None:
        # No task for this worker, or the same worker raced itself to one.
        return None
    if not started and not _claim_window_slot(session, job):
        _undo_lease(session, job, task_id, asg_id, now)
        return None
    return LeasedTask(
        asg_id, task_id, job.id, item_id, ext_id, orjson.loads(data), deadline, now, False
    )


def _undo_lease(session: Session, job: Any, task_id: int, asg_id: int, now: float) -> None:
    """Take back a lease that started a task the window had no room for (another worker
    took the last slot since we looked), inside this transaction."""
    raw(session).execute(
        "DELETE FROM activity_events WHERE job_id = :j AND at = :now AND assignment_id = :a",
        {"j": job.id, "now": now, "a": asg_id},
    )
    raw(session).execute("DELETE FROM assignments WHERE id = :a", {"a": asg_id})
    raw(session).execute(
        "UPDATE tasks SET live_leases = live_leases - 1, started = 0, status = 'open' "
        "WHERE id = :t",
        {"t": task_id},
    )


def _has_budget(job: Any) -> bool:
    return job.max_human_labeled is not None or job.max_percentage_labeled is not None


def _may_start_new_task(session: Session, job: Any) -> bool:
    """Max-concurrent-tasks and the stopping conditions gate new (unstarted) tasks.

    Without stopping conditions this is a look without a lock; `_claim_window_slot`
    makes it exact. With them, the job row is locked here, because the budget counts
    labeled tasks too and must not change between the check and the lease."""
    if _has_budget(job):
        lock = " FOR NO KEY UPDATE" if _is_pg(session) else ""
        in_flight = raw(session).scalar(
            "SELECT in_flight FROM jobs WHERE id = :j" + lock, {"j": job.id}
        )
        if in_flight >= job.max_concurrent_tasks:
            return False
        return not jobs_service.human_budget_reached(session, job, extra=in_flight)
    ledger = window_ledger(session)
    if ledger is not None:  # in a PostgreSQL batch: written before its commit
        return ledger.in_flight(session, job.id) < job.max_concurrent_tasks
    in_flight = raw(session).scalar("SELECT in_flight FROM jobs WHERE id = :j", {"j": job.id})
    return bool(in_flight < job.max_concurrent_tasks)


def _claim_window_slot(session: Session, job: Any) -> bool:
    """Count a newly started task in the job's in-flight window, if it still has room."""
    if _has_budget(job):  # the row is locked and was checked: the room is there
        raw(session).execute(
            "UPDATE jobs SET in_flight = in_flight + 1 WHERE id = :j", {"j": job.id}
        )
        return True
    ledger = window_ledger(session)
    if ledger is not None:
        return ledger.claim(session, job.id, job.max_concurrent_tasks)
    claimed = raw(session).scalar(
        "UPDATE jobs SET in_flight = in_flight + 1 WHERE id = :j AND in_flight < :max "
        "RETURNING in_flight",
        {"j": job.id, "max": job.max_concurrent_tasks},
    )
    return claimed is not None


# -- the worker's actions on an assignment -------------------------------------------------


def _load_assignment(session: Session, assignment_id: int, worker: User) -> Any:
    lock = " FOR NO KEY UPDATE" if _is_pg(session) else ""
    row = raw(session).named(
        "SELECT id, task_id, job_id, worker_id, status, deadline, leased_at "
        "FROM assignments WHERE id = :a" + lock,
        {"a": assignment_id},
    )
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
    raw(session).execute(
        "UPDATE assignments SET last_seen_at = :now WHERE id = :a", {"now": now, "a": assignment_id}
    )
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
    lock = " FOR NO KEY UPDATE" if _is_pg(session) else ""
    task = raw(session).named(
        "SELECT id, declines, target_answers, status, started FROM tasks WHERE id = :t" + lock,
        {"t": asg.task_id},
    )
    declines = task.declines + 1
    if declines >= task.target_answers and task.status in ("open", "full"):
        raw(session).execute(
            "UPDATE tasks SET declines = :d, status = 'failed', updated_at = :now WHERE id = :t",
            {"d": declines, "now": now, "t": task.id},
        )
        raw(session).execute(
            "UPDATE jobs SET in_flight = in_flight - 1 WHERE id = :j", {"j": asg.job_id}
        )
        jobs_service.refresh_state(session, asg.job_id, now=now)
    else:
        raw(session).execute(
            "UPDATE tasks SET declines = :d WHERE id = :t", {"d": declines, "t": task.id}
        )


def _end_without_answer(
    session: Session, assignment_id: int, worker: User, status: str, now: float | None
) -> Any:
    now = time.time() if now is None else now
    asg = _load_assignment(session, assignment_id, worker)
    if asg.status != "leased":
        raise Conflict(f"assignment {assignment_id} is already {asg.status}")
    if asg.deadline < now:
        _end_lease(session, asg.id, asg.task_id, "expired", now)
        _log(session, asg.job_id, asg.task_id, asg.id, worker.id, "expire", now)
        raise Gone(f"assignment {assignment_id} expired before it was {status}")
    _end_lease(session, asg.id, asg.task_id, status, now)
    _log(
        session,
        asg.job_id,
        asg.task_id,
        asg.id,
        worker.id,
        "decline" if status == "skipped" else "release",
        now,
    )
    return asg


def _existing_answer(session: Session, where: str, params: dict[str, Any]) -> Any:
    return raw(session).named(
        "SELECT ans.id, ans.assignment_id, ans.task_id, ans.submitted_at, t.status "
        "FROM answers ans JOIN tasks t ON t.id = ans.task_id WHERE " + where,
        params,
    )


def _replay(row: Any) -> SubmitResult:
    return SubmitResult(
        answer_id=row.id,
        assignment_id=row.assignment_id,
        task_id=row.task_id,
        submitted_at=row.submitted_at,
        task_complete=row.status in ("complete", "auto"),
        replayed=True,
    )


@dataclass(frozen=True)
class _Task:
    id: int
    status: str
    answers: int
    live_leases: int
    target_answers: int
    is_gold: int
    item_id: int
    data: str


_INSERT_ANSWER = (
    "INSERT INTO answers (assignment_id, task_id, job_id, worker_id, client_key, content, "
    "submitted_at, time_spent, excluded) VALUES (:a, :t, :j, :w, :k, :c, :now, :s, :x)"
)
_ANSWERED = "UPDATE assignments SET status = 'submitted', ended_at = :now WHERE id = :a"
_COUNT_ANSWER = "UPDATE tasks SET answers = :n, live_leases = :l, updated_at = :now WHERE id = :t"
# PostgreSQL runs data-modifying statements in WITH as one statement: a round trip per
# submit instead of four (the work loop there is bound by per-statement cost).
_RECORD_ANSWER_PG = (
    f"WITH ans AS ({_INSERT_ANSWER} RETURNING id), "
    f"asg AS ({_ANSWERED}), "
    f"tsk AS ({_COUNT_ANSWER}), "
    "ev AS (INSERT INTO activity_events (job_id, task_id, assignment_id, worker_id, event, at) "
    "VALUES (:j, :t, :a, :w, 'submit', :now)) "
    "SELECT id FROM ans"
)
# ... and, for the answer that completes its task, the task's earlier answers with their
# workers' skills (the statement does not see its own insert), for consolidation.
_RECORD_LAST_ANSWER_PG = _RECORD_ANSWER_PG.replace(
    "SELECT id FROM ans",
    "SELECT ans.id, p.worker_id, p.content, p.skill, (SELECT skill FROM worker_stats "
    "WHERE job_id = :j AND worker_id = :w) FROM ans LEFT JOIN (SELECT e.id, e.worker_id, "
    "e.content, ws.skill FROM answers e LEFT JOIN worker_stats ws ON ws.job_id = e.job_id "
    "AND ws.worker_id = e.worker_id WHERE e.task_id = :t AND e.excluded = :x) p ON true "
    "ORDER BY p.id",
)


def submit_answer(
    session: Session,
    assignment_id: int,
    worker: User,
    answer: Any,
    *,
    client_key: str | None = None,
    time_spent: float | None = None,
    now: float | None = None,
) -> SubmitResult:
    """Record a worker's answer. Retries (same assignment or same client key) return the
    first result and write nothing."""
    now = time.time() if now is None else now
    if client_key is not None and (
        not isinstance(client_key, str) or not 0 < len(client_key) <= 100
    ):
        raise BadInput("client_key must be a string of 1 to 100 characters")
    # One read for the assignment, its task and item, and whether this client key was used.
    lock = " FOR NO KEY UPDATE OF a, t" if _is_pg(session) else ""
    asg = raw(session).named(
        "SELECT a.id, a.task_id, a.job_id, a.worker_id, a.status, a.deadline, a.leased_at, "
        "t.id AS tid, t.status AS task_status, t.answers, t.live_leases, t.target_answers, "
        "t.is_gold, t.item_id, i.data, (SELECT ans.assignment_id FROM answers ans "
        "WHERE ans.worker_id = :w AND ans.client_key = :k) AS keyed "
        "FROM assignments a JOIN tasks t ON t.id = a.task_id JOIN items i ON i.id = t.item_id "
        "WHERE a.id = :a" + lock,
        {"a": assignment_id, "w": worker.id, "k": client_key},
    )
    if client_key and (asg is None or asg.keyed is not None):
        prior = _existing_answer(
            session, "ans.worker_id = :w AND ans.client_key = :k", {"w": worker.id, "k": client_key}
        )
        if prior is not None:
            if prior.assignment_id != assignment_id:
                raise Conflict(f"client_key {client_key!r} was already used for another assignment")
            return _replay(prior)
    if asg is None or asg.worker_id != worker.id:
        # Another worker's assignment is reported as missing, not as forbidden.
        raise NotFound(f"assignment {assignment_id} not found")
    if asg.status == "submitted":
        prior = _existing_answer(session, "ans.assignment_id = :a", {"a": assignment_id})
        return _replay(prior)
    if asg.status in ("skipped", "released"):
        raise Conflict(f"assignment {assignment_id} was {asg.status}; its answer cannot be taken")

    job = jobs_service.job_view(session, int(asg.job_id), now=now)
    assert job is not None
    task_type = get_task_type(job.task_type)
    config = job.parsed_label_config
    task = _Task(
        asg.tid,
        asg.task_status,
        asg.answers,
        asg.live_leases,
        asg.target_answers,
        asg.is_gold,
        asg.item_id,
        asg.data,
    )
    content = task_type.validate_answer(answer, config, orjson.loads(task.data))

    lease_live = asg.status == "leased" and asg.deadline >= now
    if asg.status == "leased" and not lease_live:
        _end_lease(session, asg.id, asg.task_id, "expired", now)
        _log(session, asg.job_id, asg.task_id, asg.id, worker.id, "expire", now)
        task = raw(session).named(
            "SELECT t.id, t.status, t.answers, t.live_leases, t.target_answers, t.is_gold, "
            "t.item_id, i.data FROM tasks t JOIN items i ON i.id = t.item_id WHERE t.id = :t",
            {"t": asg.task_id},
        )
    if not lease_live:
        # A late answer is still welcome while the task has room for it.
        has_room = task.status == "open" and (
            task.is_gold or task.live_leases + task.answers < task.target_answers
        )
        if not has_room:
            raise Gone(
                f"your lease on assignment {assignment_id} expired at "
                f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(asg.deadline))} and the task "
                "has since been given to other workers; your answer was not recorded"
            )

    spent = float(time_spent) if time_spent is not None else max(0.0, now - asg.leased_at)
    if spent < 0 or spent != spent:
        raise BadInput("time_spent must be a non-negative number of seconds")
    answers = task.answers + 1
    live = task.live_leases - (1 if lease_live else 0)
    params = {
        "a": asg.id,
        "t": task.id,
        "j": asg.job_id,
        "w": worker.id,
        "k": client_key,
        "c": orjson.dumps(content).decode(),
        "now": now,
        "s": spent,
        "x": False,
        "n": answers,
        "l": live,
    }
    completes = (
        not task.is_gold and answers >= task.target_answers and task.status in ("open", "full")
    )
    all_answers = None
    if _is_pg(session) and completes:
        # One round trip for the four writes and the answers consolidation needs.
        rows = raw(session).all(_RECORD_LAST_ANSWER_PG, params)
        answer_id = rows[0][0]
        all_answers = [
            consolidation.worker_answer(r[1], r[2], r[3]) for r in rows if r[1] is not None
        ]
        all_answers.append(consolidation.worker_answer(worker.id, content, rows[0][4]))
    elif _is_pg(session):
        # One round trip for the four writes (the statements of _RECORD_ANSWER below).
        answer_id = raw(session).scalar(_RECORD_ANSWER_PG, params)
    else:
        answer_id = raw(session).scalar(_INSERT_ANSWER + " RETURNING id", params)
        raw(session).execute(_ANSWERED, params)
        raw(session).execute(_COUNT_ANSWER, params)
        _log(session, asg.job_id, task.id, asg.id, worker.id, "submit", now)

    feedback = None
    complete = False
    if task.is_gold:
        feedback = gold.score_gold_answer(session, job, worker.id, task.item_id, content)
    elif completes:
        complete = consolidation.consolidate_task(
            session, job, task.id, now=now, answers=all_answers
        )
    return SubmitResult(
        answer_id=answer_id,
        assignment_id=asg.id,
        task_id=task.id,
        submitted_at=now,
        task_complete=complete,
        feedback=feedback,
    )
