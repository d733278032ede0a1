"""The SageMaker API of a real server (uvicorn on a socket), driven by real boto3: jobs
created from a manifest and label file on the real S3 server, described, listed with
filters and pages, stopped; work teams; signatures that are wrong, of unknown keys or
too old refused with the codes AWS uses; a worker's key refused for changes."""

from __future__ import annotations

import datetime
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.auth
import httpx
import pytest
import uvicorn
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import make_workspace, require
from sagemaker.gt_requests import TEAM, label_file, request
from truthset.config import load_settings
from truthset.media.storage import s3_client
from truthset.sagemaker.keys import issue_access_key, master_key
from truthset.server.app import create_app
from truthset.workforce.service import create_team, create_user, get_user
from truthset.workspace import open_workspace


class Server:
    def __init__(self, url: str, bucket: str, keys: dict[str, tuple[str, str]]):
        self.url, self.bucket, self.keys = url, bucket, keys

    def client(self, who: str = "ada", *, secret: str | None = None, key: str | None = None) -> Any:
        key_id, real_secret = self.keys[who]
        return boto3.client(
            "sagemaker",
            endpoint_url=self.url,
            region_name="eu-west-1",
            aws_access_key_id=key or key_id,
            aws_secret_access_key=secret or real_secret,
            config=Config(retries={"max_attempts": 1}),
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    bucket = f"sm-{uuid.uuid4().hex[:10]}"
    s3 = s3_client()
    s3.create_bucket(Bucket=bucket)
    lines = [{"source": f"review number {i}"} for i in range(4)]
    s3.put_object(
        Bucket=bucket, Key="in/input.manifest", Body="\n".join(map(json.dumps, lines)).encode()
    )
    s3.put_object(
        Bucket=bucket, Key="in/labels.json", Body=json.dumps(label_file("good", "bad")).encode()
    )
    root = tmp_path_factory.mktemp("sm")
    make_workspace(root).close()
    ws = open_workspace(load_settings(root / "data", None, [f"s3://{bucket}"]))
    keys = {}
    with ws.db.session_scope() as s:
        create_team(s, "crew")
        create_team(s, "night-shift")
        create_user(s, "ada", role="requester")
        create_user(s, "wes", role="worker", teams=["crew"])
        for name in ("ada", "wes"):
            issued = issue_access_key(s, get_user(s, name), master_key(ws.settings.data_dir))
            keys[name] = (issued.key_id, issued.secret)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(ws, run_executor=False), log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not uv.started:
        assert time.time() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", bucket, keys)
    uv.should_exit = True
    thread.join(timeout=10)
    ws.close()


def job_request(server: Server, name: str, **human: Any) -> dict[str, Any]:
    return request(
        name,
        "TextMultiClass",
        manifest=f"s3://{server.bucket}/in/input.manifest",
        labels=f"s3://{server.bucket}/in/labels.json",
        output=f"s3://{server.bucket}/out/",
        **human,
    )


def code_of(call: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


def test_create_describe_and_stop_a_labeling_job(server):
    sm = server.client()
    body = job_request(server, "sentiment-a")
    arn = sm.create_labeling_job(**body)["LabelingJobArn"]
    assert arn == "arn:aws:sagemaker:eu-west-1:123456789012:labeling-job/sentiment-a"
    job = sm.describe_labeling_job(LabelingJobName="sentiment-a")
    assert job["LabelingJobStatus"] == "InProgress" and job["LabelingJobArn"] == arn
    assert job["LabelCounters"] == {
        "TotalLabeled": 0,
        "HumanLabeled": 0,
        "MachineLabeled": 0,
        "FailedNonRetryableError": 0,
        "Unlabeled": 4,
    }
    assert job["LabelingJobOutput"]["OutputDatasetS3Uri"] == (
        f"s3://{server.bucket}/out/sentiment-a/manifests/output/output.manifest"
    )
    assert isinstance(job["CreationTime"], datetime.datetime)
    assert job["LastModifiedTime"] >= job["CreationTime"]
    assert job["JobReferenceCode"].startswith("123456789012")
    # The request's own fields, echoed back.
    assert job["HumanTaskConfig"]["TaskTitle"] == body["HumanTaskConfig"]["TaskTitle"]
    assert job["HumanTaskConfig"]["WorkteamArn"] == TEAM.format("crew")
    assert job["InputConfig"] == body["InputConfig"] and job["RoleArn"] == body["RoleArn"]
    assert job["LabelAttributeName"] == "sentiment-a"
    assert job["LabelCategoryConfigS3Uri"] == body["LabelCategoryConfigS3Uri"]

    assert code_of(sm.create_labeling_job, **body)[0] == "ResourceInUse"
    sm.stop_labeling_job(LabelingJobName="sentiment-a")
    assert sm.describe_labeling_job(LabelingJobName="sentiment-a")["LabelingJobStatus"] in (
        "Stopping",
        "Stopped",
    )
    assert code_of(sm.describe_labeling_job, LabelingJobName="nope")[0] == "ResourceNotFound"
    assert code_of(sm.stop_labeling_job, LabelingJobName="nope")[0] == "ResourceNotFound"


def test_bad_requests_are_validation_errors_naming_the_field(server):
    sm = server.client()
    code, message = code_of(
        sm.create_labeling_job,
        **job_request(server, "sentiment-bad", NumberOfHumanWorkersPerDataObject=10),
    )
    assert code == "ValidationException"
    assert "HumanTaskConfig.NumberOfHumanWorkersPerDataObject must be 1-9" in message
    code, message = code_of(
        sm.create_labeling_job, **job_request(server, "sentiment-bad", team="nobody")
    )
    assert (code, "no team named 'nobody'" in message) == ("ValidationException", True)
    missing = job_request(server, "sentiment-bad")
    missing["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"] = (
        f"s3://{server.bucket}/in/missing.manifest"
    )
    assert code_of(sm.create_labeling_job, **missing)[0] == "ValidationException"
    # Nothing of the refused requests stayed.
    assert code_of(sm.describe_labeling_job, LabelingJobName="sentiment-bad")[0] == (
        "ResourceNotFound"
    )


def test_list_labeling_jobs_filters_sorts_and_pages(server):
    sm = server.client()
    before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    for name in ("list-c", "list-a", "list-b"):
        sm.create_labeling_job(**job_request(server, name))
    sm.stop_labeling_job(LabelingJobName="list-b")
    names = [
        j["LabelingJobName"]
        for j in sm.list_labeling_jobs(NameContains="LIST-", SortBy="Name")[
            "LabelingJobSummaryList"
        ]
    ]
    assert names == ["list-a", "list-b", "list-c"]
    newest_first = sm.list_labeling_jobs(
        NameContains="list-", SortBy="CreationTime", SortOrder="Descending"
    )["LabelingJobSummaryList"]
    assert [j["LabelingJobName"] for j in newest_first] == ["list-b", "list-a", "list-c"]
    summary = newest_first[0]
    assert summary["LabelCounters"]["Unlabeled"] == 4
    assert summary["WorkteamArn"] == TEAM.format("crew")
    assert summary["PreHumanTaskLambdaArn"].endswith("PRE-TextMultiClass")
    in_progress = sm.list_labeling_jobs(NameContains="list-", StatusEquals="InProgress")
    assert {j["LabelingJobName"] for j in in_progress["LabelingJobSummaryList"]} == {
        "list-a",
        "list-c",
    }
    recent = sm.list_labeling_jobs(CreationTimeAfter=before, NameContains="list")
    assert len(recent["LabelingJobSummaryList"]) == 3
    assert sm.list_labeling_jobs(CreationTimeBefore=before)["LabelingJobSummaryList"] == []
    modified = sm.list_labeling_jobs(LastModifiedTimeAfter=before, NameContains="list")
    assert len(modified["LabelingJobSummaryList"]) == 3
    assert (
        sm.list_labeling_jobs(LastModifiedTimeBefore=before, NameContains="list")[
            "LabelingJobSummaryList"
        ]
        == []
    )

    page = sm.list_labeling_jobs(NameContains="list-", SortBy="Name", MaxResults=2)
    assert [j["LabelingJobName"] for j in page["LabelingJobSummaryList"]] == ["list-a", "list-b"]
    rest = sm.list_labeling_jobs(
        NameContains="list-", SortBy="Name", MaxResults=2, NextToken=page["NextToken"]
    )
    assert [j["LabelingJobName"] for j in rest["LabelingJobSummaryList"]] == ["list-c"]
    assert "NextToken" not in rest
    code, _ = code_of(
        sm.list_labeling_jobs, NameContains="other", MaxResults=2, NextToken=page["NextToken"]
    )
    assert code == "ValidationException"
    pages = sm.get_paginator("list_labeling_jobs").paginate(
        NameContains="list-", SortBy="Name", PaginationConfig={"PageSize": 1}
    )
    assert [j["LabelingJobName"] for p in pages for j in p["LabelingJobSummaryList"]] == [
        "list-a",
        "list-b",
        "list-c",
    ]


def test_work_teams(server):
    sm = server.client()
    teams = sm.list_workteams(SortBy="Name")["Workteams"]
    assert [t["WorkteamName"] for t in teams] == ["crew", "night-shift"]
    crew = sm.describe_workteam(WorkteamName="crew")["Workteam"]
    assert (
        crew["WorkteamArn"]
        == "arn:aws:sagemaker:eu-west-1:000000000000:workteam/private-crowd/crew"
    )
    assert "1 member" in crew["Description"] and isinstance(crew["CreateDate"], datetime.datetime)
    assert [t["WorkteamName"] for t in sm.list_workteams(NameContains="night")["Workteams"]] == [
        "night-shift"
    ]
    page = sm.list_workteams(MaxResults=1, SortBy="Name", SortOrder="Descending")
    assert [t["WorkteamName"] for t in page["Workteams"]] == ["night-shift"]
    assert code_of(sm.describe_workteam, WorkteamName="nobody")[0] == "ResourceNotFound"


def test_signatures_and_keys_that_are_refused(server, monkeypatch):
    wrong = server.client(secret="x" * 40)
    assert code_of(wrong.list_labeling_jobs)[0] == "InvalidSignatureException"
    unknown = server.client(key="AKIA" + "Z" * 16)
    code, message = code_of(unknown.list_labeling_jobs)
    assert code == "UnrecognizedClientException" and "invalid" in message
    sm = server.client()
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda: real() - datetime.timedelta(minutes=20)
    )
    code, message = code_of(sm.list_labeling_jobs)
    assert code == "InvalidSignatureException" and message.startswith("Signature expired")
    monkeypatch.undo()
    assert "LabelingJobSummaryList" in sm.list_labeling_jobs()

    unsigned = httpx.post(
        server.url + "/",
        headers={
            "X-Amz-Target": "SageMaker.ListLabelingJobs",
            "Content-Type": "application/x-amz-json-1.1",
        },
        content=b"{}",
    )
    assert unsigned.status_code == 400
    assert unsigned.json()["__type"] == "MissingAuthenticationTokenException"
    odd = httpx.post(
        server.url + "/",
        headers={"X-Amz-Target": "SageMaker.ListLabelingJobs", "Authorization": "Basic eA=="},
        content=b"{}",
    )
    assert odd.json()["__type"] == "IncompleteSignatureException"


def test_a_worker_key_acts_as_its_worker(server):
    ada, wes = server.client("ada"), server.client("wes")
    ada.create_labeling_job(**job_request(server, "crew-job"))
    ada.create_labeling_job(**job_request(server, "other-job", team="night-shift"))
    code, _ = code_of(wes.create_labeling_job, **job_request(server, "by-worker"))
    assert code == "AccessDeniedException"
    assert code_of(wes.stop_labeling_job, LabelingJobName="crew-job")[0] == (
        "AccessDeniedException"
    )
    assert code_of(wes.list_workteams)[0] == "AccessDeniedException"
    # A worker sees the jobs of their teams only.
    seen = {j["LabelingJobName"] for j in wes.list_labeling_jobs()["LabelingJobSummaryList"]}
    assert "crew-job" in seen and "other-job" not in seen
    assert wes.describe_labeling_job(LabelingJobName="crew-job")["LabelingJobStatus"]
    assert code_of(wes.describe_labeling_job, LabelingJobName="other-job")[0] == (
        "ResourceNotFound"
    )


def test_list_labeling_jobs_for_workteam(server):
    sm = server.client()
    for name in ("team-a", "team-b"):
        sm.create_labeling_job(**job_request(server, name))
    found = sm.list_labeling_jobs_for_workteam(
        WorkteamArn=TEAM.format("crew"), SortOrder="Ascending"
    )["LabelingJobSummaryList"]
    mine = [j for j in found if j["LabelingJobName"] in ("team-a", "team-b")]
    assert [j["LabelingJobName"] for j in mine] == ["team-a", "team-b"]
    first = mine[0]
    assert first["LabelCounters"] == {"HumanLabeled": 0, "PendingHuman": 4, "Total": 4}
    assert first["NumberOfHumanWorkersPerDataObject"] >= 1
    assert isinstance(first["CreationTime"], datetime.datetime)
    by_code = sm.list_labeling_jobs_for_workteam(
        WorkteamArn=TEAM.format("crew"), JobReferenceCodeContains=first["JobReferenceCode"]
    )["LabelingJobSummaryList"]
    assert [j["LabelingJobName"] for j in by_code] == ["team-a"]
    page = sm.list_labeling_jobs_for_workteam(WorkteamArn=TEAM.format("crew"), MaxResults=1)
    assert len(page["LabelingJobSummaryList"]) == 1 and page["NextToken"]
    night = sm.list_labeling_jobs_for_workteam(WorkteamArn=TEAM.format("night-shift"))
    assert all(
        j["LabelingJobName"] not in ("team-a", "team-b") for j in night["LabelingJobSummaryList"]
    )
    code, _ = code_of(sm.list_labeling_jobs_for_workteam, WorkteamArn=TEAM.format("nobody"))
    assert code == "ResourceNotFound"


def test_other_operations_and_routes(server):
    sm = server.client()
    code, message = code_of(sm.list_training_jobs)
    assert code == "UnknownOperationException" and "CreateLabelingJob" in message
    # The rest of the app is untouched: the API and a POST / without the header.
    assert httpx.get(server.url + "/api/health").status_code == 200
    plain = httpx.post(server.url + "/", content=b"{}")
    assert plain.status_code != 200 and "__type" not in plain.text
