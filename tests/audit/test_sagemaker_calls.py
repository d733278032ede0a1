"""The SageMaker API's calls are in the audit log: a change in its own transaction, a
refused call once answered, reads not at all (real boto3 against a real server)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import uvicorn
from botocore.config import Config
from botocore.exceptions import ClientError

from support import job_over_items
from truthset.audit import service
from truthset.sagemaker.keys import issue_access_key, master_key
from truthset.server.app import create_app
from truthset.workforce.service import create_team, create_user


@pytest.fixture
def sagemaker(ws) -> Iterator[Any]:
    with ws.db.session_scope() as s:
        create_team(s, "t")
    job_over_items(ws, "reviews", [{"id": "r1", "source": "fine"}], ["good", "bad"])
    with ws.db.session_scope() as s:
        key = issue_access_key(
            s, create_user(s, "ada", role="requester"), master_key(ws.settings.data_dir)
        )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(create_app(ws, run_executor=False), log_level="warning"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not uv.started:
        assert time.time() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield boto3.client(
        "sagemaker",
        endpoint_url=f"http://127.0.0.1:{sock.getsockname()[1]}",
        region_name="eu-west-1",
        aws_access_key_id=key.key_id,
        aws_secret_access_key=key.secret,
        config=Config(retries={"max_attempts": 1}),
    )
    uv.should_exit = True
    thread.join(10)


def test_sagemaker_calls_are_audited(ws, sagemaker):
    sagemaker.describe_labeling_job(LabelingJobName="reviews")
    sagemaker.list_labeling_jobs()
    sagemaker.stop_labeling_job(LabelingJobName="reviews")
    with pytest.raises(ClientError):
        sagemaker.stop_labeling_job(LabelingJobName="nope")
    # A refused call is recorded once it has been answered: the client may read first.
    deadline = time.time() + 10
    while True:
        with ws.db.session_scope(write=False) as s:
            events = [service.describe(e) for e in service.list_events(s)]
        if len(events) >= 2 or time.time() > deadline:
            break
        time.sleep(0.05)
    assert [(e["actor"], e["action"], e["target"], e["outcome"], e["status"]) for e in events] == [
        ("ada", "SageMaker.StopLabelingJob", "nope", "refused", 400),
        ("ada", "SageMaker.StopLabelingJob", "reviews", "ok", None),
    ]
    assert {e["address"] for e in events} == {"127.0.0.1"}
