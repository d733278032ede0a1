"""The one label writer, on both stores: insert, replace, complete, and issue flags."""

from __future__ import annotations

from sqlalchemy import text

from support import job_over_items
from truthset.jobs.service import get_job
from truthset.labels.writer import class_label, flag_label_issues, write_label
from truthset.store.raw import stored_json


def _first_task(session, job_id):
    return session.execute(
        text("SELECT id FROM tasks WHERE job_id = :j ORDER BY position LIMIT 1"), {"j": job_id}
    ).scalar_one()


def test_a_label_is_written_replaced_and_its_task_completed(any_ws):
    job_over_items(any_ws, "j", [{"source": "a"}, {"source": "b"}], ["pos", "neg"], teams=())
    with any_ws.db.session_scope() as s:
        job = get_job(s, "j")
        task = _first_task(s, job.id)
        write_label(s, job.id, task, class_label(1, "neg", 0.6, "mv"), human=True, now=10.0)
        write_label(
            s,
            job.id,
            task,
            class_label(0, "pos", 0.9, "auto-label"),
            human=False,
            now=20.0,
            complete=True,
        )
    with any_ws.db.session_scope(write=False) as s:
        rows = s.execute(
            text(
                "SELECT l.value, l.meta, l.confidence, l.human, l.method, l.created_at, t.status "
                "FROM labels l JOIN tasks t ON t.id = l.task_id WHERE l.job_id = :j"
            ),
            {"j": job.id},
        ).all()
    assert len(rows) == 1  # replaced, not added
    value, meta, confidence, human, method, created_at, status = rows[0]
    assert stored_json(value) == 0
    assert stored_json(meta) == {"class-name": "pos", "confidence": 0.9}
    assert (confidence, bool(human), method, created_at, status) == (
        0.9,
        False,
        "auto-label",
        20.0,
        "complete",
    )


def test_issue_flags_replace_earlier_ones_and_skip_rewritten_labels(any_ws):
    job_over_items(any_ws, "f", [{"source": "a"}, {"source": "b"}], ["pos", "neg"], teams=())
    with any_ws.db.session_scope() as s:
        job = get_job(s, "f")
        tasks = list(
            s.execute(
                text("SELECT id FROM tasks WHERE job_id = :j ORDER BY position"), {"j": job.id}
            ).scalars()
        )
        for task in tasks:
            write_label(s, job.id, task, class_label(0, "pos", 1.0, "mv"), human=True, now=5.0)
        flag_label_issues(s, job.id, {tasks[0]: (5.0, {"suggested": "neg"})})
        # The second label's judged version (created at 4.0) was rewritten since: no flag.
        flag_label_issues(s, job.id, {tasks[1]: (4.0, {"suggested": "neg"})})
    with any_ws.db.session_scope(write=False) as s:
        flags = dict(
            s.execute(
                text("SELECT task_id, issue FROM labels WHERE job_id = :j"), {"j": job.id}
            ).all()
        )
    # The second call cleared the first call's flag and its own did not apply.
    assert flags == {tasks[0]: None, tasks[1]: None}
    with any_ws.db.session_scope() as s:
        flag_label_issues(s, job.id, {tasks[1]: (5.0, {"suggested": "neg"})})
    with any_ws.db.session_scope(write=False) as s:
        flags = dict(
            s.execute(
                text("SELECT task_id, issue FROM labels WHERE job_id = :j"), {"j": job.id}
            ).all()
        )
    assert flags[tasks[0]] is None and stored_json(flags[tasks[1]]) == {"suggested": "neg"}
