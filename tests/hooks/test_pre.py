"""The pre-annotation hook: tasks wait until their task input exists, the hook's answer
opens, finishes or fails each item, and `next` never waits on it."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from hooks.conftest import HookServer, hooks_workspace, run_all, write_handler
from support import job_over_items
from truthset.errors import BadInput
from truthset.hooks import pre, repository
from truthset.jobs.service import counters, get_job
from truthset.runs.executor import RunContext
from truthset.runs.service import enqueue
from truthset.store.models import Label, Run, TaskInput, User
from truthset.work.leases import lease_next_task
from truthset.workspace import Workspace

ITEMS = [
    {"id": "a", "source": "keep me"},
    {"id": "b", "source": "skip me", "extra": 3},
    {"id": "c", "source": "break me"},
]
ARN = re.compile(r"^arn:aws:sagemaker:[a-z0-9-]+:000000000000:labeling-job/pre$")


def statuses(ws: Workspace, job: str) -> dict[str, str]:
    with ws.db.session_scope(write=False) as s:
        rows = s.execute(
            text(
                "SELECT i.external_id, t.status FROM tasks t JOIN items i ON i.id = t.item_id "
                "WHERE t.job_id = :j"
            ),
            {"j": get_job(s, job).id},
        ).all()
    return dict(rows)


def lease(ws: Workspace, job: str, worker: str = "w1") -> Any:
    with ws.db.session_scope() as s:
        user = s.scalar(select(User).where(User.name == worker))
        return lease_next_task(s, get_job(s, job), user)


def answer_by_source(event: dict[str, Any]) -> tuple[int, Any]:
    source = event["dataObject"]["source"]
    if source == "break me":
        return 500, {"error": "down"}
    if source == "skip me":
        return 200, {"taskInput": {}, "isHumanAnnotationRequired": "false"}
    return 200, {"taskInput": {"shout": source.upper()}, "isHumanAnnotationRequired": True}


def test_http_hook_opens_finishes_and_fails_items(hws: Workspace, server: HookServer) -> None:
    server.respond = answer_by_source
    settings = {"pre_annotation": {"url": server.url + "/pre", "secret": "k", "timeout": 2}}
    job_over_items(hws, "pre", ITEMS, ["x", "y"], settings=settings)
    assert statuses(hws, "pre") == {"a": "pending", "b": "pending", "c": "pending"}
    assert lease(hws, "pre") is None  # nothing is handed out before its input exists
    with hws.db.session_scope(write=False) as s:
        assert get_job(s, "pre").state == "in_progress"
        assert counters(s, get_job(s, "pre").id)["unlabeled"] == 3

    assert run_all(hws) == 1
    assert statuses(hws, "pre") == {"a": "open", "b": "complete", "c": "failed"}
    events = {e["dataObject"]["id"]: e for e in server.bodies()}
    assert set(events) == {"a", "b", "c"}
    assert events["b"] == {
        "version": "2018-10-16",
        "labelingJobArn": events["b"]["labelingJobArn"],
        "dataObject": {"id": "b", "source": "skip me", "extra": 3},
    }
    assert ARN.match(events["b"]["labelingJobArn"])
    for _path, headers, body in server.requests:
        assert headers["X-Truthset-Signature"] == (
            "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
        )
    # The failing item was tried three times, the others once.
    assert sum(e["dataObject"]["id"] == "c" for e in server.bodies()) == 3
    with hws.db.session_scope(write=False) as s:
        job_id = get_job(s, "pre").id
        inputs = {ti.task_id: ti for ti in s.scalars(select(TaskInput))}
        label = s.scalars(select(Label).where(Label.job_id == job_id)).one()
        assert (label.value, label.method, label.human) == ({}, "pre_annotation", False)
        reason = s.execute(text("SELECT reason FROM task_failures")).scalar_one()
        assert reason.startswith("pre-annotation hook failed: HTTP 500")
        assert "tried 3 times" in reason
        by_input = sorted((ti.human_required, ti.error is None) for ti in inputs.values())
        assert by_input == [(False, False), (False, True), (True, True)]
        assert {json.dumps(ti.task_input) for ti in inputs.values()} >= {'{"shout": "KEEP ME"}'}
        assert get_job(s, "pre").state == "in_progress"
    leased = lease(hws, "pre")
    assert leased is not None and leased.item_external_id == "a"


def test_handler_file_hook_and_its_timeout(
    hws: Workspace, handler_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = write_handler(
        handler_dir,
        "pre.py",
        "import time\n"
        "def lambda_handler(event, context):\n"
        "    line = event['dataObject']\n"
        "    if line['source'] == 'break me':\n"
        "        time.sleep(20)\n"
        "    return {'taskInput': {'arn': event['labelingJobArn'], 'text': line['source']},\n"
        "            'isHumanAnnotationRequired': line['source'] != 'skip me'}\n",
    )
    settings = {"pre_annotation": {"handler": str(handler), "timeout": 1, "tries": 1}}
    job_over_items(hws, "pre", ITEMS, ["x", "y"], settings=settings)
    run_all(hws)
    assert statuses(hws, "pre") == {"a": "open", "b": "complete", "c": "failed"}
    with hws.db.session_scope(write=False) as s:
        reason = s.execute(text("SELECT reason FROM task_failures")).scalar_one()
        assert "ran past its timeout of 1 s" in reason
        got = [ti.task_input for ti in s.scalars(select(TaskInput)) if ti.human_required]
        assert got[0]["text"] == "keep me" and ARN.match(got[0]["arn"])


def test_answers_of_the_wrong_shape_fail_the_item(hws: Workspace, server: HookServer) -> None:
    server.replies = [(200, ["not", "an", "object"])]
    job_over_items(
        hws, "pre", ITEMS[:1], ["x", "y"], settings={"pre_annotation": {"url": server.url}}
    )
    run_all(hws)
    assert statuses(hws, "pre") == {"a": "failed"}
    with pytest.raises(pre.BadResponse, match="isHumanAnnotationRequired must be"):
        pre.parse_response({"taskInput": {}, "isHumanAnnotationRequired": "maybe"})
    with pytest.raises(pre.BadResponse, match="no taskInput"):
        pre.parse_response({"isHumanAnnotationRequired": True})


def test_unlisted_host_or_folder_is_refused_when_the_job_is_created(
    hws: Workspace, tmp_path: Path
) -> None:
    with pytest.raises(BadInput, match=r"settings.pre_annotation.url .*not one the admin allowed"):
        job_over_items(
            hws,
            "pre",
            ITEMS,
            ["x", "y"],
            settings={"pre_annotation": {"url": "https://evil.test/"}},
        )
    elsewhere = tmp_path / "h.py"
    elsewhere.write_text("def lambda_handler(e, c):\n    return {}\n")
    with pytest.raises(BadInput, match="settings.post_annotation.handler .*outside the folders"):
        job_over_items(
            hws,
            "pre2",
            ITEMS,
            ["x", "y"],
            settings={"post_annotation": {"handler": str(elsewhere)}},
        )
    with hws.db.session_scope(write=False) as s:
        assert s.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 0


def test_the_periodic_hook_queues_jobs_left_waiting(hws: Workspace, server: HookServer) -> None:
    server.replies = [(200, {"taskInput": {"n": 1}})]
    job_over_items(hws, "pre", ITEMS, ["x", "y"], settings={"pre_annotation": {"url": server.url}})
    with hws.db.session_scope(write=False) as s:
        assert pre.schedule_due(s, every=0.0) == []  # the run queued at creation is enough
    run_all(hws)
    with hws.db.session_scope() as s:
        s.execute(text("UPDATE tasks SET status = 'pending'"))
    with hws.db.session_scope() as s:
        assert pre.schedule_due(s, every=0.0) == ["pre"]
    run_all(hws)
    assert set(statuses(hws, "pre").values()) == {"open"}


def test_two_runs_at_once_call_the_hook_once_per_task(
    hws: Workspace, server: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two executors (two processes) running the job's run at the same time: each claims
    # tasks the other has not, so no item is sent to the hook twice.
    monkeypatch.setattr(pre, "BATCH", 4)
    server.delay = 0.03
    server.replies = [(200, {"taskInput": {"n": 1}})]
    items = [{"id": f"i{n:02d}", "source": f"text {n}"} for n in range(40)]
    job_over_items(hws, "pre", items, ["x", "y"], settings={"pre_annotation": {"url": server.url}})
    with hws.db.session_scope() as s:
        job_id = get_job(s, "pre").id
        run_ids = [enqueue(s, pre.PRE_RUN, {"job": "pre"}, job_id=job_id).id for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[dict[str, Any]] = []

    def run(run_id: int) -> None:
        ctx = RunContext(hws.db, hws.settings, run_id)
        barrier.wait()
        results.append(pre.pre_annotation_run(ctx, job="pre"))

    threads = [threading.Thread(target=run, args=(r,)) for r in run_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    sent = [e["dataObject"]["id"] for e in server.bodies()]
    assert sorted(sent) == [item["id"] for item in items]  # every item once, none twice
    assert len(results) == 2 and all(r["opened"] > 0 for r in results), results
    assert sum(r["opened"] for r in results) == len(items)
    assert set(statuses(hws, "pre").values()) == {"open"}
    with hws.db.session_scope(write=False) as s:
        assert s.execute(text("SELECT count(*) FROM hook_claims")).scalar_one() == 0


def test_a_claim_keeps_other_runs_off_until_it_lapses(hws: Workspace, server: HookServer) -> None:
    job_over_items(hws, "pre", ITEMS, ["x", "y"], settings={"pre_annotation": {"url": server.url}})
    now = time.time()
    with hws.db.session_scope() as s:
        job_id = get_job(s, "pre").id
        mine = repository.claim_pending_tasks(s, job_id, "a", 10, now, now + 100)
        assert len(mine) == 3
    with hws.db.session_scope() as s:
        assert repository.claim_pending_tasks(s, job_id, "b", 10, now + 1, now + 101) == []
        assert not repository.has_pending_task(s, job_id, now + 1)  # nothing to queue
        assert pre.schedule_due(s, now=now + 1, every=0.0) == []
    with hws.db.session_scope() as s:
        # "a" died: past its claim's end another run takes the tasks.
        assert repository.has_pending_task(s, job_id, now + 100)
        taken = repository.claim_pending_tasks(s, job_id, "b", 10, now + 100, now + 200)
        assert [r[0] for r in taken] == [r[0] for r in mine]
        assert not repository.holds_claim(s, mine[0][0], "a")
        assert repository.holds_claim(s, mine[0][0], "b")


def test_a_narrowed_allow_list_backs_the_requeue_off(
    hws: Workspace, server: HookServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.replies = [(200, {"taskInput": {"n": 1}})]
    job_over_items(hws, "pre", ITEMS, ["x", "y"], settings={"pre_annotation": {"url": server.url}})
    # The admin narrows the list (the server restarted with it): the job's host is off it.
    narrowed = hooks_workspace(
        tmp_path / "again", monkeypatch, hosts="hooks.example.com", url=hws.settings.database_url
    )
    try:
        assert run_all(narrowed) == 1
        with narrowed.db.session_scope(write=False) as s:
            run = s.scalars(select(Run).where(Run.kind == pre.PRE_RUN)).one()
            assert run.state == "failed"
            assert run.error is not None
            assert "job 'pre': its pre_annotation hook cannot be called now" in run.error
            assert f"host '127.0.0.1:{server.port}' is not one the admin allowed" in run.error
        assert server.requests == []
        assert statuses(hws, "pre") == dict.fromkeys("abc", "pending")  # waiting, not failed
        finished = run.finished_at
        assert finished is not None
        # Queued again after 10 s, then 20 s, 40 s... (up to 10 minutes), not every 5 s.
        waits = []
        for _ in range(3):
            with narrowed.db.session_scope() as s:
                job_id = get_job(s, "pre").id
                wait = repository.cooldown_left(s, job_id, pre.PRE_RUN, finished)
                assert pre.schedule_due(s, now=finished + wait - 1, every=0.0) == []
                assert pre.schedule_due(s, now=finished + wait + 0.01, every=0.0) == ["pre"]
            waits.append(round(wait))
            run_all(narrowed)
            with narrowed.db.session_scope(write=False) as s:
                last = s.scalars(select(Run).order_by(Run.id.desc()).limit(1)).one()
                assert last.state == "failed" and last.finished_at is not None
                finished = last.finished_at
        assert waits == [10, 20, 40]
        with narrowed.db.session_scope(write=False) as s:
            job_id = get_job(s, "pre").id
            assert repository.cooldown_left(s, job_id, pre.PRE_RUN, finished) == 80
    finally:
        narrowed.close()
    # The list is widened again: the next run (after the cooldown) opens the items.
    with hws.db.session_scope() as s:
        job_id = get_job(s, "pre").id
        later = time.time() + repository.cooldown_left(s, job_id, pre.PRE_RUN, time.time()) + 1
    reopened = hooks_workspace(tmp_path / "third", monkeypatch, url=hws.settings.database_url)
    try:
        with reopened.db.session_scope() as s:
            assert pre.schedule_due(s, now=later, every=0.0) == ["pre"]
        run_all(reopened)
        assert set(statuses(reopened, "pre").values()) == {"open"}
    finally:
        reopened.close()


def test_items_still_waiting_for_their_input_fail_when_the_availability_ends(
    hws: Workspace, server: HookServer
) -> None:
    from truthset.work.maintenance import sweep_job

    server.replies = [(200, {"taskInput": {"n": 1}})]
    job_over_items(hws, "pre", ITEMS, ["x", "y"], settings={"pre_annotation": {"url": server.url}})
    assert set(statuses(hws, "pre").values()) == {"pending"}
    with hws.db.session_scope() as s:
        job = get_job(s, "pre")
        result = sweep_job(s, job, now=job.created_at + job.task_availability + 1)
    assert result["closed_tasks"] == 3
    assert set(statuses(hws, "pre").values()) == {"failed"}
    with hws.db.session_scope(write=False) as s:
        assert get_job(s, "pre").state == "completed"
    # A hook answering late changes nothing: its tasks are no longer pending.
    run_all(hws)
    assert set(statuses(hws, "pre").values()) == {"failed"}
