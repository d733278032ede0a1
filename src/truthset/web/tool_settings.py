"""The `confirm_empty_answer` job settings section: whether the task page asks a worker
to confirm an answer with no objects (0 boxes, polygons, lines, points or spans) before
it is submitted. On by default; a job where empty answers are common (most images show
nothing to mark) turns it off."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from truthset.errors import BadInput
from truthset.jobs.settings import SettingsSection

CONFIRM_EMPTY_ANSWER = "confirm_empty_answer"


def confirm_empty_answer(settings: dict[str, Any] | None) -> bool:
    """The job's choice, true unless the job turned it off."""
    return (settings or {}).get(CONFIRM_EMPTY_ANSWER, True) is not False


def check_confirm_empty_answer(
    _session: Session, _task_type: str, settings: dict[str, Any]
) -> None:
    value = settings.get(CONFIRM_EMPTY_ANSWER)
    if value is not None and not isinstance(value, bool):
        raise BadInput(
            f"settings.{CONFIRM_EMPTY_ANSWER} must be true or false, not {value!r}"[:300]
        )


CONFIRM_EMPTY_ANSWER_SECTION = SettingsSection(
    key=CONFIRM_EMPTY_ANSWER,
    description=(
        "true (the default) or false: whether the task page asks a worker to confirm an"
        " answer with no boxes, polygons, lines, points or spans before submitting it"
    ),
    check=check_confirm_empty_answer,
)
