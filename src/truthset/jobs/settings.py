"""Job settings sections: keys of a job's `settings` that a higher domain owns.

Jobs sit below auto-labeling and quality, yet creating or editing a job must check their
settings and, once the job's tasks exist, let them act (gold items from the manifest). So
each owner registers a `SettingsSection` here (built-ins as entry points of the group
`truthset.job_settings`, plugins the same way) and `jobs.service` calls the registered
sections without importing their domains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from truthset.registry import Registry
from truthset.store.models import Job


@dataclass(frozen=True)
class SettingsSection:
    """One key of `settings`. `check(session, task_type, settings)` refuses (BadInput) what
    the owner cannot do, on create and on every change; it sees the whole settings object
    since a rule may depend on another key (no auto-labeling on a streaming job).
    `check_change(session, job, settings)` runs on a change only, with the job as it was.
    `after_create(session, job)` runs once the new job's tasks exist.
    `tasks_added(session, job)` runs in the transaction that added tasks to a job (its
    creation, a streaming job's new items), before anyone can lease them."""

    key: str
    description: str
    check: Callable[[Session, str, dict[str, Any]], None] | None = None
    check_change: Callable[[Session, Job, dict[str, Any]], None] | None = None
    after_create: Callable[[Session, Job], None] | None = None
    tasks_added: Callable[[Session, Job], None] | None = None


JOB_SETTINGS: Registry[SettingsSection] = Registry(
    "job settings section",
    "truthset.job_settings",
    {
        "auto_label": "truthset.autolabel.settings:AUTO_LABEL_SECTION",
        "confirm_empty_answer": "truthset.web.tool_settings:CONFIRM_EMPTY_ANSWER_SECTION",
        "gold_key": "truthset.quality.gold:GOLD_KEY_SECTION",
        "max_leases_per_worker": "truthset.work.settings:MAX_LEASES_SECTION",
        "output": "truthset.exports.output_settings:OUTPUT_SECTION",
        "post_annotation": "truthset.hooks.settings:POST_ANNOTATION_SECTION",
        "prelabel": "truthset.autolabel.prelabel:PRELABEL_SECTION",
        "pre_annotation": "truthset.hooks.settings:PRE_ANNOTATION_SECTION",
        "quality": "truthset.quality.methods:QUALITY_SECTION",
        "sagemaker": "truthset.sagemaker.settings:SAGEMAKER_SECTION",
        "task": "truthset.sagemaker.settings:TASK_SECTION",
        "template": "truthset.templates.settings:TEMPLATE_SECTION",
        "webhooks": "truthset.hooks.settings:WEBHOOKS_SECTION",
    },
    instance_of=SettingsSection,
)


def check_settings(
    session: Session, task_type: str, settings: dict[str, Any], *, job: Job | None = None
) -> None:
    """Every section's checks for a new job's settings, or (with `job`) a change to them."""
    for _name, section in sorted(JOB_SETTINGS.load_all().items()):
        if section.check is not None:
            section.check(session, task_type, settings)
        if job is not None and section.check_change is not None:
            section.check_change(session, job, settings)


def after_create(session: Session, job: Job) -> None:
    for _name, section in sorted(JOB_SETTINGS.load_all().items()):
        if section.after_create is not None:
            section.after_create(session, job)


def tasks_added(session: Session, job: Job) -> None:
    for _name, section in sorted(JOB_SETTINGS.load_all().items()):
        if section.tasks_added is not None:
            section.tasks_added(session, job)
