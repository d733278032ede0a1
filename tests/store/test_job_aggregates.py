"""Migration 0016's stored job aggregates (task counts by status, per-worker answer counts
with agreement with the label, answers per minute) stay equal to a full recount of the
job's rows through every write the product makes: submits (live and late), releases,
declines, expiry, review overrides and returns, reconsolidation, excluded answers, gold
items, job deletion; and the migration's backfill counts the rows that existed before it.
On SQLite and PostgreSQL (where the counts are split over writer shards)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import orjson
import pytest
from alembic import command
from sqlalchemy import select, text

from support import Setup
from truthset.jobs.service import delete_job, get_job
from truthset.quality import gold, review, review_return
from truthset.quality import service as quality
from truthset.store import migrate
from truthset.store.models import User
from truthset.work.answers import submit_answer
from truthset.work.leases import decline, expire_leases, lease_next_task, release

T0 = 1_800_000_000.0
AGGREGATES = ("job_task_counts", "job_worker_counts", "job_answer_minutes")


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _agrees(content: dict[str, Any], meta: dict[str, Any]) -> bool:
    """The console's rule (jobs/views.worker_table): the answer equals the label."""
    if "label" in content:
        return bool(content["label"] == meta.get("class-name"))
    return sorted(content.get("labels", [])) == sorted((meta.get("class-map") or {}).values())


def recount(session: Any, job_id: int) -> dict[str, Any]:
    """The aggregates recomputed from the job's tasks, answers and labels."""
    # A full task (leased to all the workers it needs) is counted as open.
    tasks = Counter(
        "open" if status == "full" else status
        for (status,) in session.execute(
            text("SELECT status FROM tasks WHERE job_id = :j AND is_gold = 0"), {"j": job_id}
        )
    )
    workers: dict[int, list[float]] = defaultdict(lambda: [0, 0.0, 0, 0])
    minutes: dict[int, list[float]] = defaultdict(lambda: [0, 0.0])
    rows = session.execute(
        text(
            "SELECT a.worker_id, a.time_spent, a.submitted_at, a.content, l.meta FROM answers a "
            "LEFT JOIN labels l ON l.task_id = a.task_id WHERE a.job_id = :j"
        ),
        {"j": job_id},
    ).all()
    for worker, spent, at, content, meta in rows:
        w = workers[worker]
        w[0] += 1
        w[1] += spent
        if meta is not None:
            w[2] += 1
            w[3] += int(_agrees(_json(content), _json(meta)))
        m = minutes[int(at // 60)]
        m[0] += 1
        m[1] += spent
    return {
        "tasks": {k: int(v) for k, v in tasks.items()},
        "workers": {k: tuple(v) for k, v in workers.items()},
        "minutes": {k: tuple(v) for k, v in minutes.items()},
    }


def stored(session: Any, job_id: int) -> dict[str, Any]:
    """The aggregates as stored, summed over shards, rows that add up to nothing left out."""
    params = {"j": job_id}
    tasks = session.execute(
        text(
            "SELECT status, sum(tasks) FROM job_task_counts WHERE job_id = :j GROUP BY status "
            "HAVING sum(tasks) <> 0"
        ),
        params,
    ).all()
    workers = session.execute(
        text(
            "SELECT worker_id, sum(answers), sum(time_spent), sum(labeled), sum(agreeing) "
            "FROM job_worker_counts WHERE job_id = :j GROUP BY worker_id "
            "HAVING sum(answers) <> 0 OR sum(labeled) <> 0"
        ),
        params,
    ).all()
    minutes = session.execute(
        text(
            "SELECT minute, sum(answers), sum(time_spent) FROM job_answer_minutes "
            "WHERE job_id = :j GROUP BY minute HAVING sum(answers) <> 0"
        ),
        params,
    ).all()
    return {
        "tasks": {k: int(v) for k, v in tasks},
        "workers": {int(w): (int(n), float(t), int(lab), int(a)) for w, n, t, lab, a in workers},
        "minutes": {int(m): (int(n), float(t)) for m, n, t in minutes},
    }


def assert_exact(ws: Any, job: str) -> dict[str, Any]:
    with ws.db.session_scope(write=False) as s:
        job_id = get_job(s, job).id
        expected, got = recount(s, job_id), stored(s, job_id)
    assert got["tasks"] == expected["tasks"]
    assert set(got["workers"]) == set(expected["workers"])
    for worker, (n, spent, labeled, agreeing) in expected["workers"].items():
        assert got["workers"][worker][0] == n
        assert got["workers"][worker][1] == pytest.approx(spent)
        assert got["workers"][worker][2:] == (labeled, agreeing), worker
    assert set(got["minutes"]) == set(expected["minutes"])
    for minute, (n, spent) in expected["minutes"].items():
        assert got["minutes"][minute][0] == n
        assert got["minutes"][minute][1] == pytest.approx(spent)
    return expected


def _work(ws: Any, job: str, worker: str, answer: Any, *, at: float, spent: float) -> str | None:
    """One lease and submit by `worker`; the item answered, or None when no task is left."""
    with ws.db.session_scope() as s:
        j = get_job(s, job)
        user = s.scalar(select(User).where(User.name == worker))
        leased = lease_next_task(s, j, user, now=at)
        if leased is None:
            return None
        submit_answer(s, leased.assignment_id, user, answer, time_spent=spent, now=at + spent)
        return leased.item_external_id


def _lease(ws: Any, job: str, worker: str, at: float) -> Any:
    with ws.db.session_scope() as s:
        user = s.scalar(select(User).where(User.name == worker))
        return lease_next_task(s, get_job(s, job), user, now=at)


def test_aggregates_equal_a_recount_through_every_write(any_ws: Any) -> None:
    ws = any_ws
    setup = Setup(ws, n_items=14, n_workers=4)
    setup.job("j", workers_per_item=2)
    assert assert_exact(ws, "j")["tasks"] == {"open": 14}
    at = T0
    # Submits over several minutes, workers disagreeing on some items.
    for round_ in range(5):
        for w, name in enumerate(setup.worker_names):
            label = "neg" if (round_ + w) % 3 == 0 else "pos"
            _work(ws, "j", name, {"label": label}, at=at, spent=3.0 + w)
            at += 41.0
    expected = assert_exact(ws, "j")
    assert sum(n for n, *_ in expected["workers"].values()) == 20
    assert len(expected["minutes"]) > 5

    # A release, a decline and an expired lease change task statuses only (a lease that
    # fills a task, full -> open and back, changes no count).
    t = _lease(ws, "j", "w00", at)
    with ws.db.session_scope() as s:
        release(s, t.assignment_id, s.scalar(select(User).where(User.name == "w00")), now=at)
    t = _lease(ws, "j", "w01", at + 1)
    with ws.db.session_scope() as s:
        decline(s, t.assignment_id, s.scalar(select(User).where(User.name == "w01")), now=at + 1)
    _lease(ws, "j", "w02", at + 2)
    assert_exact(ws, "j")
    with ws.db.session_scope() as s:
        assert expire_leases(s, get_job(s, "j").id, now=at + 10_000) == 1
    assert_exact(ws, "j")

    with ws.db.session_scope() as s:
        admin = s.scalar(select(User).where(User.name == "boss"))
        job = get_job(s, "j")
        labeled = [
            ext
            for (ext,) in s.execute(
                text(
                    "SELECT i.external_id FROM tasks t JOIN items i ON i.id = t.item_id "
                    "JOIN labels l ON l.task_id = t.id WHERE t.job_id = :j ORDER BY t.position"
                ),
                {"j": job.id},
            )
        ]
    assert len(labeled) >= 4
    # A review override changes the label's class: every answer's agreement moves.
    with ws.db.session_scope() as s:
        job = get_job(s, "j")
        review.review_item(s, job, labeled[0], {"label": "neg"}, admin, now=at + 20_000)
        review.review_item(s, job, labeled[1], {"label": "pos"}, admin, now=at + 20_001)
    assert_exact(ws, "j")
    # Returned to its workers: the answers and the label go, the task reopens.
    with ws.db.session_scope() as s:
        review_return.return_item(s, get_job(s, "j"), labeled[2], admin, "again", now=at + 20_002)
    assert_exact(ws, "j")
    # Job-level reconsolidation rewrites labels (Dawid-Skene).
    with ws.db.session_scope() as s:
        quality.reconsolidate_job(s, get_job(s, "j"), method="ds", now=at + 20_003)
    assert_exact(ws, "j")
    # A worker's answers excluded: their tasks reopen, the answers stay (and count).
    with ws.db.session_scope() as s:
        w3 = s.scalar(select(User.id).where(User.name == "w03"))
        quality.exclude_worker_answers(s, get_job(s, "j"), w3)
    assert_exact(ws, "j")
    # More answers, some late on labeled tasks' neighbours, then a gold item.
    at += 30_000
    for name in setup.worker_names[:3]:
        _work(ws, "j", name, {"label": "pos"}, at=at, spent=2.5)
        at += 61.0
    assert_exact(ws, "j")
    with ws.db.session_scope() as s:
        job = get_job(s, "j")
        open_item = s.execute(
            text(
                "SELECT i.external_id FROM tasks t JOIN items i ON i.id = t.item_id "
                "WHERE t.job_id = :j AND t.status = 'open' ORDER BY t.position DESC LIMIT 1"
            ),
            {"j": job.id},
        ).scalar_one()
        gold.add_gold(s, job, [(1, open_item, {"label": "pos"})])
    got = assert_exact(ws, "j")
    assert sum(got["tasks"].values()) == 13  # the gold item is not counted

    # Deleting the job takes its aggregates with it.
    with ws.db.session_scope() as s:
        job_id = get_job(s, "j").id
        delete_job(s, get_job(s, "j"))
    with ws.db.session_scope(write=False) as s:
        for table in AGGREGATES:
            n = s.execute(text(f"SELECT count(*) FROM {table} WHERE job_id = :j"), {"j": job_id})
            assert n.scalar_one() == 0, table


def test_multilabel_agreement_compares_the_sets_of_labels(any_ws: Any) -> None:
    setup = Setup(any_ws, n_items=3, n_workers=2)
    setup.job("m", task_type="text-classification-multilabel", label_config=["a", "b", "c"])
    with any_ws.db.session_scope() as s:
        s.execute(text("UPDATE jobs SET workers_per_item = 2 WHERE name = 'm'"))
        s.execute(text("UPDATE tasks SET target_answers = 2"))
    answers = {"w00": [["a", "b"], ["c"], []], "w01": [["b", "a"], ["a"], []]}
    for i in range(3):
        for name in ("w00", "w01"):
            _work(any_ws, "m", name, {"labels": answers[name][i]}, at=T0 + i, spent=1.0)
    expected = assert_exact(any_ws, "m")
    # Both workers agree with the union label on item 0 (a, b) and item 2 (nothing); on
    # item 1 the label is {a, c}, which neither answered alone.
    assert sorted((lab, agree) for _n, _t, lab, agree in expected["workers"].values()) == [
        (3, 2),
        (3, 2),
    ]


def test_backfill_counts_the_rows_written_before_the_migration(any_ws: Any) -> None:
    setup = Setup(any_ws, n_items=6, n_workers=2)
    setup.job("j", workers_per_item=2)
    for i in range(4):
        for name in setup.worker_names:
            _work(any_ws, "j", name, {"label": "pos" if i % 2 else "neg"}, at=T0 + 70 * i, spent=2)
    with any_ws.db.session_scope(write=False) as s:
        before = recount(s, get_job(s, "j").id)
    cfg = migrate.alembic_config()
    with any_ws.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0015")
    with any_ws.db.session_scope() as s:
        # Written while no trigger counts them: the backfill must.
        s.execute(text("UPDATE tasks SET status = 'failed' WHERE position = 5"))
    migrate.upgrade(any_ws.db)
    assert migrate.current_revision(any_ws.db) == migrate.head_revision()
    got = assert_exact(any_ws, "j")
    assert got["workers"] == before["workers"]  # whole seconds: exact sums
    assert got["tasks"] == {"complete": 4, "open": 1, "failed": 1}
    # And the triggers count on from there.
    _work(any_ws, "j", "w00", {"label": "pos"}, at=T0 + 1000, spent=1)
    assert Counter(assert_exact(any_ws, "j")["tasks"]) == Counter(
        {"complete": 4, "open": 1, "failed": 1}
    )


def test_answers_written_after_a_submit_in_its_transaction_are_counted(any_ws: Any) -> None:
    """On PostgreSQL a submit counts its answer itself and has 0016's trigger skip that one
    statement (migration 0019); an answer inserted by any other statement of the same
    transaction, as a batch of calls or another writer would, is still counted once, and
    so is the next submit's. (On SQLite the triggers count every answer.)"""
    setup = Setup(any_ws, n_items=4, n_workers=3)
    setup.job("j", workers_per_item=3)
    with any_ws.db.session_scope() as s:
        job = get_job(s, "j")
        w0, w1, w2 = (s.scalar(select(User).where(User.name == n)) for n in setup.worker_names)
        first = lease_next_task(s, job, w0, now=T0)
        other = lease_next_task(s, job, w1, now=T0)
        last = lease_next_task(s, job, w2, now=T0)
        assert first is not None and other is not None and last is not None
        submit_answer(s, first.assignment_id, w0, {"label": "pos"}, time_spent=2.0, now=T0 + 2)
        # Another writer's plain insert (not the work engine's statement), right after.
        s.execute(
            text(
                "INSERT INTO answers (assignment_id, task_id, job_id, worker_id, content, "
                "submitted_at, time_spent, excluded) SELECT id, task_id, job_id, worker_id, "
                '\'{"label": "neg"}\', :at, 5.0, :no FROM assignments WHERE id = :a'
            ),
            {"a": other.assignment_id, "at": T0 + 65, "no": False},
        )
        submit_answer(s, last.assignment_id, w2, {"label": "pos"}, time_spent=3.0, now=T0 + 3)
    expected = assert_exact(any_ws, "j")
    assert sorted(n for n, *_ in expected["workers"].values()) == [1, 1, 1]
    assert sum(n for n, _ in expected["minutes"].values()) == 3
