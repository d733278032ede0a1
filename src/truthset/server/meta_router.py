"""Health, version and the catalogue of task types and export formats."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from truthset import __version__
from truthset.api.deps import CurrentUser, ReadSession
from truthset.exports.formats import list_exporters
from truthset.tasktypes import all_task_types

router = APIRouter(tags=["meta"])


@router.get("/health")
def health(session: ReadSession) -> dict[str, Any]:
    session.execute(__import__("sqlalchemy").text("SELECT 1"))
    return {"status": "ok", "version": __version__}


@router.get("/task-types")
def task_types(_user: CurrentUser) -> list[dict[str, Any]]:
    return [
        {
            "name": t.name,
            "media": t.media,
            "ui_module": t.ui_module,
            "output_type": t.output_type,
            "supports_auto_labeling": t.supports_auto_labeling,
        }
        for t in all_task_types().values()
    ]


@router.get("/export-formats")
def export_formats(_user: CurrentUser) -> list[dict[str, Any]]:
    return list_exporters()
