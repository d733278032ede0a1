"""The post-annotation hook: the payload file over a signed URL of truthset's own (a real
server) and over the real S3 server, the request's shape, the response as the label, and
the failures it can end in."""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from conftest import require
from hooks.conftest import HookServer, add_workers, hooks_workspace, run_all
from support import answer_tasks, job_over_items
from truthset.hooks import post
from truthset.jobs.service import counters, get_job
from truthset.media.storage import parse_s3_uri, s3_client
from truthset.store.models import Label
from truthset.work.maintenance import sweep_job
from truthset.workspace import Workspace

ITEMS = [
    {"id": "a", "source": "first"},
    {"id": "b", "source": "second"},
    {"id": "c", "source": "left out"},
]
PAYLOAD_KEYS = {"datasetObjectId", "dataObject", "annotations"}


def consolidating(seen: list[Any], read: Any) -> Any:
    """A hook that reads its payload, keeps what it saw, and labels every item but the one
    whose text is 'left out' with the answers' labels."""

    def respond(event: dict[str, Any]) -> tuple[int, Any]:
        payload = read(event["payload"]["s3Uri"])
        seen.append((event, payload))
        out = []
        for entry in payload:
            if entry["dataObject"].get("content") == "left out":
                continue
            labels = sorted(
                json.loads(a["annotationData"]["content"])["label"] for a in entry["annotations"]
            )
            out.append(
                {
                    "datasetObjectId": entry["datasetObjectId"],
                    "consolidatedAnnotation": {
                        "content": {
                            "sent": {"labels": labels},
                            "sent-metadata": {"confidence": 0.75, "by": "hook"},
                        }
                    },
                }
            )
        return 200, out

    return respond


def check_request(event: dict[str, Any], payload: list[Any]) -> None:
    assert set(event) == {
        "version",
        "labelingJobArn",
        "labelCategories",
        "labelAttributeName",
        "roleArn",
        "payload",
    }
    assert event["version"] == "2018-10-16"
    assert event["labelingJobArn"].endswith(":000000000000:labeling-job/sent")
    assert event["labelCategories"] == ["x", "y"]
    assert event["labelAttributeName"] == "sent"
    assert event["roleArn"] == ""
    assert sorted(e["datasetObjectId"] for e in payload) == ["0", "1", "2"]
    for entry in payload:
        assert set(entry) == PAYLOAD_KEYS
        assert set(entry["dataObject"]) == {"content"}
        assert len(entry["annotations"]) == 2
        for annotation in entry["annotations"]:
            assert annotation["workerId"].startswith("private.truthset.")
            assert json.loads(annotation["annotationData"]["content"]) in (
                {"label": "x"},
                {"label": "y"},
            )


def work_the_job(ws: Workspace) -> None:
    answer_tasks(ws, "sent", "w1", lambda item: {"label": "x"})
    answer_tasks(ws, "sent", "w2", lambda item: {"label": "y"})


def check_labels(ws: Workspace) -> None:
    with ws.db.session_scope(write=False) as s:
        job = get_job(s, "sent")
        labels = list(s.scalars(select(Label).where(Label.job_id == job.id)))
        assert [(lab.value, lab.meta, lab.confidence, lab.method) for lab in labels] == [
            ({"labels": ["x", "y"]}, {"confidence": 0.75, "by": "hook"}, 0.75, "post_annotation")
        ] * 2
        rows = s.execute(
            text(
                "SELECT i.external_id, t.status, f.reason FROM tasks t "
                "JOIN items i ON i.id = t.item_id LEFT JOIN task_failures f ON f.task_id = t.id "
                "WHERE t.job_id = :j ORDER BY t.position"
            ),
            {"j": job.id},
        ).all()
        assert [tuple(r) for r in rows] == [
            ("a", "complete", None),
            ("b", "complete", None),
            ("c", "failed", "the post-annotation hook's answer has no datasetObjectId 2"),
        ]
        assert job.state == "completed"


def fetch(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_payload_over_a_signed_url_of_truthset(served: Workspace, server: HookServer) -> None:
    seen: list[Any] = []
    server.respond = consolidating(seen, fetch)
    settings = {"post_annotation": {"url": server.url + "/consolidate", "secret": "k"}}
    job_over_items(served, "sent", ITEMS, ["x", "y"], workers_per_item=2, settings=settings)
    work_the_job(served)
    with served.db.session_scope(write=False) as s:
        job = get_job(s, "sent")
        assert job.state == "in_progress"  # the answers are in, the labels are not
        assert s.execute(text("SELECT count(*) FROM labels")).scalar_one() == 0
        assert job.in_flight == 0  # waiting for the hook holds no slot
    with served.db.session_scope() as s:
        assert post.schedule_due(s, every=0.0) == ["sent"]
    run_all(served)
    assert len(seen) == 1
    event, payload = seen[0]
    check_request(event, payload)
    url = event["payload"]["s3Uri"]
    assert url.startswith(os.environ["TRUTHSET_PUBLIC_URL"] + "/api/hooks/payloads/")
    check_labels(served)
    # The payload was deleted once the hook answered; a forged signature is refused.
    with pytest.raises(urllib.error.HTTPError) as gone:
        fetch(url)
    assert gone.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as forged:
        fetch(url.replace("signature=", "signature=0"))
    assert forged.value.code == 403
    assert json.loads(forged.value.read())["error"]


def test_payload_on_s3_read_by_a_handler_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handler_dir: Path
) -> None:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    bucket = f"hooks-{uuid.uuid4().hex[:10]}"
    client = s3_client()
    client.create_bucket(Bucket=bucket)
    ws = hooks_workspace(tmp_path, monkeypatch, handler_dir=handler_dir, roots=f"s3://{bucket}")
    try:
        add_workers(ws, "w1", "w2")
        seen_file = tmp_path / "seen.json"
        handler = handler_dir / "consolidate.py"
        handler.write_text(
            "import json, os, boto3\n"
            "def lambda_handler(event, context):\n"
            "    bucket, key = event['payload']['s3Uri'][5:].split('/', 1)\n"
            "    s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT_URL'])\n"
            "    payload = json.loads(s3.get_object(Bucket=bucket, Key=key)['Body'].read())\n"
            f"    open({str(seen_file)!r}, 'w').write(json.dumps([event, payload]))\n"
            "    out = []\n"
            "    for entry in payload:\n"
            "        if entry['dataObject']['content'] == 'left out':\n"
            "            continue\n"
            "        labels = sorted(json.loads(a['annotationData']['content'])['label']\n"
            "                        for a in entry['annotations'])\n"
            "        out.append({'datasetObjectId': entry['datasetObjectId'],\n"
            "                    'consolidatedAnnotation': {'content': {\n"
            "                        'sent': {'labels': labels},\n"
            "                        'sent-metadata': {'confidence': 0.75, 'by': 'hook'}}}})\n"
            "    return out\n"
        )
        settings = {
            "post_annotation": {"handler": str(handler), "timeout": 30},
            "output": {"path": f"s3://{bucket}/out/"},
        }
        job_over_items(ws, "sent", ITEMS, ["x", "y"], workers_per_item=2, settings=settings)
        work_the_job(ws)
        with ws.db.session_scope() as s:
            post.schedule_due(s, every=0.0)
        run_all(ws)
        event, payload = json.loads(seen_file.read_text())
        check_request(event, payload)
        loc = parse_s3_uri(event["payload"]["s3Uri"])
        assert loc.bucket == bucket
        assert loc.key.startswith(
            "out/sent/annotations/consolidated-annotation/consolidation-request/iteration-1/"
        )
        stored = json.loads(client.get_object(Bucket=bucket, Key=loc.key)["Body"].read())
        assert stored == payload
        check_labels(ws)
    finally:
        ws.close()
        for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
            client.delete_object(Bucket=bucket, Key=obj["Key"])
        client.delete_bucket(Bucket=bucket)


def test_responses_of_another_shape_fail_the_items(hws: Workspace, server: HookServer) -> None:
    server.replies = [
        (200, {"not": "a list"}),
        (200, [{"datasetObjectId": "0", "consolidatedAnnotation": {"content": {"other": 1}}}]),
    ]
    settings = {"post_annotation": {"url": server.url}}
    job_over_items(hws, "sent", ITEMS[:1], ["x", "y"], settings=settings)
    answer_tasks(hws, "sent", "w1", lambda item: {"label": "x"})
    with hws.db.session_scope() as s:
        post.schedule_due(s, every=0.0)
    run_all(hws)
    with hws.db.session_scope(write=False) as s:
        status, reason = s.execute(
            text("SELECT t.status, f.reason FROM tasks t JOIN task_failures f ON f.task_id = t.id")
        ).one()
    assert status == "failed"
    assert reason.startswith('the post-annotation hook must answer [{"datasetObjectId"')
    assert reason.endswith('not {"not":"a list"}')
    job = get_job_for(hws)
    labels, reasons = post.labels_of_response(job, server.replies[1][1], {"0"})
    assert labels == {}
    assert reasons == {
        "0": "entry 0 of the post-annotation hook's answer has no"
        " consolidatedAnnotation.content.sent"
    }


def get_job_for(ws: Workspace) -> Any:
    with ws.db.session_scope(write=False) as s:
        job = get_job(s, "sent")
        s.expunge(job)
        return job


def test_a_hook_that_keeps_failing_fails_the_batch_not_the_job(
    hws: Workspace, server: HookServer
) -> None:
    server.replies = [(502, b"bad gateway")]
    job_over_items(
        hws, "sent", ITEMS, ["x", "y"], settings={"post_annotation": {"url": server.url}}
    )
    answer_tasks(hws, "sent", "w1", lambda item: {"label": "x"})
    with hws.db.session_scope() as s:
        post.schedule_due(s, every=0.0)
    run_all(hws)
    assert len(server.requests) == 3  # one batch, tried three times
    with hws.db.session_scope(write=False) as s:
        reasons = s.execute(text("SELECT reason FROM task_failures")).scalars().all()
        assert len(reasons) == 3
        assert all(r.startswith("post-annotation hook failed: HTTP 502") for r in reasons)
        assert get_job(s, "sent").state == "completed"  # every item is done, 3 failed


def test_tasks_closed_at_their_availability_go_to_the_hook_with_their_answers(
    served: Workspace, server: HookServer
) -> None:
    # As Ground Truth: an item whose availability ends with fewer answers than it asked
    # for is consolidated with what it has, here by the job's hook.
    seen: list[Any] = []
    server.respond = consolidating(seen, fetch)
    settings = {"post_annotation": {"url": server.url}}
    job_over_items(served, "sent", ITEMS, ["x", "y"], workers_per_item=2, settings=settings)
    answer_tasks(served, "sent", "w1", lambda item: {"label": "x"})  # one answer of two each
    with served.db.session_scope() as s:
        job = get_job(s, "sent")
        assert post.schedule_due(s, every=0.0) == []  # nothing is done with people yet
        past = job.created_at + job.task_availability + 1
        assert sweep_job(s, job, now=past)["closed_tasks"] == 3
        assert job.in_flight == 0
    with served.db.session_scope() as s:
        # The next sweep leaves them waiting: the window is not given back twice.
        assert sweep_job(s, get_job(s, "sent"), now=past + 60)["closed_tasks"] == 0
        assert get_job(s, "sent").in_flight == 0
        assert post.schedule_due(s, every=0.0) == ["sent"]
    run_all(served)
    [(_event, payload)] = seen
    assert sorted(e["datasetObjectId"] for e in payload) == ["0", "1", "2"]
    assert [len(e["annotations"]) for e in payload] == [1, 1, 1]
    with served.db.session_scope(write=False) as s:
        job = get_job(s, "sent")
        labels = list(s.scalars(select(Label).where(Label.job_id == job.id)))
        assert [lab.value for lab in labels] == [{"labels": ["x"]}] * 2
        assert counters(s, job.id)["failed"] == 1  # the item the hook left out
        assert job.state == "completed"


def test_two_runs_at_once_send_each_item_to_the_hook_once(
    hws: Workspace, server: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from truthset.runs.executor import RunContext
    from truthset.runs.service import enqueue

    # Two executors (two processes) running the job's run at once: each claims the items
    # the other has not, so every batch goes to the hook once.
    monkeypatch.setattr(post, "BATCH", 3)
    # Each batch takes the hook long enough that the other run, started at the same
    # moment, claims some before the first has sent them all (0.05 s was not, once, on a
    # loaded machine).
    server.delay = 0.3
    server.replies = [(200, [])]  # no labels: every item sent fails, once
    items = [{"id": f"i{n:02d}", "source": f"text {n}"} for n in range(12)]
    job_over_items(
        hws, "sent", items, ["x", "y"], settings={"post_annotation": {"url": server.url}}
    )
    answer_tasks(hws, "sent", "w1", lambda item: {"label": "x"})
    with hws.db.session_scope() as s:
        job_id = get_job(s, "sent").id
        run_ids = [enqueue(s, post.POST_RUN, {"job": "sent"}, job_id=job_id).id for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[dict[str, Any]] = []

    def run(run_id: int) -> None:
        ctx = RunContext(hws.db, hws.settings, run_id)
        barrier.wait()
        results.append(post.post_annotation_run(ctx, job="sent"))

    threads = [threading.Thread(target=run, args=(r,)) for r in run_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(server.requests) == 4  # 12 items in batches of 3, none sent twice
    assert sorted(r["failed"] for r in results) != [0, 12], results  # both runs worked
    assert sum(r["failed"] for r in results) == 12
    with hws.db.session_scope(write=False) as s:
        assert s.execute(text("SELECT count(*) FROM hook_claims")).scalar_one() == 0
        assert s.execute(text("SELECT count(*) FROM task_failures")).scalar_one() == 12
