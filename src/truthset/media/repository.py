"""The media domain's queries: whether a user may see an item's media, and its data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


def was_assigned_item(session: Session, worker_id: int, item_id: int) -> bool:
    """Whether the worker ever held an assignment of a task of this item."""
    found = session.execute(
        text(
            "SELECT 1 FROM assignments a JOIN tasks t ON t.id = a.task_id "
            "WHERE t.item_id = :i AND a.worker_id = :w LIMIT 1"
        ),
        {"i": item_id, "w": worker_id},
    ).first()
    return found is not None


def item_in_a_job_of_users_teams(session: Session, user_id: int, item_id: int) -> bool:
    """Whether the item is in a job given to one of the user's teams."""
    found = session.execute(
        text(
            "SELECT 1 FROM tasks t JOIN job_teams jt ON jt.job_id = t.job_id "
            "JOIN team_members tm ON tm.team_id = jt.team_id "
            "WHERE t.item_id = :i AND tm.user_id = :u LIMIT 1"
        ),
        {"i": item_id, "u": user_id},
    ).first()
    return found is not None


def item_data(session: Session, item_id: int) -> Any:
    """The item's stored JSON, or None when there is no such item."""
    return session.execute(text("SELECT data FROM items WHERE id = :i"), {"i": item_id}).scalar()
