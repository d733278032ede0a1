"""The work engine's job setting `max_leases_per_worker` (a job settings section): how many
live leases of the job one worker may hold at once. Without it the workspace's default
applies (TRUTHSET_MAX_LEASES_PER_WORKER, 1 unless set), so one worker cannot lease every
task of a job and leave the others nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from truthset.errors import BadInput
from truthset.jobs.settings import SettingsSection
from truthset.work.leases import MAX_LEASES_SETTING

# More would let one worker take a job's whole window again; a client that pages through
# tasks ahead of its worker needs a handful.
MAX_LEASES_LIMIT = 1000


def _check(_session: Session, _task_type: str, settings: dict[str, Any]) -> None:
    value = settings.get(MAX_LEASES_SETTING)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LEASES_LIMIT:
        raise BadInput(
            f"settings.{MAX_LEASES_SETTING} must be a whole number from 1 to "
            f"{MAX_LEASES_LIMIT}, not {value!r}"
        )


MAX_LEASES_SECTION = SettingsSection(
    key=MAX_LEASES_SETTING,
    description="how many live leases of the job one worker may hold at once (default: the "
    "workspace's TRUTHSET_MAX_LEASES_PER_WORKER, 1)",
    check=_check,
)
