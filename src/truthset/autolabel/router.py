"""Automated labeling over HTTP: the per-iteration report of a job."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from truthset.api.deps import ReadSession, StaffUser
from truthset.autolabel import service
from truthset.jobs.service import get_job

router = APIRouter(tags=["autolabel"])


@router.get("/jobs/{name}/autolabel")
def autolabel_report(name: str, _user: StaffUser, session: ReadSession) -> dict[str, Any]:
    """Settings and one entry per finished iteration (see `service.autolabel_report`)."""
    return service.autolabel_report(session, get_job(session, name))
