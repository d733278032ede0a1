"""The review queue: reviewers lease doubtful items, see every answer, and set the label.

An item is queued for review when its label was made by people, is not reviewed yet, and
either its confidence is at most ``max_confidence`` or, with ``disputed`` on, its workers
disagreed (classification: the counted answers are not all the same label; other types:
their mean pairwise agreement, by the task type's measure, is below ``min_agreement``).
Job settings: ``quality.review = {"max_confidence": 0.7, "disputed": false,
"min_agreement": 0.5}``; the ``max_confidence`` query parameter overrides the setting.
The queue is served lowest confidence first, then in import order. Labels a model flagged
as likely wrong (``POST /api/jobs/{name}/label-issues``, truthset.autolabel.label_issues)
come before all of them, with the reason ``suspected_error`` and the model's suggestion.

Leases. `lease_next_review` leases the item to the reviewer until now + the job's task
time limit; the `review_leases` row of the task (its primary key) makes the lease
exclusive: it is taken by one upsert that only replaces a released or expired lease, so
two reviewers never hold one item, on SQLite (whose write transactions are serialised)
and on PostgreSQL (where the label row is also locked ``SKIP LOCKED`` first, so a racing
reviewer moves on instead of waiting). A reviewer who already holds a live lease in the
job gets that item again. An expired lease puts the item back in the queue.

Errors: 404 ``not_found`` for an item not in the job; 409 ``conflict`` when the caller
does not hold the item's lease (another reviewer holds it, it was released, it was never
leased, or another reviewer already reviewed it); 410 ``gone`` when the caller's own lease
expired (lease it again with ``review/next``). Admins may submit without a lease. A
second submit of the same answer by the same reviewer is answered as the first.
"""

from __future__ import annotations

import re
import time
from itertools import combinations
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.errors import BadInput, Conflict, Gone
from truthset.jobs import repository as jobs_repository
from truthset.jobs.service import job_item, refresh_state
from truthset.labels.writer import write_label
from truthset.quality import comments, repository, review_repository
from truthset.store.models import Job, User
from truthset.store.raw import stored_json
from truthset.tasktypes import Consolidation, WorkerAnswer, get_task_type

SINGLE_LABEL_TYPES = (
    "image-classification",
    "text-classification",
    "audio-classification",
    "label-verification",
)
DEFAULT_MAX_CONFIDENCE = 0.7
DEFAULT_MIN_AGREEMENT = 0.5
_STARTED_FROM = re.compile(r"consolidated|empty|worker:.{1,100}")
# Candidates checked for disagreement per query while walking the queue.
_BATCH = 200


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def review_settings(job: Job, max_confidence: float | None = None) -> tuple[float, bool, float]:
    """(max confidence, whether disputed items are queued, least agreement not disputed)."""
    raw = (job.settings.get("quality") or {}).get("review") or {}
    if not isinstance(raw, dict):
        raise BadInput(f"settings.quality.review: expected an object, got {raw!r}")
    try:
        bar = float(raw.get("max_confidence", DEFAULT_MAX_CONFIDENCE))
        min_agreement = float(raw.get("min_agreement", DEFAULT_MIN_AGREEMENT))
    except (TypeError, ValueError):
        raise BadInput(f"settings.quality.review: numbers expected, got {raw!r}") from None
    if max_confidence is not None:
        bar = max_confidence
    return bar, bool(raw.get("disputed", False)), min_agreement


# -- disagreement --------------------------------------------------------------------------


def disputed_tasks(
    session: Session, job: Job, task_ids: list[int], *, min_agreement: float
) -> set[int]:
    """The tasks among ``task_ids`` whose counted answers disagree (see the module doc)."""
    if not task_ids:
        return set()
    rows = repository.counted_answers_of_tasks(session, job.id, task_ids)
    by_task: dict[int, list[Any]] = {}
    for task_id, content in rows:
        by_task.setdefault(int(task_id), []).append(stored_json(content))
    task_type = get_task_type(job.task_type)
    agree = getattr(task_type, "agreement", None)
    config = task_type.parse_label_config(job.label_config)
    out = set()
    for task_id, answers in by_task.items():
        if len(answers) < 2:
            continue
        if job.task_type in SINGLE_LABEL_TYPES:
            disputed = len({orjson.dumps(a.get("label")) for a in answers}) > 1
        elif agree is None:
            disputed = len({orjson.dumps(a, option=orjson.OPT_SORT_KEYS) for a in answers}) > 1
        else:
            values = [float(agree(a, b, config)) for a, b in combinations(answers, 2)]
            disputed = sum(values) / len(values) < min_agreement
        if disputed:
            out.add(task_id)
    return out


# -- leases ----------------------------------------------------------------------------------


def _try_lease(
    session: Session, job: Job, reviewer: User, task_id: int, now: float, pg: bool
) -> float | None:
    """The lease's deadline if the reviewer got the task, else None."""
    # On PostgreSQL, skip a label another reviewer is leasing right now rather than wait on
    # its insert; the upsert below still decides (its WHERE sees committed leases).
    if pg and repository.lock_unreviewed_label(session, task_id) is None:
        return None
    deadline = now + float(job.task_time_limit)
    got = repository.take_review_lease(session, task_id, job.id, reviewer.id, now, deadline)
    return deadline if got else None


def lease_next_review(
    session: Session,
    job: Job,
    reviewer: User,
    *,
    max_confidence: float | None = None,
    now: float | None = None,
) -> dict[str, Any] | None:
    """Lease the next queued item to the reviewer: its detail (every answer, the label)
    and ``review: {deadline, reason, confidence}``; None when the queue is empty."""
    now = time.time() if now is None else now
    bar, with_disputed, min_agreement = review_settings(job, max_confidence)
    held = repository.held_review_lease(session, job.id, reviewer.id, now)
    if held is not None:
        if held[3]:
            reason = "suspected_error"
        elif held[2] is not None and held[2] <= bar:
            reason = "low_confidence"
        else:
            reason = "disputed"
        return _detail(session, job, int(held[0]), float(held[1]), reason, held[2])
    pg = _is_pg(session)
    suspected = repository.suspected_error_candidates(session, job.id, reviewer.id, now, bar)
    for task_id, confidence in suspected:
        deadline = _try_lease(session, job, reviewer, task_id, now, pg)
        if deadline is not None:
            return _detail(session, job, task_id, deadline, "suspected_error", confidence)
    offset = 0
    while True:
        low = repository.low_confidence_candidates(
            session, job.id, reviewer.id, now, bar, limit=_BATCH, offset=offset
        )
        for task_id, confidence in low:
            deadline = _try_lease(session, job, reviewer, task_id, now, pg)
            if deadline is not None:
                return _detail(session, job, task_id, deadline, "low_confidence", confidence)
        if len(low) < _BATCH:
            break
        offset += _BATCH  # racing reviewers took a whole batch (rare)
    if not with_disputed:
        return None
    # Every disputed item above the bar comes after the low-confidence ones in the order.
    rest = repository.above_bar_candidates(session, job.id, reviewer.id, now, bar)
    for start in range(0, len(rest), _BATCH):
        batch = rest[start : start + _BATCH]
        disputed = disputed_tasks(
            session, job, [int(r[0]) for r in batch], min_agreement=min_agreement
        )
        for task_id, confidence in batch:
            if task_id not in disputed:
                continue
            deadline = _try_lease(session, job, reviewer, task_id, now, pg)
            if deadline is not None:
                return _detail(session, job, task_id, deadline, "disputed", confidence)
    return None


def _detail(
    session: Session, job: Job, task_id: int, deadline: float, reason: str, confidence: Any
) -> dict[str, Any]:
    from truthset.jobs.views import item_detail

    external_id = repository.item_external_id_of_task(session, task_id)
    detail = item_detail(session, job, external_id)
    detail["review"] = {"deadline": deadline, "reason": reason, "confidence": confidence}
    if reason == "suspected_error":
        detail["review"]["issue"] = stored_json(repository.label_issue(session, task_id))
    return detail


def _check_holder(lease: Any, reviewer: User, item_id: str, now: float) -> None:
    """Raise unless the reviewer holds a live lease on the item."""
    if lease is None or lease.status == "released":
        raise Conflict(f"item {item_id!r} is not leased to you: take it with review/next")
    if lease.status == "submitted":
        raise Conflict(f"item {item_id!r} was already reviewed by {lease.name!r}")
    if lease.reviewer_id != reviewer.id:
        if lease.deadline > now:
            raise Conflict(f"item {item_id!r} is leased to reviewer {lease.name!r}")
        raise Conflict(f"item {item_id!r} is not leased to you: take it with review/next")
    if lease.deadline <= now:
        raise Gone(f"your review lease on item {item_id!r} expired: take it with review/next")


def release_review(
    session: Session, job: Job, item_id: str, reviewer: User, *, now: float | None = None
) -> dict[str, Any]:
    """Give a leased item back to the queue (the holder, or an admin). Releasing an item
    one has already released is answered the same."""
    now = time.time() if now is None else now
    task_id = job_item(session, job, item_id).task_id
    lease = repository.review_lease(session, task_id, pg=_is_pg(session))
    if lease is not None and lease.status == "released" and lease.reviewer_id == reviewer.id:
        return {"item": item_id, "released": True}
    if reviewer.role != "admin" or lease is None or lease.status != "leased":
        _check_holder(lease, reviewer, item_id, now)
    repository.release_review_lease(session, task_id, now)
    session.flush()
    return {"item": item_id, "released": True}


def review_item(
    session: Session,
    job: Job,
    item_id: str,
    answer: Any,
    reviewer: User,
    *,
    started_from: str | None = None,
    comment: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The reviewer sets the final label (reviewed: exports say ``"reviewed": "yes"``) and
    the lease ends. Needs the caller's live lease, or the admin role. An unfinished task
    (an admin may label items nobody answered) is finished by it, and the job's state is
    refreshed: the last such label completes the job.

    The label's metadata names the reviewer (``reviewed-by``) and says whether the label
    changed (``adjustment-status``: ``adjusted`` or ``unadjusted``, as Ground Truth's
    adjustment jobs do); the item's thread gets an ``accepted`` or ``corrected`` entry
    with where the edit started (``started_from``: ``consolidated`` or ``worker:<name>``),
    the label before, and the reviewer's comment if any."""
    now = time.time() if now is None else now
    note = comments.comment_body(comment) if comment is not None and comment.strip() else ""
    if started_from is not None and not _STARTED_FROM.fullmatch(started_from):
        raise BadInput(
            f"started_from: 'consolidated', 'empty' or 'worker:<name>', got {started_from!r}"
        )
    task_type = get_task_type(job.task_type)
    config = task_type.parse_label_config(job.label_config)
    found = job_item(session, job, item_id)
    task_id, data = found.task_id, found.data
    content = task_type.validate_answer(answer, config, orjson.loads(data))
    # A type whose answers depend on the job's settings (audio segments: allow_overlap).
    check_settings = getattr(task_type, "check_answer_settings", None)
    if check_settings is not None:
        check_settings(content, job.settings)
    lease = repository.review_lease(session, task_id, pg=_is_pg(session))
    if (
        lease is not None
        and lease.status == "submitted"
        and lease.reviewer_id == reviewer.id
        and stored_json(lease.answer) == content
    ):
        return {"item": item_id, "reviewed": True}
    if reviewer.role != "admin":
        _check_holder(lease, reviewer, item_id, now)
    result = task_type.consolidate(
        [WorkerAnswer(worker_id=0, content=content)], config, job.settings
    )
    before = review_repository.label_value_and_artifact(session, task_id)
    changed = before is None or (
        stored_json(before[0]) != orjson.loads(orjson.dumps(result.value))
        or (before[1] is not None and bytes(before[1]) != (result.artifact or b""))
    )
    meta = {
        **reviewed_meta(result.meta),
        "reviewed-by": reviewer.name,
        "adjustment-status": "adjusted" if changed else "unadjusted",
    }
    write_label(
        session,
        job.id,
        task_id,
        Consolidation(
            # Audio segments keep each segment's confidence in the value itself.
            value=reviewed_meta(result.value) if isinstance(result.value, dict) else result.value,
            meta=meta,
            confidence=1.0,
            method="review",
            artifact=result.artifact,
        ),
        human=True,
        now=now,
        reviewed=True,
    )
    repository.record_review_submitted(
        session, task_id, job.id, reviewer.id, now, orjson.dumps(content).decode()
    )
    comments.record(
        session,
        job,
        task_id,
        reviewer,
        "corrected" if changed else "accepted",
        note,
        {
            "started_from": started_from or "consolidated",
            "changed": changed,
            "before": None if before is None else stored_json(before[0]),
        },
        now=now,
    )
    finish_reviewed_task(session, job, task_id, now)
    return {"item": item_id, "reviewed": True}


def finish_reviewed_task(session: Session, job: Job, task_id: int, now: float) -> None:
    """The reviewer's label finishes the task, as a worker's last answer would: a started
    task leaves the in-flight window, and the job may be done now."""
    status, in_window = repository.task_status_in_window(session, task_id)
    if status in ("open", "full", "failed"):
        repository.complete_task(session, task_id)
        if in_window:
            jobs_repository.leave_window(session, job.id)
        session.flush()
        refresh_state(session, job.id, now=now)
    session.flush()


def reviewed_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """A reviewer's label is certain: every confidence in its metadata (the label's, each
    object's, each mask class's) becomes 1.0, so that the export says what the console
    shows (a box set by a reviewer used to export its single-answer object confidence 0.0)."""

    def certain(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: 1.0 if k == "confidence" and isinstance(v, int | float) else certain(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [certain(v) for v in value]
        return value

    out: dict[str, Any] = certain(meta)
    return out


def review_queue(
    session: Session, job: Job, *, max_confidence: float | None = None, now: float | None = None
) -> dict[str, Any]:
    """How much review work a job has: items queued (flagged as likely wrong by a model, low
    confidence, and disputed when the job queues those), items leased to reviewers now, and
    items reviewed."""
    now = time.time() if now is None else now
    bar, with_disputed, min_agreement = review_settings(job, max_confidence)
    suspected = repository.count_suspected_error_candidates(session, job.id, now, bar)
    low = repository.count_low_confidence_candidates(session, job.id, now, bar)
    disputed = None
    if with_disputed:
        rest = repository.above_bar_candidate_task_ids(session, job.id, now, bar)
        disputed = sum(
            len(disputed_tasks(session, job, rest[i : i + _BATCH], min_agreement=min_agreement))
            for i in range(0, len(rest), _BATCH)
        )
    leased = repository.count_live_review_leases(session, job.id, now)
    reviewed = repository.count_reviewed_labels(session, job.id)
    return {
        "max_confidence": bar,
        "suspected_error": suspected,
        "low_confidence": low,
        "disputed": disputed,
        "queued": suspected + low + (disputed or 0),
        "leased": leased,
        "reviewed": reviewed,
    }
