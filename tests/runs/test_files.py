"""The server's own files in a cluster (runs/files.py, TRUTHSET_FILES_PREFIX): an export
without a destination goes to the shared S3 prefix and downloads by a presigned
redirect; a model trained on one host is served, and warm-starts a job, on another; a
prefix outside the allowed roots is refused by name. Against the real S3 server."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import require
from support import Setup, answer_tasks, bearer, wait_run
from truthset.api.deps import forget_all_tokens
from truthset.config import load_settings
from truthset.errors import BadInput
from truthset.media.storage import s3_client
from truthset.runs.files import export_location, fetch_model, files_prefix, publish_model
from truthset.server.app import create_app
from truthset.workspace import open_workspace


@pytest.fixture
def bucket() -> str:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    name = f"files-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=name)
    return name


def host(tmp_path: Path, bucket: str, name: str):
    """A workspace as one host of a cluster sees it: its own data folder, the shared
    files prefix (the database here is the host's own SQLite file: what is shared in the
    test is S3)."""
    settings = load_settings(tmp_path / name, None, allowed_roots=[f"s3://{bucket}"])
    return open_workspace(replace(settings, files_prefix=f"s3://{bucket}/truthset/"))


def test_the_prefix_must_be_an_s3_prefix_inside_the_allowed_roots(tmp_path, bucket):
    settings = load_settings(tmp_path / "d", None, allowed_roots=[f"s3://{bucket}/ok"])
    assert files_prefix(settings) is None  # one host: the data folder
    assert export_location(settings, "j-1.manifest") == str(settings.exports_dir / "j-1.manifest")
    with pytest.raises(BadInput, match=r"TRUTHSET_FILES_PREFIX '/tmp/x' must be an s3://"):
        files_prefix(replace(settings, files_prefix="/tmp/x"))
    with pytest.raises(BadInput, match=r"must be inside the server's allowed roots"):
        files_prefix(replace(settings, files_prefix=f"s3://{bucket}/elsewhere"))
    inside = replace(settings, files_prefix=f"s3://{bucket}/ok/files/")
    assert export_location(inside, "j-1.manifest") == f"s3://{bucket}/ok/files/exports/j-1.manifest"


def test_an_export_without_destination_downloads_from_the_shared_prefix(tmp_path, bucket):
    ws = host(tmp_path, bucket, "a")
    forget_all_tokens()
    try:
        setup = Setup(ws, n_items=3, n_workers=1)
        setup.job("j", workers_per_item=1)
        answer_tasks(ws, "j", "w00", lambda item: {"label": "pos"})
        with TestClient(create_app(ws), raise_server_exceptions=False) as client:
            admin = bearer(setup.admin_token)
            run = wait_run(
                client,
                client.post("/api/jobs/j/exports", headers=admin, json={}).json()["id"],
                admin,
            )
            assert run["state"] == "succeeded", run
            assert run["result"]["out"] == f"s3://{bucket}/truthset/exports/j-{run['id']}.manifest"
            got = client.get(
                f"/api/runs/{run['id']}/download", headers=admin, follow_redirects=False
            )
            assert got.status_code == 307
            body = httpx.get(got.headers["location"]).text  # the presigned URL, as a browser
            assert [json.loads(x)["j-metadata"]["class-name"] for x in body.splitlines()] == [
                "pos"
            ] * 3
    finally:
        ws.close()


def test_a_model_from_another_host_is_fetched_once(tmp_path, bucket):
    one, other = host(tmp_path, bucket, "one"), host(tmp_path, bucket, "other")
    try:
        trained = one.settings.data_dir / "autolabel" / "job-7-model.joblib"
        trained.parent.mkdir(parents=True)
        trained.write_bytes(b"model bytes")
        assert (
            publish_model(one.settings, trained)
            == f"s3://{bucket}/truthset/models/job-7-model.joblib"
        )
        here = other.settings.data_dir / "autolabel" / "job-7-model.joblib"
        assert fetch_model(other.settings, here) and here.read_bytes() == b"model bytes"
        assert [p.name for p in here.parent.iterdir()] == [here.name]  # no temporary left
        assert not fetch_model(other.settings, here.with_name("job-8-model.joblib"))
    finally:
        one.close()
        other.close()


def test_the_model_route_serves_a_model_trained_elsewhere(tmp_path, bucket):
    ws = host(tmp_path, bucket, "app")
    forget_all_tokens()
    try:
        setup = Setup(ws, n_items=2, n_workers=1)
        setup.job("j", workers_per_item=1)
        with ws.db.session_scope() as s:
            from truthset.jobs.service import get_job

            job_id = get_job(s, "j").id
        with TestClient(create_app(ws), raise_server_exceptions=False) as client:
            admin = bearer(setup.admin_token)
            assert client.get("/api/jobs/j/autolabel/model", headers=admin).status_code == 404
            # A run worker on another host trained and published it.
            worker_host = tmp_path / "worker" / f"job-{job_id}-model.joblib"
            worker_host.parent.mkdir(parents=True)
            worker_host.write_bytes(b"joblib")
            publish_model(ws.settings, worker_host)
            got = client.get("/api/jobs/j/autolabel/model", headers=admin)
            assert got.status_code == 200 and got.content == b"joblib"
    finally:
        ws.close()


def test_a_job_warm_starts_from_a_model_trained_on_another_host(tmp_path, bucket):
    """The model the first job's iteration saved went to the shared prefix; on a host
    without it (its data folder lost the file), the second job's first iteration fetches
    it and picks its first batch with it."""
    from autolabel.test_job_autolabel import (
        _easy_job,
        assert_warm_started,
        easy_items,
        iterate,
        label,
    )
    from support import job_over_items
    from truthset.learning.models import load_model

    ws = host(tmp_path, bucket, "cluster")
    try:
        truth = _easy_job(ws, 1500, 150)
        iterate(ws)
        local = ws.settings.data_dir / "autolabel" / "job-1-model.joblib"
        for _ in range(6):
            label(ws, 150, truth)
            iterate(ws)
            if local.exists():
                break
        model, _meta = load_model(local)
        key = "truthset/models/job-1-model.joblib"
        assert s3_client().head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
        local.unlink()  # this host never had it: another host's worker trained it
        more, _ = easy_items(600, seed=7)
        more = [{**x, "id": f"n{x['id']}"} for x in more]
        job_over_items(
            ws,
            "warm",
            more,
            ["sunny", "rainy"],
            dataset="more",
            settings={"auto_label": {"batch_size": 50, "warm_start": "auto"}},
        )
        assert_warm_started(ws, "warm", model.predict_proba, 50)
        assert local.exists()
    finally:
        ws.close()
