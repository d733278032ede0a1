"""Queries over label rows that several domains read (the writes are in writer.py)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def reviewed_task_ids(session: Session, job_id: int) -> set[int]:
    """The tasks whose label a reviewer set."""
    return {
        r[0]
        for r in session.execute(
            text("SELECT task_id FROM labels WHERE job_id = :j AND reviewed = :t"),
            {"j": job_id, "t": True},
        )
    }
