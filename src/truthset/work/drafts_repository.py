"""The queries of assignment drafts (work/drafts.py). A draft row is deleted by migration
0013's trigger when its assignment leaves 'leased', so nothing here ends one."""

from __future__ import annotations

from sqlalchemy.orm import Session

from truthset.store.raw import raw

_UPSERT = (
    "INSERT INTO assignment_drafts (assignment_id, content, saved_at) VALUES (:a, :c, :at) "
    "ON CONFLICT (assignment_id) DO UPDATE SET content = excluded.content, "
    "saved_at = excluded.saved_at"
)
# The first save marks the assignment, so that the trigger deletes its draft at the end.
_MARK = "UPDATE assignments SET has_draft = true, last_seen_at = :now WHERE id = :a"
_DRAFT = "SELECT content, saved_at FROM assignment_drafts WHERE assignment_id = :a"
_DELETE = "DELETE FROM assignment_drafts WHERE assignment_id = :a"


def save(session: Session, assignment_id: int, content: str, saved_at: float) -> None:
    """Save (replace) the draft; the save is also the worker's heartbeat."""
    raw(session).execute(_UPSERT, {"a": assignment_id, "c": content, "at": saved_at})
    raw(session).execute(_MARK, {"a": assignment_id, "now": saved_at})


def draft(session: Session, assignment_id: int) -> tuple[str, float] | None:
    """The draft's JSON text and when it was saved, or None."""
    row = raw(session).first(_DRAFT, {"a": assignment_id})
    return None if row is None else (row[0], float(row[1]))


def delete(session: Session, assignment_id: int) -> bool:
    """Whether there was a draft to delete."""
    return bool(raw(session).execute(_DELETE, {"a": assignment_id}).rowcount)
