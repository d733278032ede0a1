"""Webhooks: job state changes in EventBridge's shape and labeled items as output manifest
lines, signed, delivered by a run, retried with backoff, logged, listed for staff."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.request
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from hooks.conftest import HookServer, run_all
from support import answer_tasks, bearer, job_over_items
from truthset.errors import BadInput
from truthset.hooks import webhooks
from truthset.jobs.service import get_job, stop_job
from truthset.server.app import create_app
from truthset.store.models import WebhookEvent
from truthset.workforce.service import create_user, issue_token
from truthset.workspace import Workspace

ITEMS = [{"id": "a", "source": "one"}, {"id": "b", "source": "two"}]


@pytest.fixture(autouse=True)
def settled_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Labels are read SETTLE seconds after they are made; the tests need not wait.
    monkeypatch.setattr(webhooks, "SETTLE", 0.0)


def scan(ws: Workspace) -> int:
    with ws.db.session_scope() as s:
        return webhooks.schedule_due(s, every=0.0)


def test_items_and_the_final_state_are_delivered_signed(hws: Workspace, server: HookServer) -> None:
    hooks = [
        {"url": server.url + "/events", "events": ["job_state", "item_labeled"], "secret": "z"}
    ]
    job_over_items(hws, "hooked", ITEMS, ["x", "y"], settings={"webhooks": hooks})
    answer_tasks(hws, "hooked", "w1", lambda item: {"label": "y"})
    assert scan(hws) == 3  # two items, one state change
    assert scan(hws) == 0  # the cursor moved on
    run_all(hws)
    bodies = {}
    for path, headers, body in server.requests:
        assert path == "/events"
        assert headers["X-Truthset-Signature"] == (
            "sha256=" + hmac.new(b"z", body, hashlib.sha256).hexdigest()
        )
        bodies.setdefault(headers["X-Truthset-Event"], []).append(json.loads(body))
    assert set(bodies) == {"job_state", "item_labeled"}, (bodies, len(server.requests))
    state = bodies["job_state"][0]
    assert state["detail-type"] == "SageMaker Ground Truth Labeling Job State Change"
    assert state["source"] == "aws.sagemaker"
    assert set(state) >= {"version", "id", "time", "detail", "resources", "region", "account"}
    assert state["detail"]["LabelingJobStatus"] == "Completed"
    assert state["detail"]["LabelingJobName"] == "hooked"
    assert state["detail"]["LabelCounters"]["HumanLabeled"] == 2
    lines = sorted(bodies["item_labeled"], key=lambda line: line["id"])
    assert [(line["id"], line["source"], line["hooked"]) for line in lines] == [
        ("a", "one", 1),
        ("b", "two", 1),
    ]
    meta = lines[0]["hooked-metadata"]
    assert meta["class-name"] == "y" and meta["job-name"] == "labeling-job/hooked"
    assert meta["human-annotated"] == "yes" and meta["type"] == "groundtruth/text-classification"
    with hws.db.session_scope(write=False) as s:
        assert {e.state for e in s.scalars(select(WebhookEvent))} == {"delivered"}


def test_failures_are_retried_with_backoff_then_given_up(
    hws: Workspace, server: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "BACKOFF", 0.0)
    server.replies = [(500, b"no"), (500, b"no"), (200, b"")]
    hooks = [{"url": server.url, "events": ["job_state"], "tries": 3}]
    job_over_items(hws, "hooked", ITEMS, ["x", "y"], settings={"webhooks": hooks})
    with hws.db.session_scope() as s:
        stop_job(s, get_job(s, "hooked"))
    scan(hws)
    run_all(hws)
    assert len(server.requests) == 3
    assert json.loads(server.requests[0][2])["detail"]["LabelingJobStatus"] == "Stopped"
    with hws.db.session_scope(write=False) as s:
        event = s.scalars(select(WebhookEvent)).one()
        assert (event.state, event.attempts) == ("delivered", 3)
    # A webhook that never answers well is given up after its tries.
    server.replies = [(503, b"down")]
    server.requests.clear()
    hooks = [{"url": server.url, "events": ["job_state"], "tries": 2}]
    job_over_items(
        hws, "hooked2", ITEMS, ["x", "y"], dataset="hooked-items", settings={"webhooks": hooks}
    )
    with hws.db.session_scope() as s:
        stop_job(s, get_job(s, "hooked2"))
    scan(hws)
    run_all(hws)
    with hws.db.session_scope(write=False) as s:
        job_id = get_job(s, "hooked2").id
        event = s.scalars(select(WebhookEvent).where(WebhookEvent.job_id == job_id)).one()
        assert (event.state, event.attempts) == ("failed", 2)
        assert event.last_error is not None and event.last_error.startswith("HTTP 503")


def test_the_backoff_waits_between_tries(hws: Workspace, server: HookServer) -> None:
    server.replies = [(500, b"no")]
    hooks = [{"url": server.url, "events": ["job_state"], "tries": 4}]
    job_over_items(hws, "hooked", ITEMS, ["x", "y"], settings={"webhooks": hooks})
    with hws.db.session_scope() as s:
        stop_job(s, get_job(s, "hooked"))
    scan(hws)
    started = time.time()
    run_all(hws)  # one try now; the next is due BACKOFF seconds later
    with hws.db.session_scope(write=False) as s:
        event = s.scalars(select(WebhookEvent)).one()
        assert event.attempts == 1 and event.state == "pending"
        assert event.next_attempt_at == pytest.approx(started + webhooks.BACKOFF, abs=1.0)


def test_delivery_log_for_staff_and_hosts_refused(hws: Workspace, server: HookServer) -> None:
    with pytest.raises(BadInput, match=r"settings.webhooks\[0\].url .*not one the admin allowed"):
        job_over_items(
            hws, "bad", ITEMS, ["x", "y"], settings={"webhooks": [{"url": "https://x.test"}]}
        )
    with pytest.raises(BadInput, match=r"settings.webhooks\[0\].events"):
        job_over_items(
            hws,
            "bad",
            ITEMS,
            ["x", "y"],
            settings={"webhooks": [{"url": server.url, "events": ["x"]}]},
        )
    hooks = [{"url": server.url, "events": ["job_state"]}]
    job_over_items(hws, "hooked", ITEMS, ["x", "y"], dataset="d2", settings={"webhooks": hooks})
    with hws.db.session_scope() as s:
        stop_job(s, get_job(s, "hooked"))
        admin = create_user(s, "boss", role="admin")
        admin_token = issue_token(s, admin)
        worker_token = issue_token(s, create_user(s, "w9", role="worker"))
    scan(hws)
    run_all(hws)
    with TestClient(create_app(hws, run_executor=False)) as client:
        r = client.get("/api/jobs/hooked/webhook-deliveries", headers=bearer(admin_token))
        assert r.status_code == 200, r.text
        [delivery] = r.json()
        assert delivery["event_type"] == "job_state" and delivery["status_code"] == 200
        assert delivery["event_state"] == "delivered" and delivery["attempt"] == 1
        assert delivery["body"]["detail"]["LabelingJobStatus"] == "Stopped"
        r = client.get("/api/jobs/hooked/webhook-deliveries", headers=bearer(worker_token))
        assert r.status_code == 403 and r.json()["error"]
        r = client.get("/api/jobs/nope/webhook-deliveries", headers=bearer(admin_token))
        assert r.status_code == 404


def upload_line(base_url: str, token: str, dataset: str, line: dict[str, Any]) -> int:
    """Import one manifest line into a dataset through truthset's own upload route."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="line.manifest"'
            f"\r\nContent-Type: application/json\r\n\r\n"
        ).encode()
        + json.dumps(line).encode()
        + f"\n\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{base_url}/api/datasets/{dataset}/upload?labels=false",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def test_a_streaming_job_is_fed_by_the_previous_jobs_webhook(
    served: Workspace, server: HookServer
) -> None:
    # Job A's labeled items go out as output manifest lines; a small receiver puts each
    # into job B's dataset through the API, and B (streaming) hands it out as a task.
    base_url = os.environ["TRUTHSET_PUBLIC_URL"]
    with served.db.session_scope() as s:
        token = issue_token(s, create_user(s, "pipeline", role="admin"))
    imported: list[int] = []

    def receive(line: dict[str, Any]) -> tuple[int, Any]:
        imported.append(upload_line(base_url, token, "b-items", line))
        return 200, {}

    server.respond = receive
    hooks = [{"url": server.url + "/labeled", "events": ["item_labeled"]}]
    job_over_items(served, "a", ITEMS, ["x", "y"], settings={"webhooks": hooks})
    job_over_items(
        served,
        "b",
        [{"id": "seed", "source": "already here"}],
        ["good", "bad"],
        dataset="b-items",
        settings={"streaming": True},
    )
    assert answer_tasks(served, "b", "w2", lambda item: {"label": "good"}) == ["seed"]
    answer_tasks(served, "a", "w1", lambda item: {"label": "y" if item == "b" else "x"})
    assert scan(served) == 2
    run_all(served)
    assert imported == [201, 201]
    with served.db.session_scope(write=False) as s:
        assert {e.state for e in s.scalars(select(WebhookEvent))} == {"delivered"}
    lines: dict[str, Any] = {}

    def label_b(item: str) -> dict[str, str]:
        return {"label": "good"}

    assert sorted(answer_tasks(served, "b", "w2", label_b)) == ["a", "b"]
    with served.db.session_scope(write=False) as s:
        job = get_job(s, "b")
        assert job.state == "in_progress"  # streaming: it waits for more
        for external_id, data in s.execute(
            text(
                "SELECT i.external_id, i.data FROM tasks t JOIN items i ON i.id = t.item_id "
                "WHERE t.job_id = :j"
            ),
            {"j": job.id},
        ):
            lines[external_id] = json.loads(data)
    # B's items are A's output lines: the source and A's label with its metadata.
    assert lines["a"]["source"] == "one" and lines["a"]["a"] == 0
    assert lines["b"]["a"] == 1 and lines["b"]["a-metadata"]["class-name"] == "y"
