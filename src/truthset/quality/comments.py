"""The review thread of an item: comments between its reviewer and its annotators, and the
reviewer's decisions in the order they were made.

Entries: ``comment`` (anyone on the thread), ``accepted`` (the reviewer kept the label as it
was), ``corrected`` (the reviewer changed it; ``detail`` says where the edit started from and
what the label was before), ``returned`` (the reviewer sent the item back to the workers
named in ``detail``, with the comment as the reason; see review.return_item).

Who may read and write a thread: staff; a reviewer of the job (their teams' jobs); a worker
who holds or held a task of the item, or whom a reviewer returned it to. Anyone else is told
the item is not found, as the work routes do.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from truthset.errors import BadInput, NotFound
from truthset.jobs.access import can_see_job, is_staff
from truthset.jobs.service import job_item
from truthset.quality import review_repository as repository
from truthset.store.models import Job, User
from truthset.store.raw import stored_json

MAX_COMMENT = 5000
REVIEWER_ROLES = ("admin", "requester", "reviewer")


def comment_body(body: Any, field: str = "comment") -> str:
    """A comment's text, trimmed; a clear 400 for an empty or oversized one."""
    if not isinstance(body, str) or not body.strip():
        raise BadInput(f"{field}: write what should change (an empty comment says nothing)")
    text = body.strip()
    if len(text) > MAX_COMMENT:
        raise BadInput(f"{field}: at most {MAX_COMMENT} characters, got {len(text)}")
    return text


def may_use_thread(session: Session, job: Job, task_id: int, user: User) -> bool:
    if is_staff(user):
        return True
    if not can_see_job(session, job, user):
        return False
    if user.role in REVIEWER_ROLES:
        return True
    return repository.worked_on_task(
        session, task_id, user.id
    ) or user.id in repository.returned_worker_ids(session, task_id)


def _task_for(session: Session, job: Job, item_id: str, user: User) -> int:
    task_id = int(job_item(session, job, item_id).task_id)
    if not may_use_thread(session, job, task_id, user):
        raise NotFound(f"item {item_id!r} is not part of job {job.name!r}")
    return task_id


def thread(session: Session, job: Job, item_id: str, user: User) -> dict[str, Any]:
    """The item's thread, oldest entry first."""
    task_id = _task_for(session, job, item_id, user)
    return {"item": item_id, "comments": entries(session, task_id, user)}


def entries(session: Session, task_id: int, viewer: User) -> list[dict[str, Any]]:
    """The thread as the viewer may see it: a worker sees only their own answer among the
    returned ones (the others' would tell them how to answer)."""
    reviewer = viewer.role in REVIEWER_ROLES
    out = []
    for cid, name, role, kind, body, detail, created_at in repository.comments_of_task(
        session, task_id
    ):
        entry: dict[str, Any] = {
            "id": int(cid),
            "author": name,
            "role": role,
            "kind": kind,
            "body": body,
            "at": float(created_at),
        }
        value = stored_json(detail) if detail is not None else None
        if value is not None:
            if kind == "returned":
                # Names only: the ids are the server's business.
                value = {**value, "workers": [w["name"] for w in value.get("workers", [])]}
                if not reviewer:
                    answers = value.get("answers") or {}
                    value["answers"] = {k: v for k, v in answers.items() if k == viewer.name}
            entry["detail"] = value
        out.append(entry)
    return out


def add_comment(
    session: Session, job: Job, item_id: str, user: User, body: Any, *, now: float | None = None
) -> dict[str, Any]:
    """A comment on the item's thread; answers the whole thread."""
    text = comment_body(body)
    task_id = _task_for(session, job, item_id, user)
    record(session, job, task_id, user, "comment", text, None, now=now)
    session.flush()
    return {"item": item_id, "comments": entries(session, task_id, user)}


def record(
    session: Session,
    job: Job,
    task_id: int,
    author: User,
    kind: str,
    body: str,
    detail: dict[str, Any] | None,
    *,
    now: float | None = None,
) -> None:
    repository.insert_comment(
        session,
        task_id=task_id,
        job_id=job.id,
        author_id=author.id,
        kind=kind,
        body=body,
        detail=detail,
        now=time.time() if now is None else now,
    )


def returned_to_me(session: Session, user: User, *, limit: int = 50) -> list[dict[str, Any]]:
    """The items reviewers returned to this worker, newest first, and whether the worker
    has answered each again since."""
    out = []
    for job, item, reviewer, body, at, again, detail in repository.returned_to_worker(
        session, user.id, limit
    ):
        workers = (stored_json(detail) or {}).get("workers", [])
        if not any(int(w["id"]) == user.id for w in workers):
            continue
        out.append(
            {
                "job": job,
                "item": item,
                "reviewer": reviewer,
                "comment": body,
                "at": float(at),
                "answered_again": bool(again),
            }
        )
    return out
