"""The database schema: one table per word of DESIGN.md.

Times are UNIX seconds (float) so that lease arithmetic is the same on SQLite and
PostgreSQL and cheap to compare in SQL. Item payloads are kept as the JSON text they were
imported with, so exports copy them without re-serialising.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# BigInteger ids on PostgreSQL, plain INTEGER (rowid alias) on SQLite.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # admin | requester | reviewer | worker
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Float)
    # The id an imported account had where its work was done (a Ground Truth `workerId`,
    # truthset.gtimport); None for accounts made here. Imported accounts are made without
    # a password and disabled, so nobody signs in as them.
    imported_as: Mapped[str | None] = mapped_column(String(300), unique=True, index=True)


class AuthToken(Base):
    """API tokens (kind=api) and browser sessions (kind=session); only a hash is stored."""

    __tablename__ = "auth_tokens"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    # The token's first characters (not enough to use it): how one names it to revoke it.
    prefix: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float)


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[float] = mapped_column(Float)


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class Dataset(Base):
    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[float] = mapped_column(Float)
    # Bumped by every import that adds items; a job records the version it was created on.
    version: Mapped[int] = mapped_column(Integer, default=0)
    # Kept by the import (truthset.datasets.counts), so nobody counts the items to show it.
    item_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("dataset_id", "content_hash", name="uq_items_dataset_hash"),
        UniqueConstraint("dataset_id", "external_id", name="uq_items_dataset_external"),
    )
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    # The item id users see and CSVs refer to: the manifest's id key or a content-derived id.
    external_id: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(32))
    # Import order within the dataset.
    position: Mapped[int] = mapped_column(BigInteger)
    # The manifest line as imported (JSON object text).
    data: Mapped[str] = mapped_column(Text)


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    input_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    task_type: Mapped[str] = mapped_column(String(100))
    label_attribute: Mapped[str] = mapped_column(String(200))
    # The Ground Truth label category file, as given.
    label_config: Mapped[dict[str, Any]] = mapped_column(JSON)
    instructions: Mapped[str] = mapped_column(Text, default="")
    workers_per_item: Mapped[int] = mapped_column(Integer)
    task_time_limit: Mapped[int] = mapped_column(Integer)
    task_availability: Mapped[int] = mapped_column(Integer)
    max_concurrent_tasks: Mapped[int] = mapped_column(Integer)
    max_human_labeled: Mapped[int | None] = mapped_column(Integer)
    max_percentage_labeled: Mapped[float | None] = mapped_column(Float)
    # initializing | in_progress | stopping | stopped | completed | failed
    state: Mapped[str] = mapped_column(String(20))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # Quality, auto-labeling and other per-type settings.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    # Tasks started (leased or answered) but not finished: bounds max_concurrent_tasks.
    in_flight: Mapped[int] = mapped_column(Integer, default=0)


class JobTeam(Base):
    __tablename__ = "job_teams"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )


# Task status: open (can take more workers) | full (live leases + answers = workers per
# item) | complete (labeled by people) | auto (labeled by the model) | failed.
TASK_OPEN, TASK_FULL, TASK_COMPLETE, TASK_AUTO, TASK_FAILED = (
    "open",
    "full",
    "complete",
    "auto",
    "failed",
)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("job_id", "item_id", name="uq_tasks_job_item"),
        # Exports and listings walk a job's tasks in import order.
        Index("ix_tasks_job_position", "job_id", "position"),
        # The order in which `lease_next_task` walks open tasks.
        Index(
            "ix_tasks_pick",
            "job_id",
            "status",
            "is_gold",
            "started",
            text("priority DESC"),
            "position",
        ),
    )
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(BigInteger)
    is_gold: Mapped[int] = mapped_column(Integer, default=0)
    # 1 once any worker leased it: started items are finished before new ones begin.
    started: Mapped[int] = mapped_column(Integer, default=0)
    # Set by active learning: higher is served first.
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    # How many answers this task needs (workers per item, raised by dynamic redundancy).
    target_answers: Mapped[int] = mapped_column(Integer)
    live_leases: Mapped[int] = mapped_column(Integer, default=0)
    answers: Mapped[int] = mapped_column(Integer, default=0)
    declines: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[float] = mapped_column(Float)
    # 1 while places are held for workers a reviewer returned the item to (TaskReturn).
    reserved: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class TaskReturn(Base):
    """A place on a returned task held for one of its workers (quality/review_return.py):
    only they may take it until `until`; their returned answer starts their tool.
    Migration 0017; the pick reads `tasks.reserved` first (work/statements.py)."""

    __tablename__ = "task_returns"
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    worker_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    answer: Mapped[str | None] = mapped_column(Text)
    returned_at: Mapped[float] = mapped_column(Float)
    until: Mapped[float] = mapped_column(Float)


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (
        # A worker never gets the same task twice: enforced by the database itself.
        UniqueConstraint("task_id", "worker_id", name="uq_assignments_task_worker"),
        Index("ix_assignments_live", "job_id", "status", "deadline"),
        Index("ix_assignments_worker", "worker_id", "job_id", "status"),
    )
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # leased | submitted | skipped | released | expired
    status: Mapped[str] = mapped_column(String(10))
    leased_at: Mapped[float] = mapped_column(Float)
    deadline: Mapped[float] = mapped_column(Float)
    last_seen_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float)
    # Set when the worker first saves a draft (work/drafts.py): only then does migration
    # 0013's trigger look for a draft to delete when the lease ends.
    has_draft: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("worker_id", "client_key", name="uq_answers_worker_client_key"),
        Index("ix_answers_task", "task_id"),
        Index("ix_answers_job_worker", "job_id", "worker_id"),
    )
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), unique=True
    )
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_key: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[float] = mapped_column(Float)
    time_spent: Mapped[float] = mapped_column(Float)
    # Excluded answers (a worker below the quality bar) no longer count towards labels.
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)


class Label(Base):
    """The consolidated result for a task."""

    __tablename__ = "labels"
    __table_args__ = (
        # A job's flagged labels (the label-issues panel) without reading all its labels.
        Index(
            "ix_labels_flagged",
            "job_id",
            sqlite_where=text("issue IS NOT NULL"),
            postgresql_where=text("issue IS NOT NULL"),
        ),
    )
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    # The label attribute's value in the output manifest (class index, list, object...).
    value: Mapped[Any] = mapped_column(JSON)
    # The `<attr>-metadata` keys specific to the task type (class-name, confidence...).
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    confidence: Mapped[float | None] = mapped_column(Float)
    human: Mapped[bool] = mapped_column(Boolean, default=True)
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    method: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[float] = mapped_column(Float)
    # A file that belongs to the label (a segmentation mask PNG); exports write it beside
    # the manifest and put its location in the label attribute.
    artifact: Mapped[bytes | None] = mapped_column(LargeBinary)
    # A model's suspicion that this (human) label is wrong: given and suggested class and
    # the model's probability of each (truthset.autolabel.label_issues). It counts only
    # while issue_label_at equals created_at, i.e. for the label version that was judged.
    issue: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    issue_label_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class ReviewLease(Base):
    """The review of one task: who holds it and until when, then the reviewer's answer.

    One row per task, so the primary key is what stops two reviewers leasing one item
    at once: a lease is taken by an insert, or by an update of a released or expired row,
    in one guarded upsert (quality/review.py)."""

    __tablename__ = "review_leases"
    __table_args__ = (Index("ix_review_leases_reviewer", "job_id", "reviewer_id", "status"),)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # leased (expired once past its deadline) | released | submitted
    status: Mapped[str] = mapped_column(String(10))
    leased_at: Mapped[float] = mapped_column(Float)
    deadline: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float)
    # The reviewer's validated answer once submitted (a repeated submit is compared to it).
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class GoldLabel(Base):
    __tablename__ = "gold_labels"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)


class JobTaskCount(Base):
    """A job's tasks (gold items aside) by status, kept by triggers on tasks (migration
    0016; a full task counts as open, so that leases change no count); a job's figure is
    the sum over its shards (one per writing PostgreSQL backend, so that concurrent
    writers never wait on one row; always 0 on SQLite)."""

    __tablename__ = "job_task_counts"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), primary_key=True)
    tasks: Mapped[int] = mapped_column(BigInteger, server_default="0")


class JobWorkerCount(Base):
    """Per job and worker: answers, seconds spent, answers on labeled tasks and those equal
    to the label (classification), kept by triggers on answers and labels (0016)."""

    __tablename__ = "job_worker_counts"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    worker_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    answers: Mapped[int] = mapped_column(BigInteger, server_default="0")
    time_spent: Mapped[float] = mapped_column(Float, server_default="0")
    labeled: Mapped[int] = mapped_column(BigInteger, server_default="0")
    agreeing: Mapped[int] = mapped_column(BigInteger, server_default="0")


class JobAnswerMinute(Base):
    """A job's answers and seconds spent per minute of submission (UNIX time // 60), kept
    by triggers on answers (0016): the throughput chart at any multiple of a minute."""

    __tablename__ = "job_answer_minutes"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    answers: Mapped[int] = mapped_column(BigInteger, server_default="0")
    time_spent: Mapped[float] = mapped_column(Float, server_default="0")


class WorkerStat(Base):
    """Per worker per job: skill estimate and quality figures, kept across iterations."""

    __tablename__ = "worker_stats"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    worker_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[float | None] = mapped_column(Float)
    gold_answers: Mapped[int] = mapped_column(Integer, default=0)
    gold_correct: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ActivityEvent(Base):
    """Worker activity log: accept, submit, decline, release, expire (with timestamps)."""

    __tablename__ = "activity_events"
    __table_args__ = (
        Index("ix_activity_job", "job_id", "at"),
        Index("ix_activity_worker", "worker_id", "at"),
    )
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(BigInteger)
    assignment_id: Mapped[int] = mapped_column(BigInteger)
    worker_id: Mapped[int] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(10))
    at: Mapped[float] = mapped_column(Float)


class Run(Base):
    """A background unit of work with progress (import, export, consolidation, training)."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_state", "state", "created_at"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    # queued | running | succeeded | failed | cancelled
    state: Mapped[str] = mapped_column(String(12))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_total: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    heartbeat_at: Mapped[float | None] = mapped_column(Float)


class AccessKey(Base):
    """An AWS-style access key of a user, for the SageMaker API (Signature Version 4).

    The secret is never stored: it is HMAC-SHA256(workspace master key, key_id), derived
    again to check each signature (truthset.sagemaker.keys). `secret_hash` (SHA-256 of
    the secret) tells which key a shown secret belongs to, and whether the master key has
    changed since the key was issued."""

    __tablename__ = "access_keys"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(20), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float)


class TaskInput(Base):
    """A task's `task.input` for a custom job's template: the pre-annotation hook's
    `taskInput` and `isHumanAnnotationRequired`, or the error that failed the item
    (truthset.templates.repository). No row: Ground Truth's default task input."""

    __tablename__ = "task_inputs"
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    task_input: Mapped[Any] = mapped_column(JSON)
    human_required: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


# -- hooks and webhooks (truthset.hooks) ----------------------------------------------------

# A task of a job with a pre-annotation hook waits in this status, which `next` never
# picks, until the hook's task input is saved (then open, or complete without people).
TASK_PENDING = "pending"


class TaskFailure(Base):
    """Why a hook failed a task (Ground Truth's FailedNonRetryableError for the item)."""

    __tablename__ = "task_failures"
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    # pre_annotation | post_annotation
    hook: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[float] = mapped_column(Float)


class WebhookEvent(Base):
    """The outbox: one event for one webhook of a job, delivered by the `webhooks` run."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    # The webhook's place in settings["webhooks"]; its url at the time the event was made.
    hook_index: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    # job_state | item_labeled
    event_type: Mapped[str] = mapped_column(String(20))
    # The exact JSON text sent and signed.
    body: Mapped[str] = mapped_column(Text)
    # pending | delivered | failed
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    delivered_at: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """The delivery log: one row per attempt to deliver an event."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True
    )
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[float] = mapped_column(Float)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration: Mapped[float] = mapped_column(Float)


class HookCursor(Base):
    """How far the webhooks scan has looked at a job: the last label seen (its created_at,
    then task id) and the job state last reported."""

    __tablename__ = "hook_cursors"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    labels_at: Mapped[float] = mapped_column(Float)
    labels_task: Mapped[int] = mapped_column(BigInteger)
    job_state: Mapped[str | None] = mapped_column(String(20))


class HookClaim(Base):
    """A pending task whose pre-annotation hook call one run has taken on, until `until`
    (two runs of one job, in two processes, never call the hook twice for a task; a claim
    left by a run that died lapses)."""

    __tablename__ = "hook_claims"
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    owner: Mapped[str] = mapped_column(String(80))
    until: Mapped[float] = mapped_column(Float)


class LoginFailure(Base):
    """Failed sign-ins of one user name (known or not) since `first_at`; the name is locked
    until `locked_until` once there are too many (kept in the database so that every app
    process sees the same count)."""

    __tablename__ = "login_failures"
    user_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[float] = mapped_column(Float)
    locked_until: Mapped[float | None] = mapped_column(Float)


class OidcProvider(Base):
    """An OpenID Connect identity provider people sign in through (truthset.workforce.oidc).
    `group_map` maps a value of the groups claim to {"teams": [...], "role": ...}; the
    client secret is kept sealed with a key derived from the workspace's master key."""

    __tablename__ = "oidc_providers"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str] = mapped_column(String(500))
    discovery_url: Mapped[str | None] = mapped_column(String(1000))
    client_id: Mapped[str] = mapped_column(String(300))
    client_secret_sealed: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(500))
    groups_claim: Mapped[str] = mapped_column(String(100))
    group_map: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    default_role: Mapped[str] = mapped_column(String(20))
    require_group: Mapped[bool] = mapped_column(Boolean, default=False)
    redirect_base: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class OidcIdentity(Base):
    """Which account a provider's subject (`sub`) signs in as."""

    __tablename__ = "oidc_identities"
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("oidc_providers.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    last_sign_in_at: Mapped[float] = mapped_column(Float)


class OidcLogin(Base):
    """A sign-in sent to a provider and not back yet: its state, nonce and PKCE verifier
    (in the database, so that the callback may reach any app process); used once."""

    __tablename__ = "oidc_logins"
    state: Mapped[str] = mapped_column(String(100), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("oidc_providers.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[float] = mapped_column(Float, index=True)


class OidcSession(Base):
    """A browser session made by a provider's sign-in: the provider and its ID token, for
    the sign-out to end the provider's session too (migration 0018)."""

    __tablename__ = "oidc_sessions"
    token_id: Mapped[int] = mapped_column(
        ForeignKey("auth_tokens.id", ondelete="CASCADE"), primary_key=True
    )
    provider_id: Mapped[int] = mapped_column(ForeignKey("oidc_providers.id", ondelete="CASCADE"))
    id_token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class WorkforceSetting(Base):
    """Workforce-wide settings an admin sets: `source_ip` (the CIDRs workers may work
    from, as Ground Truth's SourceIpConfig) and `trusted_proxies` (the CIDRs whose
    X-Forwarded-For is believed)."""

    __tablename__ = "workforce_settings"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[list[Any]] = mapped_column(JSON)
    updated_at: Mapped[float] = mapped_column(Float)


class TeamSourceIp(Base):
    """The CIDRs a team's members may work from, on top of the workforce's."""

    __tablename__ = "team_source_ips"
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    cidrs: Mapped[list[Any]] = mapped_column(JSON)
    updated_at: Mapped[float] = mapped_column(Float)


class AuditEvent(Base):
    """One admin or requester action (truthset.audit): who, what, on what, when, from where,
    and how it ended."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_actor", "actor_name", "at"),
        Index("ix_audit_action", "action", "at"),
    )
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str | None] = mapped_column(String(100))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(500))
    # ok | refused (the caller may not, or the input was wrong) | failed (the server's fault)
    outcome: Mapped[str] = mapped_column(String(10))
    status: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ReviewComment(Base):
    """One entry of an item's review thread (quality/comments.py): a comment by its
    reviewer or one of its annotators, or a reviewer's decision (accepted, corrected,
    returned) with what changed in ``detail``."""

    __tablename__ = "review_comments"
    __table_args__ = (
        Index("ix_review_comments_task", "task_id", "id"),
        Index("ix_review_comments_job", "job_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # comment | accepted | corrected | returned
    kind: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)


class AssignmentDraft(Base):
    """A worker's unsaved answer while the lease lives (work/drafts.py): the tool's JSON
    as it sent it. Migration 0013's trigger deletes it when the assignment (marked
    `has_draft`) leaves 'leased' (submitted, released, skipped, expired)."""

    __tablename__ = "assignment_drafts"
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[float] = mapped_column(Float)
