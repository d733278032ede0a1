"""The jobs domain's queries: jobs by name, a job's tasks (creating them, counting them by
status), the lifecycle's writes, who sees which job, and the read models' lists (labels,
answers, workers, the activity log, throughput, pre-labeling).

Each function keeps the way its query always ran: through the ORM (`select`) where it
reads rows as models, through the session (`text`) elsewhere, so pending ORM changes are
flushed before each statement as they always were. The job snapshot's one raw statement
(the work engine's hot path) stays in jobs/snapshot.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from truthset.store.models import Job, JobTeam, Team, TeamMember, User

# -- jobs by name ---------------------------------------------------------------------------


def job_id_named(session: Session, name: str) -> int | None:
    """The id of the job called `name`, or None."""
    return session.scalar(select(Job.id).where(Job.name == name))


def job_named(session: Session, name: str) -> Job | None:
    return session.scalar(select(Job).where(Job.name == name))


def name_of_job_fed_by(session: Session, job_id: int) -> str | None:
    """The name of a job that takes this job's output as its input (chaining), or None."""
    return session.scalar(select(Job.name).where(Job.input_job_id == job_id))


def jobs_of_dataset_with_attribute(session: Session, dataset_id: int, attribute: str) -> list[Job]:
    """The jobs over a dataset (directly or chained) that write `attribute`, newest first."""
    return list(
        session.scalars(
            select(Job)
            .where(Job.dataset_id == dataset_id, Job.label_attribute == attribute)
            .order_by(Job.id.desc())
        )
    )


# -- a job's tasks --------------------------------------------------------------------------

_INSERT_TASKS = (
    "INSERT INTO tasks (job_id, item_id, status, position, is_gold, started, priority, "
    "target_answers, live_leases, answers, declines, updated_at) "
)
# Which of the input job's tasks a chained job takes: the labeled ones (a review), the
# unlabeled ones (the same label attribute again), or every one.
_INPUT_STATUS = {
    "labeled": "AND it.status IN ('complete', 'auto')",
    "unlabeled": "AND it.status NOT IN ('complete', 'auto')",
    None: "",
}


def insert_tasks_from_job(
    session: Session,
    job_id: int,
    input_job_id: int,
    *,
    target_answers: int,
    input_status: Literal["labeled", "unlabeled"] | None,
    now: float,
) -> int:
    """Tasks of a chained job for the input job's items it has none for yet, in the input
    job's order. Returns how many were added."""
    sql = (
        _INSERT_TASKS + "SELECT :j, it.item_id, 'open', it.position, 0, 0, 0.0, :n, 0, 0, 0, :now "
        "FROM tasks it WHERE it.job_id = :ij "
        + _INPUT_STATUS[input_status]
        + " AND NOT EXISTS (SELECT 1 FROM tasks t2 "
        "WHERE t2.job_id = :j AND t2.item_id = it.item_id) ORDER BY it.position"
    )
    result = session.execute(
        text(sql), {"j": job_id, "n": target_answers, "now": now, "ij": input_job_id}
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def insert_tasks_from_dataset(
    session: Session, job_id: int, dataset_id: int | None, *, target_answers: int, now: float
) -> int:
    """Tasks of a job for its dataset's items it has none for yet. Returns how many were
    added."""
    sql = (
        _INSERT_TASKS + "SELECT :j, i.id, 'open', i.position, 0, 0, 0.0, :n, 0, 0, 0, :now "
        "FROM items i WHERE i.dataset_id = :d "
        "AND NOT EXISTS (SELECT 1 FROM tasks t2 WHERE t2.job_id = :j AND t2.item_id = i.id) "
        # Task ids in import order: reading a job in order (exports, the work queue's
        # ties) then walks the tasks and labels tables sequentially, not at random.
        "ORDER BY i.position"
    )
    result = session.execute(
        text(sql), {"j": job_id, "d": dataset_id, "n": target_answers, "now": now}
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def copy_imported_labels(session: Session, job_id: int, imported_job_id: int, now: float) -> int:
    """Give a job's open, unstarted tasks the labels an imported job holds for their items
    (the task becomes complete or auto as the imported one is, and keeps the label's
    value, metadata, confidence and date): Ground Truth's rule that a job on a label
    attribute the lines already carry works only the lines that lack it. Returns how many
    tasks were labeled so."""
    params = {"j": job_id, "ij": imported_job_id, "now": now}
    session.execute(
        text(
            "INSERT INTO labels (task_id, job_id, value, meta, confidence, human, reviewed, "
            "method, created_at, artifact) "
            "SELECT t.id, :j, l.value, l.meta, l.confidence, l.human, l.reviewed, l.method, "
            "l.created_at, l.artifact FROM tasks t "
            "JOIN tasks it ON it.job_id = :ij AND it.item_id = t.item_id "
            "JOIN labels l ON l.task_id = it.id "
            "WHERE t.job_id = :j AND t.status = 'open' AND t.started = 0 "
            "AND it.status IN ('complete', 'auto') "
            "AND NOT EXISTS (SELECT 1 FROM labels l2 WHERE l2.task_id = t.id)"
        ),
        params,
    )
    result = session.execute(
        text(
            "UPDATE tasks SET status = (SELECT it.status FROM tasks it "
            "WHERE it.job_id = :ij AND it.item_id = tasks.item_id), updated_at = :now "
            "WHERE job_id = :j AND status = 'open' AND started = 0 "
            "AND EXISTS (SELECT 1 FROM labels l WHERE l.task_id = tasks.id)"
        ),
        params,
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def task_of_item(session: Session, job_id: int, external_id: str) -> Any:
    """A job's task of an item, by the item's id: (task_id, item_id, status, answers,
    is_gold, external_id, data) with those names, or None."""
    return session.execute(
        text(
            "SELECT t.id AS task_id, t.item_id, t.status, t.answers, t.is_gold, i.external_id, "
            "i.data FROM tasks t JOIN items i ON i.id = t.item_id "
            "WHERE t.job_id = :j AND i.external_id = :e"
        ),
        {"j": job_id, "e": external_id},
    ).first()


def task_counts_by_status(session: Session, job_id: int) -> list[Any]:
    """(status, tasks) of the job's tasks, gold items aside, from the stored counts that
    triggers on tasks keep (migration 0016): a few rows, not a count of the job's tasks."""
    return list(
        session.execute(
            text(
                "SELECT status, sum(tasks) FROM job_task_counts WHERE job_id = :j "
                "GROUP BY status HAVING sum(tasks) <> 0"
            ),
            {"j": job_id},
        ).all()
    )


def task_count(session: Session, job_id: int) -> int:
    """How many tasks the job has, gold items aside."""
    return session.execute(
        text("SELECT count(*) FROM tasks WHERE job_id = :j AND is_gold = 0"), {"j": job_id}
    ).scalar_one()


def complete_task_count(session: Session, job_id: int) -> int:
    """How many of the job's tasks people labeled, gold items aside."""
    return session.execute(
        text(
            "SELECT count(*) FROM tasks WHERE job_id = :j AND status = 'complete' AND is_gold = 0"
        ),
        {"j": job_id},
    ).scalar_one()


def has_unfinished_task(session: Session, job_id: int) -> bool:
    """Whether an open or full task is left, or one waiting for its pre-annotation hook
    (pending), gold items aside."""
    return (
        session.execute(
            text(
                "SELECT 1 FROM tasks WHERE job_id = :j AND status IN ('open', 'full', 'pending') "
                "AND is_gold = 0 LIMIT 1"
            ),
            {"j": job_id},
        ).first()
        is not None
    )


# -- the lifecycle's writes -----------------------------------------------------------------


def shorten_leases(session: Session, job_id: int, now: float) -> None:
    """A stopping job's live leases with more than a minute left: their deadline is now."""
    session.execute(
        text(
            "UPDATE assignments SET deadline = :now WHERE job_id = :j AND status = 'leased' "
            "AND deadline > :now + 60"
        ),
        {"j": job_id, "now": now},
    )


_JOB_TABLES = (
    "activity_events",
    "labels",
    "answers",
    "assignments",
    "tasks",
    "gold_labels",
    "worker_stats",
    "job_teams",
    # Last: the triggers of the deletes above have brought them to zero.
    "job_task_counts",
    "job_worker_counts",
    "job_answer_minutes",
)


def delete_job_rows(session: Session, job_id: int) -> None:
    """Every row that belongs to the job, in order; its runs stay, without the job."""
    for table in _JOB_TABLES:
        session.execute(text(f"DELETE FROM {table} WHERE job_id = :j"), {"j": job_id})
    session.execute(text("UPDATE runs SET job_id = NULL WHERE job_id = :j"), {"j": job_id})


# -- who sees which job ---------------------------------------------------------------------


def team_ids_of_worker(session: Session, user_id: int) -> set[int]:
    return set(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))


def team_ids_of_job(session: Session, job_id: int) -> set[int]:
    return set(session.scalars(select(JobTeam.team_id).where(JobTeam.job_id == job_id)))


def team_names_of_job(session: Session, job_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Team.name)
            .join(JobTeam, JobTeam.team_id == Team.id)
            .where(JobTeam.job_id == job_id)
        )
    )


def all_jobs(session: Session) -> list[Job]:
    return list(session.scalars(select(Job).order_by(Job.id)))


def jobs_of_teams(session: Session, team_ids: Iterable[int]) -> list[Job]:
    return list(
        session.scalars(
            select(Job)
            .where(Job.id.in_(select(JobTeam.job_id).where(JobTeam.team_id.in_(team_ids))))
            .order_by(Job.id)
        )
    )


# -- the read models' lists -----------------------------------------------------------------


def task_position(session: Session, job_id: int, task_id: int) -> int | None:
    """Where a task of the job stands in import order (a label page's cursor), or None."""
    return session.execute(
        text("SELECT position FROM tasks WHERE id = :t AND job_id = :j"),
        {"t": task_id, "j": job_id},
    ).scalar()


def label_rows(
    session: Session,
    job_id: int,
    *,
    offset: int,
    limit: int,
    label: str | None,
    human: bool | None,
    max_confidence: float | None,
    status: str | None,
    disputed: bool = False,
    cursor: tuple[int, int] | None = None,
    backwards: bool = False,
) -> list[Any]:
    """(external id, data, status, answers, value, meta, confidence, human, method, task
    id, item id, position) of the job's tasks with their labels, in import order (position,
    then task id), one page. With `cursor` (a task's position and id) the page starts
    after that task (before it, `backwards`, the rows then newest first): a walk of the
    (job_id, position) index from there, where an OFFSET would read every row before the
    page. With `label`, the rows whose label metadata holds that name (and, rarely, others
    that hold the same text); with `disputed`, the tasks whose workers gave different
    answers."""
    where = ["t.job_id = :j", "t.is_gold = 0"]
    params: dict[str, Any] = {"j": job_id, "l": limit, "o": offset}
    if cursor is not None:
        params["cp"], params["ct"] = cursor
        if backwards:
            where.append("t.position <= :cp AND (t.position < :cp OR t.id < :ct)")
        else:
            where.append("t.position >= :cp AND (t.position > :cp OR t.id > :ct)")
    if human is not None:
        where.append("l.human = :h")
        params["h"] = human
    if max_confidence is not None:
        where.append("l.confidence <= :mc")
        params["mc"] = max_confidence
    if status is not None:
        where.append("t.status = :s")
        params["s"] = status
    if disputed:
        where.append(
            "EXISTS (SELECT 1 FROM answers a1 JOIN answers a2 ON a2.task_id = a1.task_id "
            "AND CAST(a2.content AS TEXT) <> CAST(a1.content AS TEXT) WHERE a1.task_id = t.id)"
        )
    if label is not None:
        # In SQL, so that LIMIT/OFFSET page through the matching labels: the stored metadata
        # holds the name as a JSON string value (class-name, or an entry of class-map).
        needle = ":" + orjson.dumps(label).decode()
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("CAST(l.meta AS TEXT) LIKE :lp ESCAPE '\\'")
        params["lp"] = f"%{escaped}%"
    order = "t.position DESC, t.id DESC" if backwards else "t.position, t.id"
    return list(
        session.execute(
            text(
                "SELECT i.external_id, i.data, t.status, t.answers, l.value, l.meta, "
                "l.confidence, l.human, l.method, t.id, t.item_id, t.position FROM tasks t "
                "JOIN items i ON i.id = t.item_id LEFT JOIN labels l ON l.task_id = t.id WHERE "
                + " AND ".join(where)
                + f" ORDER BY {order} LIMIT :l OFFSET :o"
            ),
            params,
        ).all()
    )


def answers_of_task(session: Session, task_id: int) -> list[Any]:
    """(worker name, content, submitted at, seconds spent, excluded) of a task's answers."""
    return list(
        session.execute(
            text(
                "SELECT u.name, a.content, a.submitted_at, a.time_spent, a.excluded "
                "FROM answers a JOIN users u ON u.id = a.worker_id WHERE a.task_id = :t "
                "ORDER BY a.id"
            ),
            {"t": task_id},
        ).all()
    )


def label_of_task(session: Session, task_id: int) -> Any:
    """(value, meta, confidence, human, method, reviewed) of a task's label, or None."""
    return session.execute(
        text(
            "SELECT value, meta, confidence, human, method, reviewed FROM labels WHERE task_id = :t"
        ),
        {"t": task_id},
    ).first()


def worker_stats_of_job(session: Session, job_id: int) -> list[Any]:
    """(worker name, answers, seconds spent, skill, gold answers, gold correct, blocked,
    answers on labeled tasks, of those equal to the label) of every worker who answered in
    the job, by name, from the stored counts that triggers on answers and labels keep
    (migration 0016): one row per worker and writer shard, not the job's answers."""
    return list(
        session.execute(
            text(
                "SELECT u.name, c.answers, c.time_spent, ws.skill, "
                "coalesce(ws.gold_answers, 0), coalesce(ws.gold_correct, 0), "
                "coalesce(ws.blocked, :f), c.labeled, c.agreeing FROM (SELECT worker_id, "
                "sum(answers) AS answers, sum(time_spent) AS time_spent, sum(labeled) AS labeled, "
                "sum(agreeing) AS agreeing FROM job_worker_counts WHERE job_id = :j "
                "GROUP BY worker_id HAVING sum(answers) > 0) c "
                "JOIN users u ON u.id = c.worker_id "
                "LEFT JOIN worker_stats ws ON ws.job_id = :j AND ws.worker_id = c.worker_id "
                "ORDER BY u.name"
            ),
            {"j": job_id, "f": False},
        ).all()
    )


def user_id_named(session: Session, name: str) -> int | None:
    return session.scalar(select(User.id).where(User.name == name))


def activity_of_job(
    session: Session, job_id: int, *, worker_id: int | None, limit: int, offset: int
) -> list[Any]:
    """(event, at, worker name, item external id, assignment id) of the job's activity log
    (one worker's, with `worker_id`), one page."""
    params: dict[str, Any] = {"j": job_id, "l": limit, "o": offset}
    cond = ""
    if worker_id is not None:
        cond = " AND e.worker_id = :w"
        params["w"] = worker_id
    return list(
        session.execute(
            text(
                "SELECT e.event, e.at, u.name, i.external_id, e.assignment_id "
                "FROM activity_events e "
                "JOIN users u ON u.id = e.worker_id JOIN tasks t ON t.id = e.task_id "
                "JOIN items i ON i.id = t.item_id WHERE e.job_id = :j"
                + cond
                + " ORDER BY e.id LIMIT :l OFFSET :o"
            ),
            params,
        ).all()
    )


def answers_per_bucket(session: Session, job_id: int, bucket_seconds: int) -> list[Any]:
    """(bucket, answers, seconds spent) of the job's answers, per time bucket (the bucket
    of time t is t // bucket_seconds). A bucket of whole minutes adds up the stored answers
    per minute (migration 0016's job_answer_minutes, a row per minute and writer shard);
    any other reads the job's answers."""
    if bucket_seconds % 60 == 0:
        sql = (
            "SELECT minute / :m AS bucket, sum(answers), sum(time_spent) "
            "FROM job_answer_minutes WHERE job_id = :j GROUP BY bucket "
            "HAVING sum(answers) > 0 ORDER BY bucket"
        )
        params = {"j": job_id, "m": bucket_seconds // 60}
    else:
        bucket = "CAST(floor(submitted_at / :b) AS BIGINT)"
        if session.get_bind().dialect.name == "sqlite":
            bucket = "CAST(submitted_at / :b AS INTEGER)"  # positive times: the floor
        sql = (
            f"SELECT {bucket} AS bucket, count(*), sum(time_spent) FROM answers "
            "WHERE job_id = :j GROUP BY bucket ORDER BY bucket"
        )
        params = {"j": job_id, "b": bucket_seconds}
    return list(session.execute(text(sql), params).all())


def activity_of_worker(session: Session, worker_id: int, *, limit: int, offset: int) -> list[Any]:
    """(event, at, job name, item external id, assignment id) of one worker's activity log
    across jobs, one page."""
    return list(
        session.execute(
            text(
                "SELECT e.event, e.at, j.name, i.external_id, e.assignment_id "
                "FROM activity_events e "
                "JOIN jobs j ON j.id = e.job_id JOIN tasks t ON t.id = e.task_id "
                "JOIN items i ON i.id = t.item_id WHERE e.worker_id = :w "
                "ORDER BY e.id LIMIT :l OFFSET :o"
            ),
            {"w": worker_id, "l": limit, "o": offset},
        ).all()
    )


def counted_answers_with_items(session: Session, job_id: int) -> list[Any]:
    """(content, seconds spent, item data) of the job's answers that count (not excluded),
    gold items aside."""
    return list(
        session.execute(
            text(
                "SELECT a.content, a.time_spent, i.data FROM answers a "
                "JOIN tasks t ON t.id = a.task_id JOIN items i ON i.id = t.item_id "
                "WHERE a.job_id = :j AND a.excluded = :f AND t.is_gold = 0"
            ),
            {"j": job_id, "f": False},
        ).all()
    )


def label_with_job(session: Session, job_id: int, item_id: int) -> Any:
    """(value, meta, artifact, label attribute, task type, label config) of a job's label
    of an item, or None."""
    return session.execute(
        text(
            "SELECT l.value, l.meta, l.artifact, j.label_attribute, j.task_type, j.label_config "
            "FROM tasks t JOIN labels l ON l.task_id = t.id JOIN jobs j ON j.id = t.job_id "
            "WHERE t.job_id = :j AND t.item_id = :i"
        ),
        {"j": job_id, "i": item_id},
    ).first()


# -- the in-flight window (max-concurrent-tasks) outside the work engine's hot path ------


def enter_window(session: Session, job_id: int) -> None:
    """A task is started and unfinished again: one task more in flight."""
    session.execute(text("UPDATE jobs SET in_flight = in_flight + 1 WHERE id = :j"), {"j": job_id})


def leave_window(session: Session, job_id: int) -> None:
    """A started task leaves the job's work: one task fewer in flight."""
    session.execute(text("UPDATE jobs SET in_flight = in_flight - 1 WHERE id = :j"), {"j": job_id})
