"""When the output folder is written: the run kind and its periodic hook, the retry after a
failed write, and the wait for a job's final labels."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from exports.conftest import (
    add_workers,
    answer,
    export_bytes,
    output_runs_of,
    schedule,
    sentiment_job,
    workspace_with_roots,
)
from support import answer_tasks, job_over_items
from truthset.exports import output_runs
from truthset.jobs.service import get_job
from truthset.media.storage import s3_client
from truthset.runs.executor import run_pending
from truthset.runs.periodic import PERIODIC_RUNS
from truthset.runs.registry import get_run_kind
from truthset.store.models import Run
from truthset.workspace import Workspace


def test_the_run_kind_and_the_hook_are_registered():
    assert get_run_kind("groundtruth_output").fn is output_runs.groundtruth_output_run
    assert get_run_kind("groundtruth_output").resumable
    assert PERIODIC_RUNS.get("groundtruth_output") is output_runs.schedule_due


def test_a_missing_bucket_fails_the_run_with_its_name_and_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bucket: str
):
    missing = f"gt-missing-{uuid.uuid4().hex[:8]}"
    ws = workspace_with_roots(tmp_path, monkeypatch, [f"s3://{missing}"])
    try:
        job = sentiment_job(ws, "lost-output", f"s3://{missing}/out")
        answer_tasks(ws, job, "w1", answer)
        answer_tasks(ws, job, "w2", answer)
        assert schedule(ws) == [job]
        run_pending(ws.db, ws.settings)
        [failed] = output_runs_of(ws, job)
        assert failed.state == "failed"
        assert (
            failed.error
            == f"cannot write s3://{missing}/out/: the bucket {missing!r} does not exist"
        )
        # Not again at once; after RETRY_AFTER, and then it succeeds.
        assert schedule(ws) == []
        s3_client().create_bucket(Bucket=missing)
        assert schedule(ws, now=time.time() + output_runs.RETRY_AFTER + 1) == [job]
        run_pending(ws.db, ws.settings)
        assert [r.state for r in output_runs_of(ws, job)] == ["failed", "succeeded"]
        body = s3_client().get_object(
            Bucket=missing, Key=f"out/{job}/manifests/output/output.manifest"
        )
        assert body["Body"].read() == export_bytes(ws, job)
    finally:
        ws.close()


def test_the_final_manifest_waits_for_the_jobs_consolidation(ws_out: Workspace, out_dir: Path):
    """With a job-level method, completion queues a `consolidate` run that rewrites the
    labels; the final manifest is written after it, with its labels."""
    ws = ws_out
    add_workers(ws, "w1", "w2")
    job = job_over_items(
        ws,
        "voted",
        [{"source": t} for t in ("a", "b")],
        ["negative", "positive"],
        workers_per_item=2,
        settings={"output": {"path": str(out_dir)}, "quality": {"method": "ds"}},
    )
    answer_tasks(ws, job, "w1", answer)
    answer_tasks(ws, job, "w2", answer)
    with ws.db.session_scope(write=False) as s:
        pending = s.scalars(select(Run.kind).where(Run.state == "queued")).all()
    assert pending == ["consolidate"]
    assert schedule(ws) == []  # the final labels are still being made
    assert run_pending(ws.db, ws.settings, max_runs=1) == 1
    assert schedule(ws) == [job]
    run_pending(ws.db, ws.settings)
    manifest = (out_dir / job / "manifests/output/output.manifest").read_bytes()
    assert manifest == export_bytes(ws, job)
    # A later consolidation rewrites the labels: the final manifest is written again.
    from truthset.runs.service import enqueue

    with ws.db.session_scope() as s:
        enqueue(s, "consolidate", {"job": job, "method": "mv"}, job_id=get_job(s, job).id)
    run_pending(ws.db, ws.settings)
    assert schedule(ws, now=time.time() + output_runs.RECHECK_AFTER + 1) == [job]
    run_pending(ws.db, ws.settings)
    assert [r.state for r in output_runs_of(ws, job)] == ["succeeded", "succeeded"]


def test_a_second_run_for_the_same_job_stands_aside(ws_out: Workspace, out_dir: Path):
    """Two executors may enqueue one job at once: the later run sees the earlier one
    running and leaves the folder to it."""
    from truthset.runs.service import claim_next, enqueue

    ws = ws_out
    job = sentiment_job(ws, "twice", str(out_dir))
    answer_tasks(ws, job, "w1", answer)
    answer_tasks(ws, job, "w2", answer)
    with ws.db.session_scope() as s:
        job_id = get_job(s, job).id
        enqueue(s, "groundtruth_output", {"job": job}, job_id=job_id)
        enqueue(s, "groundtruth_output", {"job": job}, job_id=job_id)
    with ws.db.session_scope() as s:
        first = claim_next(s, "another-executor")  # claimed elsewhere, still running
    assert run_pending(ws.db, ws.settings) == 1
    runs = output_runs_of(ws, job)
    assert [r.id for r in runs][0] == first
    assert runs[1].state == "succeeded"
    assert runs[1].result["skipped"] == f"run {first} is writing it"
    assert not (out_dir / job).exists()
