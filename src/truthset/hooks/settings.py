"""The job settings sections of the hooks: `pre_annotation`, `post_annotation` (each a hook
target, `truthset.hooks.targets`) and `webhooks` (a list of `{"url", "events", "secret"}`).

Every URL's host and every handler file is checked against what the admin allowed when
the job is created or its settings change, so a job can never name something else.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from truthset.config import Settings
from truthset.errors import BadInput
from truthset.hooks import repository
from truthset.hooks.targets import HookTarget, check_url, parse_target
from truthset.jobs.settings import SettingsSection
from truthset.store.models import Job
from truthset.workspace import settings_of_session

PRE_RUN = "pre_annotation"
POST_RUN = "post_annotation"
WEBHOOK_EVENTS = ("job_state", "item_labeled")
MAX_WEBHOOKS = 10
WEBHOOK_KEYS = ("url", "events", "secret", "tries")
DEFAULT_WEBHOOK_TRIES = 5
MAX_WEBHOOK_TRIES = 20


def workspace_settings(session: Session, field: str) -> Settings:
    found = settings_of_session(session)
    if found is None:
        raise BadInput(f"{field} cannot be checked: no workspace holds this database")
    return found


def hook_target(session: Session, job: Job, key: str) -> HookTarget | None:
    """The job's pre- or post-annotation target, checked again against the workspace's
    current allow lists (the admin may have narrowed them since the job was made)."""
    raw = (job.settings or {}).get(key)
    if not raw:
        return None
    field = f"settings.{key}"
    try:
        return parse_target(raw, workspace_settings(session, field), field)
    except BadInput as exc:
        # The run fails with this text, naming the host or folder that went off the list.
        reason = f"job {job.name!r}: its {key} hook cannot be called now: {exc.detail}"
        raise BadInput(reason) from None


def _check_target(key: str) -> Any:
    def check(session: Session, task_type: str, settings: dict[str, Any]) -> None:
        raw = settings.get(key)
        if raw is None:
            return
        field = f"settings.{key}"
        parse_target(raw, workspace_settings(session, field), field)

    return check


def hold_new_tasks(session: Session, job: Job) -> None:
    """New tasks of a job with a pre-annotation hook wait (pending) until the hook's task
    input is saved, and the run that calls it is queued: `next` never waits on a hook."""
    if not (job.settings or {}).get("pre_annotation"):
        return
    now = time.time()
    if repository.hold_new_tasks(session, job.id, now) and not repository.has_active_run(
        session, job.id, PRE_RUN
    ):
        from truthset.runs.service import enqueue

        enqueue(session, PRE_RUN, {"job": job.name}, job_id=job.id, now=now)


def webhooks_of(settings: dict[str, Any]) -> list[dict[str, Any]]:
    raw = settings.get("webhooks") if isinstance(settings, dict) else None
    return [h for h in raw if isinstance(h, dict)] if isinstance(raw, list) else []


def check_webhooks(session: Session, task_type: str, settings: dict[str, Any]) -> None:
    raw = settings.get("webhooks")
    if raw is None:
        return
    if not isinstance(raw, list):
        raise BadInput('settings.webhooks must be a list of {"url", "events", "secret"}')
    if len(raw) > MAX_WEBHOOKS:
        raise BadInput(f"settings.webhooks: at most {MAX_WEBHOOKS} webhooks, got {len(raw)}")
    workspace = workspace_settings(session, "settings.webhooks") if raw else None
    for n, hook in enumerate(raw):
        field = f"settings.webhooks[{n}]"
        if not isinstance(hook, dict):
            raise BadInput(f'{field} must be an object {{"url", "events", "secret"}}')
        unknown = sorted(set(hook) - set(WEBHOOK_KEYS))
        if unknown:
            raise BadInput(
                f"{field}: unknown keys {', '.join(unknown)} (known: {', '.join(WEBHOOK_KEYS)})"
            )
        assert workspace is not None
        check_url(hook.get("url"), workspace, f"{field}.url")
        events = hook.get("events", list(WEBHOOK_EVENTS))
        if (
            not isinstance(events, list)
            or not events
            or any(e not in WEBHOOK_EVENTS for e in events)
        ):
            raise BadInput(
                f"{field}.events must be a non-empty list of {', '.join(WEBHOOK_EVENTS)},"
                f" got {events!r}"
            )
        secret = hook.get("secret", "")
        if not isinstance(secret, str) or len(secret) > 1000:
            raise BadInput(f"{field}.secret must be text of at most 1,000 characters")
        tries = hook.get("tries", DEFAULT_WEBHOOK_TRIES)
        if (
            isinstance(tries, bool)
            or not isinstance(tries, int)
            or not 1 <= tries <= MAX_WEBHOOK_TRIES
        ):
            raise BadInput(
                f"{field}.tries must be a whole number from 1 to {MAX_WEBHOOK_TRIES}, got {tries!r}"
            )


PRE_ANNOTATION_SECTION = SettingsSection(
    key="pre_annotation",
    description="the pre-annotation hook: a task input per item, before workers see it",
    check=_check_target("pre_annotation"),
    tasks_added=hold_new_tasks,
)
POST_ANNOTATION_SECTION = SettingsSection(
    key="post_annotation",
    description="the post-annotation (consolidation) hook: the label from the answers",
    check=_check_target("post_annotation"),
)
WEBHOOKS_SECTION = SettingsSection(
    key="webhooks",
    description="webhooks for job state changes and labeled items",
    check=check_webhooks,
)
