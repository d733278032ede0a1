"""Job settings sections of SageMaker requests (registered in `truthset.jobs.settings`):

- `task`: Ground Truth's TaskTitle, TaskDescription and TaskKeywords, kept as given;
- `sagemaker`: the original CreateLabelingJob request (DescribeLabelingJob echoes it),
  the job's ARN and reference code, and the warnings of its mapping.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from truthset.errors import BadInput
from truthset.jobs.settings import SettingsSection

TASK_LIMITS = {"title": 128, "description": 255}
MAX_KEYWORDS = 5


def check_task(raw: Any) -> None:
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise BadInput("settings.task must be an object {title, description, keywords}")
    unknown = sorted(set(raw) - {*TASK_LIMITS, "keywords"})
    if unknown:
        raise BadInput(f"settings.task: unknown key {unknown[0]!r} (title, description, keywords)")
    for key, limit in TASK_LIMITS.items():
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise BadInput(f"settings.task.{key} must be text of at most {limit} characters")
    keywords = raw.get("keywords")
    if keywords is not None and (
        not isinstance(keywords, list)
        or len(keywords) > MAX_KEYWORDS
        or not all(isinstance(k, str) and 1 <= len(k) <= 30 for k in keywords)
    ):
        raise BadInput(
            f"settings.task.keywords must be a list of at most {MAX_KEYWORDS} words of 1-30 "
            "characters"
        )


def check_sagemaker(raw: Any) -> None:
    if raw is None:
        return
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        raise BadInput("settings.sagemaker must be an object holding the original request")
    warnings = raw.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise BadInput("settings.sagemaker.warnings must be a list of texts")


TASK_SECTION = SettingsSection(
    key="task",
    description="Ground Truth's task title, description and keywords",
    check=lambda _session, _task_type, settings: check_task(settings.get("task")),
)


def _check_sagemaker(_session: Session, _task_type: str, settings: dict[str, Any]) -> None:
    check_sagemaker(settings.get("sagemaker"))


SAGEMAKER_SECTION = SettingsSection(
    key="sagemaker",
    description="the CreateLabelingJob request a job was made from",
    check=_check_sagemaker,
)
