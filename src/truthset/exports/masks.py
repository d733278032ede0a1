"""Masks for the pages that draw them: a job's label mask of an item (the label row's
file) and a worker's painted answer, each to those who may see it.

Who may see a mask follows who may see the item's media (`media/router.py`): admins and
requesters every mask; a reviewer the masks of a job given to one of their teams, or of
the job such a job is chained on (the label an adjustment job's reviewer starts from); a
worker only their own answers (never the consolidated label, which is made of others'
answers too). A mask someone may not see is answered as one that does not exist.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from sqlalchemy.orm import Session

from truthset.errors import NotFound
from truthset.exports import repository
from truthset.jobs import access as jobs_access
from truthset.jobs import repository as jobs_repository
from truthset.jobs import service as jobs_service
from truthset.store.models import User
from truthset.store.raw import stored_json

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _item(session: Session, job_name: str, item: str, user: User) -> tuple[Any, Any]:
    """(job, its task of the item) where the user may see the item's masks."""
    job = jobs_service.get_job(session, job_name)
    row = jobs_service.job_item(session, job, item)
    if user.role in ("admin", "requester"):
        return job, row
    if user.role == "reviewer" and (
        jobs_access.can_see_job(session, job, user)
        or any(
            jobs_access.can_see_job(session, chained, user)
            for chained in repository.jobs_chained_on(session, job.id)
        )
    ):
        return job, row
    raise NotFound(f"item {item!r} is not part of job {job_name!r}")


def label_mask(session: Session, job_name: str, item: str, user: User) -> bytes:
    """The PNG of the job's label of the item: consolidated, reviewed or imported."""
    if user.role == "worker":
        raise NotFound(f"item {item!r} is not part of job {job_name!r}")
    job, row = _item(session, job_name, item, user)
    png = repository.label_file_of_item(session, job.id, row.item_id)
    if png is None:
        raise NotFound(f"item {item!r} of job {job_name!r} has no mask label")
    return png


def answer_mask(session: Session, job_name: str, item: str, worker: str, user: User) -> bytes:
    """The PNG a worker painted for the item (their latest answer)."""
    if user.role == "worker" and user.name != worker:
        raise NotFound(f"item {item!r} is not part of job {job_name!r}")
    if user.role == "worker":
        job = jobs_service.get_job(session, job_name)
        row = jobs_service.job_item(session, job, item)
    else:
        job, row = _item(session, job_name, item, user)
    answers = [
        content
        for name, content, *_rest in jobs_repository.answers_of_task(session, row.task_id)
        if name == worker
    ]
    if not answers:
        raise NotFound(f"{worker!r} has no answer to item {item!r} of job {job_name!r}")
    png = _painting(answers[-1])
    if png is None:
        raise NotFound(f"{worker!r}'s answer to item {item!r} of job {job_name!r} has no mask")
    return png


def _painting(content: Any) -> bytes | None:
    """The PNG of a painted answer (`labeledImage.pngImageData`), or None."""
    content = stored_json(content)
    image = content.get("labeledImage") if isinstance(content, dict) else None
    data = image.get("pngImageData") if isinstance(image, dict) else None
    if not isinstance(data, str):
        return None
    text = data.split(",", 1)[1] if data.startswith("data:") else data
    try:
        png = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return png if png.startswith(PNG_SIGNATURE) else None
