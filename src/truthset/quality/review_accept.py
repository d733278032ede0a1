"""Accept an item's label as it is: the reviewer's "this is right" without redrawing it.

The label keeps its value, its mask file and its metadata; it becomes reviewed (exports say
``"reviewed": "yes"``) and certain (confidence 1.0), names its reviewer (``reviewed-by``)
and says ``adjustment-status: unadjusted``; the thread gets an ``accepted`` entry. Needs the
caller's live lease (or the admin role), as a review submit does, and a label to accept.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.errors import BadInput
from truthset.jobs.service import job_item
from truthset.labels.writer import write_label
from truthset.quality import comments, repository, review_repository
from truthset.quality.review import _check_holder, _is_pg, finish_reviewed_task, reviewed_meta
from truthset.store.models import Job, User
from truthset.store.raw import stored_json
from truthset.tasktypes import Consolidation


def accept_item(
    session: Session,
    job: Job,
    item_id: str,
    reviewer: User,
    *,
    comment: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    now = time.time() if now is None else now
    note = comments.comment_body(comment) if comment is not None and comment.strip() else ""
    task_id = int(job_item(session, job, item_id).task_id)
    lease = repository.review_lease(session, task_id, pg=_is_pg(session))
    if (
        lease is not None
        and lease.status == "submitted"
        and lease.reviewer_id == reviewer.id
        and stored_json(lease.answer) == {"accepted": True}
    ):
        return {"item": item_id, "reviewed": True, "accepted": True}
    if reviewer.role != "admin":
        _check_holder(lease, reviewer, item_id, now)
    label = review_repository.full_label(session, task_id)
    if label is None:
        raise BadInput(f"item {item_id!r} has no label to accept: set one with the tool")
    value, meta, artifact = stored_json(label[0]), stored_json(label[1]) or {}, label[2]
    write_label(
        session,
        job.id,
        task_id,
        Consolidation(
            value=reviewed_meta(value) if isinstance(value, dict) else value,
            meta={
                **reviewed_meta(meta),
                "reviewed-by": reviewer.name,
                "adjustment-status": "unadjusted",
            },
            confidence=1.0,
            method="review",
            artifact=None if artifact is None else bytes(artifact),
        ),
        human=True,
        now=now,
        reviewed=True,
    )
    repository.record_review_submitted(
        session, task_id, job.id, reviewer.id, now, orjson.dumps({"accepted": True}).decode()
    )
    comments.record(
        session,
        job,
        task_id,
        reviewer,
        "accepted",
        note,
        {"started_from": "consolidated", "changed": False, "before": value},
        now=now,
    )
    finish_reviewed_task(session, job, task_id, now)
    return {"item": item_id, "reviewed": True, "accepted": True}
