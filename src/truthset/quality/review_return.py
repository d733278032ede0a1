"""Reject a label and return the item to its workers with a comment.

The workers' answers leave the task (kept, with the label before, in the thread's
``returned`` entry, so nothing is lost) and their assignments go, so the same workers may
take the task again. Their places are held for them (``task_returns``, migration 0017) for
``hold_hours`` (72 by default; 0: any worker at once): no other worker gets the task
meanwhile, and each of them finds their own earlier answer in their tool (the next body's
``prediction``). One who gives the task back (skip, release, expiry) frees the place for
any worker. The task reopens as a started one (served before new items) and the
item has no label until the answers are in again, when it is consolidated as any item is
and, if still doubtful, queued for review again. A completed job is resumed for it; a
stopped job is refused (resume it first). The workers see the comment on their next task
of the item and in their portal (GET /api/me/returned).

Only the reviewer holding the item's lease (or an admin) may return it; the answers of
named workers only when ``workers`` is given, else of every worker who answered. Excluded
answers (a worker below the quality bar) stay where they are: they no longer count.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.errors import BadInput, Conflict
from truthset.jobs import repository as jobs_repository
from truthset.jobs.service import job_item, resume_job
from truthset.quality import comments, repository, review_repository
from truthset.quality.review import _check_holder, _is_pg
from truthset.store.models import Job, User
from truthset.store.raw import stored_json

DEFAULT_HOLD_HOURS = 72.0


def return_item(
    session: Session,
    job: Job,
    item_id: str,
    reviewer: User,
    comment: Any,
    *,
    workers: list[str] | None = None,
    hold_hours: float = DEFAULT_HOLD_HOURS,
    now: float | None = None,
) -> dict[str, Any]:
    now = time.time() if now is None else now
    text = comments.comment_body(comment)
    if job.state in ("stopping", "stopped"):
        raise Conflict(
            f"job {job.name!r} is {job.state}: its workers cannot take tasks; resume it first"
        )
    task_id = int(job_item(session, job, item_id).task_id)
    lease = repository.review_lease(session, task_id, pg=_is_pg(session))
    if reviewer.role != "admin":
        _check_holder(lease, reviewer, item_id, now)
    # An excluded answer (its worker fell below the quality bar) no longer counts: there is
    # nothing to send back to that worker.
    answers = [a for a in review_repository.submitted_answers_of_task(session, task_id) if not a[4]]
    if workers is not None:
        known = {str(a[2]) for a in answers}
        unknown = [w for w in workers if w not in known]
        if unknown:
            raise BadInput(
                f"workers: {unknown[0]!r} has no counted answer on item {item_id!r} "
                "(did not answer it, or the answer is excluded)"
            )
        answers = [a for a in answers if a[2] in workers]
    if not answers:
        raise BadInput(f"item {item_id!r} has no worker answer to return")
    before = jobs_repository.label_of_task(session, task_id)
    status, in_window = repository.task_status_in_window(session, task_id)
    comments.record(
        session,
        job,
        task_id,
        reviewer,
        "returned",
        text,
        {
            "workers": [{"id": int(a[1]), "name": a[2]} for a in answers],
            "answers": {a[2]: stored_json(a[3]) for a in answers},
            "before": None if before is None else stored_json(before[0]),
        },
        now=now,
    )
    review_repository.forget_answers(session, task_id, [int(a[0]) for a in answers], now)
    if hold_hours > 0:
        review_repository.hold_places(
            session,
            task_id,
            [(int(a[1]), _as_text(a[3])) for a in answers],
            now=now,
            until=now + hold_hours * 3600.0,
        )
    review_repository.end_review_lease(session, task_id)
    if not in_window:
        # A finished task is in flight again, as when a worker first took it.
        jobs_repository.enter_window(session, job.id)
    session.flush()
    if job.state == "completed":
        resume_job(session, job, now=now)
    return {
        "item": item_id,
        "returned": True,
        "workers": [a[2] for a in answers],
        "was": status,
        "held_until": now + hold_hours * 3600.0 if hold_hours > 0 else None,
    }


def _as_text(content: Any) -> str:
    """A stored answer's content as JSON text (it comes as text or as decoded JSON)."""
    if isinstance(content, str):
        return content
    return orjson.dumps(content).decode()
