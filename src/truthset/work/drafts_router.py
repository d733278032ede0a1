"""The worker's drafts: save, read and discard the unfinished answer of a live lease."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from truthset.api.deps import CurrentUser, get_db
from truthset.work import drafts
from truthset.work.drafts_schemas import DraftRead, DraftSave, DraftSaved

router = APIRouter(tags=["work"])
Db = Annotated[Any, Depends(get_db)]


@router.put("/assignments/{assignment_id}/draft", response_model=DraftSaved)
def save_draft(assignment_id: int, body: DraftSave, user: CurrentUser, db: Db) -> dict[str, Any]:
    """Save the unfinished answer of your live lease (replacing the last one). It is
    handed back in the `next` body (`draft`) when you get this lease again, and deleted
    when the assignment is submitted, released, declined or expires."""
    with db.session_scope() as session:
        return drafts.save_draft(session, assignment_id, user, body.content)


@router.get("/assignments/{assignment_id}/draft", response_model=DraftRead)
def read_draft(assignment_id: int, user: CurrentUser, db: Db) -> dict[str, Any]:
    with db.session_scope(write=False) as session:
        return drafts.get_draft(session, assignment_id, user)


@router.delete("/assignments/{assignment_id}/draft", status_code=204)
def delete_draft(assignment_id: int, user: CurrentUser, db: Db) -> None:
    with db.session_scope() as session:
        drafts.delete_draft(session, assignment_id, user)
