"""The pre-annotation hook: tasks wait until their task input exists, the hook's answer
opens, finishes or fails each item, and `next` never waits on it."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from hooks.conftest import HookServer, run_all, write_handler
from support import job_over_items
from truthset.errors import BadInput
from truthset.hooks import pre
from truthset.jobs.service import counters, get_job
from truthset.store.models import Label, TaskInput, User
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
