"""Drafts: a worker's unfinished answer, saved by the tool while the lease lives, so that
a long task (a video, a point cloud sequence) can be stopped and resumed later.

Only the worker holding the live lease writes or reads its draft. The draft is handed
back in the `next` body when the worker gets that lease again (work/router.py), and it
ends with the lease: migration 0013's trigger deletes it when the assignment is
submitted, released, declined or expired (an assignment is marked `has_draft` by its
first save, so the trigger works only for those).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.errors import AppError, Conflict, Gone, NotFound
from truthset.store.models import User
from truthset.work import drafts_repository, repository

# Below the request body cap (TRUTHSET_MAX_BODY_BYTES, 10 MB by default), so the limit
# that answers is this one, with its own message: a video answer of 200,000 keyframes
# (the answer's own limit) is ~15 MB, but drafts are saved every few seconds and a tool
# past a few MB should submit rather than keep saving.
DRAFT_MAX_BYTES = 8_000_000


class DraftTooLarge(AppError):
    status_code = 413
    kind = "too_large"


def _live_lease(
    session: Session, assignment_id: int, worker: User, now: float, *, lock: bool
) -> Any:
    """The worker's assignment, leased and before its deadline; refused otherwise with
    the reason (another worker's assignment is reported as missing)."""
    pg = lock and session.get_bind().dialect.name == "postgresql"
    asg = repository.assignment(session, assignment_id, pg=pg)
    if asg is None or asg.worker_id != worker.id:
        raise NotFound(f"assignment {assignment_id} not found")
    if asg.status != "leased":
        raise Conflict(f"assignment {assignment_id} is already {asg.status}: it has no draft")
    if asg.deadline < now:
        raise Gone(f"assignment {assignment_id} expired: its draft is gone with the lease")
    return asg


def save_draft(
    session: Session,
    assignment_id: int,
    worker: User,
    content: dict[str, Any],
    *,
    now: float | None = None,
) -> dict[str, Any]:
    """Save (replace) the draft of the worker's live lease; counts as a heartbeat."""
    now = time.time() if now is None else now
    text = orjson.dumps(content)
    if len(text) > DRAFT_MAX_BYTES:
        raise DraftTooLarge(
            f"content: the draft is {len(text):,} bytes, over the limit of "
            f"{DRAFT_MAX_BYTES:,}; submit the answer instead"
        )
    # Locked on PostgreSQL, so a submit or release at the same time either ends the lease
    # before this (refused here) or after it (and its trigger deletes what was saved).
    _live_lease(session, assignment_id, worker, now, lock=True)
    drafts_repository.save(session, assignment_id, text.decode(), now)
    return {"assignment_id": assignment_id, "saved_at": now, "bytes": len(text)}


def get_draft(
    session: Session, assignment_id: int, worker: User, *, now: float | None = None
) -> dict[str, Any]:
    """The draft of the worker's live lease; NotFound when none was saved."""
    now = time.time() if now is None else now
    _live_lease(session, assignment_id, worker, now, lock=False)
    found = saved_draft(session, assignment_id)
    if found is None:
        raise NotFound(f"assignment {assignment_id} has no saved draft")
    return {"assignment_id": assignment_id, **found}


def delete_draft(
    session: Session, assignment_id: int, worker: User, *, now: float | None = None
) -> None:
    """Throw the draft away (the worker started over); nothing to delete is no error."""
    now = time.time() if now is None else now
    _live_lease(session, assignment_id, worker, now, lock=True)
    drafts_repository.delete(session, assignment_id)


def saved_draft(session: Session, assignment_id: int) -> dict[str, Any] | None:
    """`{"content", "saved_at"}` of an assignment's draft, or None: for the `next` body,
    whose caller already holds the lease."""
    found = drafts_repository.draft(session, assignment_id)
    if found is None:
        return None
    text, saved_at = found
    return {"content": orjson.loads(text), "saved_at": saved_at}
