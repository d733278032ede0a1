"""Answers: a worker's submit, its idempotent replay, and recording the answer.

Submit is idempotent by assignment and by client key: a retry gets the first result and
writes nothing. An answer after the lease expired is accepted while the task still has
room, and refused with `410 gone` otherwise. The answer that completes a task has it
consolidated at once (work/consolidation.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.errors import BadInput, Conflict, Gone, NotFound
from truthset.jobs import snapshot as jobs_snapshot
from truthset.jobs.views import label_for_tool
from truthset.quality import gold
from truthset.store.models import User
from truthset.store.raw import raw
from truthset.tasktypes import WorkerAnswer, get_task_type
from truthset.tasktypes._edits import has_edit_rules
from truthset.work import consolidation
from truthset.work import statements as sql
from truthset.work.leases import expire_lease, is_postgresql, log_event


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


def _check_edits_allowed(
    session: Session, task_type: Any, job: Any, config: Any, content: Any, item_id: int
) -> None:
    """In a job chained on an earlier label, the edits its label config does not allow
    (editsAllowed: none; tasktypes/_edits.py) are refused. Costs nothing for a config
    without such rules: the earlier label is read only when there is one to keep."""
    check = getattr(task_type, "check_edits", None)
    if check is None or not has_edit_rules(config):
        return
    prior = label_for_tool(session, job.input_job_id, item_id)
    check(content, prior["value"] if prior is not None else None, config)


def _replay(row: Any) -> SubmitResult:
    """The first result of a submit, for its retry."""
    return SubmitResult(
        answer_id=row.id,
        assignment_id=row.assignment_id,
        task_id=row.task_id,
        submitted_at=row.submitted_at,
        task_complete=row.status in ("complete", "auto"),
        replayed=True,
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
    pg = is_postgresql(session)
    asg = raw(session).named(
        sql.SUBMIT_READ_PG if pg else sql.SUBMIT_READ,
        {"a": assignment_id, "w": worker.id, "k": client_key},
    )
    if client_key and (asg is None or asg.keyed is not None):
        prior = raw(session).named(sql.ANSWER_BY_CLIENT_KEY, {"w": worker.id, "k": client_key})
        if prior is not None:
            if prior.assignment_id != assignment_id:
                raise Conflict(f"client_key {client_key!r} was already used for another assignment")
            return _replay(prior)
    if asg is None or asg.worker_id != worker.id:
        # Another worker's assignment is reported as missing, not as forbidden.
        raise NotFound(f"assignment {assignment_id} not found")
    if asg.status == "submitted":
        return _replay(raw(session).named(sql.ANSWER_OF_ASSIGNMENT, {"a": assignment_id}))
    if asg.status in ("skipped", "released"):
        raise Conflict(f"assignment {assignment_id} was {asg.status}; its answer cannot be taken")

    job = jobs_snapshot.job_view(session, int(asg.job_id), now=now)
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
    # A type whose answers depend on the job's settings (audio segments: allow_overlap).
    check_settings = getattr(task_type, "check_answer_settings", None)
    if check_settings is not None:
        check_settings(content, job.settings)
    if job.input_job_id is not None:
        _check_edits_allowed(session, task_type, job, config, content, asg.item_id)

    lease_live = asg.status == "leased" and asg.deadline >= now
    if asg.status == "leased" and not lease_live:
        expire_lease(session, asg.job_id, asg.task_id, asg.id, worker.id, now)
        task = raw(session).named(sql.TASK_FOR_LATE_ANSWER, {"t": asg.task_id})
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
    answer_id, all_answers = _record_answer(session, params, content, completes=completes, pg=pg)

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


def _record_answer(
    session: Session, params: dict[str, Any], content: Any, *, completes: bool, pg: bool
) -> tuple[int, list[WorkerAnswer] | None]:
    """The answer's four writes: the answer, its assignment submitted, the task's counts,
    the activity event. Returns the answer's id and, on PostgreSQL for the answer that
    completes its task, every answer of the task for consolidation (None otherwise:
    consolidation reads them itself)."""
    if pg and completes:
        # One round trip for the four writes and the answers consolidation needs.
        rows = raw(session).all(sql.RECORD_LAST_ANSWER_PG, params)
        all_answers = [
            consolidation.worker_answer(r[1], r[2], r[3]) for r in rows if r[1] is not None
        ]
        all_answers.append(consolidation.worker_answer(params["w"], content, rows[0][4]))
        return rows[0][0], all_answers
    if pg:
        # One round trip for the four writes (the statements of the SQLite branch below).
        return raw(session).scalar(sql.RECORD_ANSWER_PG, params), None
    answer_id = raw(session).scalar(sql.INSERT_ANSWER_RETURNING_ID, params)
    raw(session).execute(sql.ANSWERED, params)
    raw(session).execute(sql.COUNT_ANSWER, params)
    log_event(session, params["j"], params["t"], params["a"], params["w"], "submit", params["now"])
    return answer_id, None
