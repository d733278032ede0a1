"""Labeling jobs: creation, chaining, access, counters, lifecycle and stopping conditions.

States: initializing -> in_progress -> stopping -> stopped, or -> completed | failed.
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

from sqlalchemy.orm import Session

from truthset.errors import BadInput, Conflict, NotFound
from truthset.jobs import repository
from truthset.jobs import settings as settings_sections
from truthset.jobs.data_fit import check_task_type_fits
from truthset.jobs.schemas import JobCreate
from truthset.jobs.snapshot import forget_job_views
from truthset.store.lookup import get_by_name
from truthset.store.models import Dataset, Job, JobTeam, Team
from truthset.tasktypes import get_task_type

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
LIVE_STATES = ("initializing", "in_progress", "stopping")
# The work engine reads jobs through `JobView` snapshots; the rules accept either.
AnyJob = Any


def _check_range(name: str, value: Any, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise BadInput(f"{name} must be a number from {lo:g} to {hi:g}, got {value!r}")


def validate_label_attribute(attr: str, task_type: str) -> None:
    if not NAME_RE.match(attr) and not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,126}$", attr):
        raise BadInput(f"label attribute {attr!r} must be 1-127 letters, digits, '-', '_' or '.'")
    if attr in ("source", "source-ref", "id") or attr.endswith("-metadata"):
        raise BadInput(f"label attribute {attr!r} is reserved (source, source-ref, *-metadata)")
    # A label that is a file (a mask; a task type's `label_file_name`, such as video
    # tracking's SeqLabel.json) is its file's location: Ground Truth names it `*-ref`.
    needs_ref = task_type in ("semantic-segmentation",) or bool(
        getattr(get_task_type(task_type), "label_file_name", None)
    )
    if needs_ref and not attr.endswith("-ref"):
        raise BadInput(f"label attribute {attr!r} must end with '-ref' for {task_type}")
    if not needs_ref and attr.endswith("-ref"):
        raise BadInput(f"label attribute {attr!r} must not end with '-ref' for {task_type}")


def create_job(
    session: Session, spec: JobCreate, *, created_by: int | None = None, now: float | None = None
) -> Job:
    now = time.time() if now is None else now
    if not isinstance(spec.name, str) or not NAME_RE.match(spec.name):
        raise BadInput(
            f"job name {spec.name!r} must be 1-63 letters, digits or '-', starting with a letter "
            "or digit"
        )
    if repository.job_id_named(session, spec.name) is not None:
        raise Conflict(f"a job named {spec.name!r} already exists")
    task_type = get_task_type(spec.task_type)
    config = task_type.parse_label_config(spec.label_config)
    _check_range("workers_per_item", spec.workers_per_item, 1, 100)
    if not isinstance(spec.workers_per_item, int):
        raise BadInput("workers_per_item must be a whole number")
    _check_range("task_time_limit", spec.task_time_limit, 1, 8 * 3600)
    _check_range("task_availability", spec.task_availability, 60, 30 * 86400)
    _check_range("max_concurrent_tasks", spec.max_concurrent_tasks, 1, 1_000_000)
    if spec.max_human_labeled is not None:
        _check_range("max_human_labeled", spec.max_human_labeled, 1, 10**9)
    if spec.max_percentage_labeled is not None:
        _check_range("max_percentage_labeled", spec.max_percentage_labeled, 1, 100)
    if not isinstance(spec.instructions, str) or len(spec.instructions) > 200_000:
        raise BadInput("instructions must be text of at most 200,000 characters")
    if not isinstance(spec.settings, dict):
        raise BadInput("settings must be an object")
    label_attribute = spec.label_attribute or spec.name
    validate_label_attribute(label_attribute, spec.task_type)
    check_settings = getattr(task_type, "check_settings", None)
    if check_settings is not None:
        check_settings(spec.settings)
    settings_sections.check_settings(session, spec.task_type, spec.settings)
    audit = (
        spec.label_config.get("auditLabelAttributeName")
        if isinstance(spec.label_config, dict)
        else None
    )
    reviewed_given = spec.input_job is not None or (
        spec.dataset is not None and isinstance(audit, str)
    )
    if getattr(task_type, "requires_input_job", False) and not reviewed_given:
        raise BadInput(
            f"a {spec.task_type} job reviews another job's labels: give input_job (or the "
            "label config's auditLabelAttributeName)"
        )
    if spec.settings.get("adjustment"):
        if not reviewed_given:
            raise BadInput(
                "an adjustment job corrects another job's labels: give input_job (or the "
                "label config's auditLabelAttributeName)"
            )
        if not getattr(task_type, "supports_adjustment", False):
            raise BadInput(f"{spec.task_type} has no adjustment jobs")

    if (spec.dataset is None) == (spec.input_job is None):
        raise BadInput("give exactly one input: a dataset or another job (chaining)")
    input_job: Job | None = None
    reviews = bool(spec.settings.get("adjustment")) or getattr(
        task_type, "requires_input_job", False
    )
    if spec.dataset is not None and reviews and isinstance(audit, str):
        # Ground Truth names the reviewed labels by their attribute
        # (`auditLabelAttributeName`): the dataset's newest job writing it is the input.
        dataset = get_by_name(session, Dataset, spec.dataset)
        found = repository.jobs_of_dataset_with_attribute(session, dataset.id, audit)
        if not found:
            raise BadInput(
                f"auditLabelAttributeName {audit!r}: no job or imported labels of dataset "
                f"{spec.dataset!r} write that attribute"
            )
        input_job = found[0]
        dataset_id = dataset.id
    elif spec.dataset is not None:
        dataset_id = get_by_name(session, Dataset, spec.dataset).id
        imported = imported_job_of(session, dataset_id, label_attribute)
        if imported is not None:
            if imported.task_type != spec.task_type:
                raise BadInput(
                    f"dataset {spec.dataset!r} holds {imported.task_type} labels imported "
                    f"under {label_attribute!r}; a {spec.task_type} job must use another "
                    "label attribute"
                )
            check_classes_agree(imported, config, what="label config")
    else:
        input_job = get_by_name(session, Job, spec.input_job, "input job")
        dataset_id = input_job.dataset_id  # type: ignore[assignment]
    check_task_type_fits(session, task_type, dataset_id)
    if input_job is not None:
        if input_job.task_type != spec.task_type and input_job.label_attribute == label_attribute:
            raise BadInput(
                "a chained job that keeps the input job's label attribute must have its task type"
            )
        if is_imported(input_job) and input_job.task_type == spec.task_type:
            check_classes_agree(input_job, config, what="label config")

    teams = [get_by_name(session, Team, team_name) for team_name in spec.teams]

    job = Job(
        name=spec.name,
        dataset_id=dataset_id,
        input_job_id=input_job.id if input_job else None,
        task_type=spec.task_type,
        label_attribute=label_attribute,
        label_config=config.raw,
        instructions=spec.instructions,
        workers_per_item=spec.workers_per_item,
        task_time_limit=int(spec.task_time_limit),
        task_availability=int(spec.task_availability),
        max_concurrent_tasks=int(spec.max_concurrent_tasks),
        max_human_labeled=spec.max_human_labeled,
        max_percentage_labeled=spec.max_percentage_labeled,
        state="initializing",
        settings=spec.settings,
        created_by=created_by,
        created_at=now,
        updated_at=now,
        in_flight=0,
    )
    session.add(job)
    session.flush()
    for team in teams:
        session.add(JobTeam(job_id=job.id, team_id=team.id))
    add_tasks(session, job, now=now)
    settings_sections.after_create(session, job)
    job.state = "in_progress"
    session.flush()
    refresh_state(session, job.id, now=now)
    return job


def add_tasks(session: Session, job: Job, *, now: float | None = None) -> int:
    """Create the job's tasks for items that have none yet (also for streaming jobs, whose
    dataset grows while they run). Returns how many were added."""
    now = time.time() if now is None else now
    if job.input_job_id is not None:
        input_job = session.get(Job, job.input_job_id)
        assert input_job is not None
        # Chaining: the input is the other job's output. With the same label attribute only
        # the items it left unlabeled are worked on again.
        # Verification and adjustment jobs review the labels the input job made.
        reviews = bool(job.settings.get("adjustment")) or getattr(
            get_task_type(job.task_type), "requires_input_job", False
        )
        only_unlabeled = input_job.label_attribute == job.label_attribute and not reviews
        input_status: Literal["labeled", "unlabeled"] | None = (
            "labeled" if reviews else "unlabeled" if only_unlabeled else None
        )
        added = repository.insert_tasks_from_job(
            session,
            job.id,
            input_job.id,
            target_answers=job.workers_per_item,
            input_status=input_status,
            now=now,
        )
        if added:
            settings_sections.tasks_added(session, job)
        return added
    added = repository.insert_tasks_from_dataset(
        session, job.id, job.dataset_id, target_answers=job.workers_per_item, now=now
    )
    imported = imported_job_of(session, job.dataset_id, job.label_attribute)
    if added and imported is not None and imported.id != job.id:
        repository.copy_imported_labels(session, job.id, imported.id, now)
    if added:
        settings_sections.tasks_added(session, job)
    return added


def is_imported(job: Job) -> bool:
    """Whether a job holds labels that came with its items (a Ground Truth output manifest)
    rather than labels people or models made here."""
    return bool((job.settings or {}).get("imported"))


def imported_job_of(session: Session, dataset_id: int | None, attribute: str) -> Job | None:
    """The job holding a dataset's imported labels under `attribute`, if any."""
    if dataset_id is None:
        return None
    for job in repository.jobs_of_dataset_with_attribute(session, dataset_id, attribute):
        if is_imported(job):
            return job
    return None


def create_imported_job(
    session: Session,
    *,
    name: str,
    dataset_id: int,
    task_type: str,
    label_attribute: str,
    settings: dict[str, Any],
    created_by: int | None = None,
    now: float | None = None,
) -> Job:
    """A finished job for labels that came with a dataset's items; its label config is set
    once the import has seen every label (`settings["imported"]` marks it)."""
    now = time.time() if now is None else now
    job = Job(
        name=name,
        dataset_id=dataset_id,
        task_type=task_type,
        label_attribute=label_attribute,
        label_config={"document-version": "2018-11-28", "labels": []},
        instructions="",
        workers_per_item=1,
        task_time_limit=300,
        task_availability=864_000,
        max_concurrent_tasks=1000,
        state="completed",
        settings={**settings, "imported": settings.get("imported") or {"source": "ground-truth"}},
        created_by=created_by,
        created_at=now,
        updated_at=now,
        in_flight=0,
    )
    session.add(job)
    session.flush()
    return job


def free_job_name(session: Session, wanted: str | None, fallback: str) -> str:
    """A valid, unused job name: `wanted` if it is one, else `fallback` made valid, with
    `-2`, `-3`, ... when taken."""
    for candidate in (wanted, fallback):
        if not candidate:
            continue
        base = re.sub(r"[^A-Za-z0-9-]+", "-", candidate).strip("-")[:60] or "imported"
        if not NAME_RE.match(base):
            continue
        name, n = base, 1
        while repository.job_id_named(session, name) is not None:
            n += 1
            name = f"{base[: 60 - len(str(n))]}-{n}"
        if candidate == wanted and name != base:
            continue  # a taken Ground Truth name: the dataset's name says more than "-2"
        return name
    raise AssertionError("the fallback name is always valid")


def check_classes_agree(imported: Job, config: Any, *, what: str) -> None:
    """A job that takes over imported labels must number the classes as they do: Ground
    Truth wrote class ids, and they are never renumbered silently."""
    theirs = tuple(
        e["label"] for e in (imported.label_config or {}).get("labels", []) if isinstance(e, dict)
    )
    for class_id, (mine, other) in enumerate(zip(config.labels, theirs, strict=False)):
        if mine != other:
            raise BadInput(
                f"{what}: class id {class_id} is {mine!r} here but {other!r} in the labels "
                f"imported under {imported.label_attribute!r} (job {imported.name!r}); give a "
                "label config that keeps Ground Truth's class ids"
            )


def get_job(session: Session, name_or_id: str | int) -> Job:
    if isinstance(name_or_id, int) or (isinstance(name_or_id, str) and name_or_id.isdigit()):
        job = session.get(Job, int(name_or_id))
        if job is not None:
            return job
    job = repository.job_named(session, str(name_or_id))
    if job is None:
        raise NotFound(f"job {name_or_id!r} not found")
    return job


def job_item(session: Session, job: Job, external_id: str) -> Any:
    """The job's task of an item (`repository.task_of_item`); an item that is not in the job
    is a 404."""
    row = repository.task_of_item(session, job.id, external_id)
    if row is None:
        raise NotFound(f"item {external_id!r} is not part of job {job.name!r}")
    return row


# -- access ---------------------------------------------------------------------------------


# -- counters and state ---------------------------------------------------------------------


def tasks_by_status(session: Session, job_id: int) -> dict[str, int]:
    """The job's tasks (gold items aside) by status, from the stored counts, where a full
    task (leased to all the workers it needs) counts as open."""
    return {str(k): int(v) for k, v in repository.task_counts_by_status(session, job_id)}


def counters(session: Session, job_id: int) -> dict[str, int]:
    by = tasks_by_status(session, job_id)
    total = sum(by.values())
    return {
        "total": total,
        "human_labeled": by.get("complete", 0),
        "machine_labeled": by.get("auto", 0),
        "failed": by.get("failed", 0),
        "unlabeled": by.get("open", 0) + by.get("full", 0) + by.get("pending", 0),
    }


def human_budget_reached(session: Session, job: AnyJob, *, extra: int = 0) -> bool:
    """The stopping conditions: max human-labeled items, max percentage labeled."""
    limits = []
    if job.max_human_labeled is not None:
        limits.append(job.max_human_labeled)
    if job.max_percentage_labeled is not None:
        total = repository.task_count(session, job.id)
        limits.append(int(total * job.max_percentage_labeled / 100.0))
    if not limits:
        return False
    done = repository.complete_task_count(session, job.id)
    return done + extra >= min(limits)


def refresh_state(session: Session, job_id: int, *, now: float | None = None) -> str:
    """Move a job to completed / stopped when its work is done."""
    now = time.time() if now is None else now
    job = session.get(Job, job_id)
    assert job is not None
    session.refresh(job, ["state", "in_flight"])
    if job.state == "stopping" and job.in_flight <= 0:
        _set_state(session, job, "stopped", now)
    elif job.state == "in_progress":
        remaining = repository.has_unfinished_task(session, job_id)
        budget_done = job.in_flight <= 0 and human_budget_reached(session, job)
        if (not remaining and not job.settings.get("streaming")) or budget_done:
            _set_state(session, job, "completed", now)
    return job.state


def _set_state(session: Session, job: Job, state: str, now: float) -> None:
    forget_job_views()
    job.state = state
    job.updated_at = now
    session.flush()
    method = (job.settings.get("quality") or {}).get("method")
    if state == "completed" and method and method != "mv":
        # The final labels come from the job's aggregator over all of its answers.
        from truthset.runs.service import enqueue

        enqueue(session, "consolidate", {"job": job.name, "method": method}, job_id=job.id, now=now)


def stop_job(session: Session, job: Job, *, now: float | None = None) -> Job:
    now = time.time() if now is None else now
    if job.state not in ("initializing", "in_progress"):
        raise Conflict(f"job {job.name!r} is {job.state}; only a running job can be stopped")
    # Live leases may still be answered; no new task is handed out.
    _set_state(session, job, "stopping", now)
    repository.shorten_leases(session, job.id, now)
    refresh_state(session, job.id, now=now)
    return job


def resume_job(session: Session, job: Job, *, now: float | None = None) -> Job:
    now = time.time() if now is None else now
    if job.state not in ("stopping", "stopped", "completed"):
        raise Conflict(f"job {job.name!r} is {job.state}; only a stopped job can be resumed")
    _set_state(session, job, "in_progress", now)
    refresh_state(session, job.id, now=now)
    return job


def delete_job(session: Session, job: Job) -> None:
    dependant = repository.name_of_job_fed_by(session, job.id)
    if dependant is not None:
        raise Conflict(f"job {dependant!r} takes this job's output as its input; delete it first")
    repository.delete_job_rows(session, job.id)
    session.delete(job)
    session.flush()


# -- quality hooks used by the work engine ----------------------------------------------------


# -- a short-lived, read-only view of a job for the work engine's hot path ---------------------


UPDATABLE = (
    "instructions",
    "task_time_limit",
    "task_availability",
    "max_concurrent_tasks",
    "max_human_labeled",
    "max_percentage_labeled",
    "settings",
)


def update_job(
    session: Session, job: Job, changes: dict[str, Any], *, now: float | None = None
) -> Job:
    """Change what may change while a job runs; every value is checked before any is set."""
    now = time.time() if now is None else now
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise BadInput(f"these job fields cannot be changed: {', '.join(sorted(unknown))}")
    if "instructions" in changes and (
        not isinstance(changes["instructions"], str) or len(changes["instructions"]) > 200_000
    ):
        raise BadInput("instructions must be text of at most 200,000 characters")
    if "task_time_limit" in changes:
        _check_range("task_time_limit", changes["task_time_limit"], 1, 8 * 3600)
    if "task_availability" in changes:
        _check_range("task_availability", changes["task_availability"], 60, 30 * 86400)
    if "max_concurrent_tasks" in changes:
        _check_range("max_concurrent_tasks", changes["max_concurrent_tasks"], 1, 1_000_000)
    if changes.get("max_human_labeled") is not None:
        _check_range("max_human_labeled", changes["max_human_labeled"], 1, 10**9)
    if changes.get("max_percentage_labeled") is not None:
        _check_range("max_percentage_labeled", changes["max_percentage_labeled"], 1, 100)
    if "settings" in changes:
        settings = changes["settings"]
        if not isinstance(settings, dict):
            raise BadInput("settings must be an object")
        task_type = get_task_type(job.task_type)
        check = getattr(task_type, "check_settings", None)
        if check is not None:
            check(settings)
        settings_sections.check_settings(session, job.task_type, settings, job=job)
    for key, value in changes.items():
        setattr(job, key, value)
    job.updated_at = now
    forget_job_views()
    session.flush()
    return job


def add_team(session: Session, job: Job, team_name: str) -> None:
    """Give a team's workers the job (adding it twice is adding it once)."""
    team = get_by_name(session, Team, team_name)
    if session.get(JobTeam, (job.id, team.id)) is None:
        session.add(JobTeam(job_id=job.id, team_id=team.id))
        session.flush()


def remove_team(session: Session, job: Job, team_name: str) -> None:
    team = get_by_name(session, Team, team_name)
    link = session.get(JobTeam, (job.id, team.id))
    if link is None:
        raise NotFound(f"team {team_name!r} is not on job {job.name!r}")
    session.delete(link)
    session.flush()
