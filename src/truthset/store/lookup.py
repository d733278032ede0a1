"""Rows by name: one get-by-name-or-404 for every named thing (datasets, teams, users,
jobs), so that each answers a missing name with the same error."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from truthset.errors import NotFound

Row = TypeVar("Row")


def find_by_name(session: Session, model: type[Row], name: str) -> Row | None:
    column: Any = model.name  # type: ignore[attr-defined]
    found: Row | None = session.scalars(select(model).where(column == name)).first()
    return found


def get_by_name(session: Session, model: type[Row], name: Any, what: str | None = None) -> Row:
    """The row of `model` called `name`; NotFound names it ("team 'x' not found")."""
    found = find_by_name(session, model, str(name))
    if found is None:
        kind = what or getattr(model, "__tablename__", model.__name__).rstrip("s")
        raise NotFound(f"{kind} {str(name)!r} not found")
    return found
