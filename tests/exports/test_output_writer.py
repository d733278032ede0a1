"""Ground Truth's output folder, written by the `groundtruth_output` runs for a job with an
output path: real jobs worked through the work engine, to a local folder, to a real S3
server and on PostgreSQL, every path and every JSON shape checked; while a job runs and
when it stops; and what a failed write says."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from exports.conftest import (
    FILE_TIME,
    TEXTS,
    add_workers,
    answer,
    check_layout,
    export_bytes,
    files_under,
    output_runs_of,
    schedule,
    segmentation_and_adjustment,
    sentiment_job,
    workspace_with_roots,
)
from support import answer_tasks, job_over_items
from truthset.exports import output_writer
from truthset.jobs.service import get_job
from truthset.media.storage import s3_client
from truthset.runs.executor import run_pending
from truthset.workspace import Workspace


def test_a_finished_job_writes_ground_truths_folder_locally(ws_out: Workspace, out_dir: Path):
    ws = ws_out
    job = sentiment_job(ws, "find-people", str(out_dir))
    answer_tasks(ws, job, "w1", answer)
    answer_tasks(ws, job, "w2", answer)
    with ws.db.session_scope(write=False) as s:
        assert get_job(s, job).state == "completed"
    assert schedule(ws) == [job]
    assert run_pending(ws.db, ws.settings) == 1
    [run] = output_runs_of(ws, job)
    assert run.state == "succeeded", run.error
    assert run.result["final"] is True and run.result["objects"] == 3
    check_layout(
        job,
        lambda rel: (out_dir / rel).read_bytes(),
        files_under(out_dir),
        export_bytes(ws, job),
    )
    # Written: nothing more is due.
    assert schedule(ws) == []
    assert schedule(ws, now=time.time() + 10_000) == []


# -- on S3 ------------------------------------------------------------------------------------


def test_a_finished_job_writes_ground_truths_folder_on_s3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bucket: str
):
    ws = workspace_with_roots(tmp_path, monkeypatch, [f"s3://{bucket}"])
    try:
        job = sentiment_job(ws, "find-people", f"s3://{bucket}/jobs/")
        answer_tasks(ws, job, "w1", answer)
        answer_tasks(ws, job, "w2", answer)
        assert schedule(ws) == [job]
        run_pending(ws.db, ws.settings)
        [run] = output_runs_of(ws, job)
        assert run.state == "succeeded", run.error
        assert run.result["folder"] == f"s3://{bucket}/jobs/{job}"
        client = s3_client()
        keys = [
            o["Key"][len("jobs/") :]
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix="jobs/"
            )
            for o in page.get("Contents", [])
        ]

        def read(rel: str) -> bytes:
            return bytes(client.get_object(Bucket=bucket, Key=f"jobs/{rel}")["Body"].read())

        check_layout(job, read, keys, export_bytes(ws, job))
    finally:
        ws.close()


def test_a_file_in_the_way_fails_the_run_clearly(ws_out: Workspace, out_dir: Path):
    ws = ws_out
    job = sentiment_job(ws, "blocked", str(out_dir))
    (out_dir / job).write_text("a file where the job's folder goes")
    answer_tasks(ws, job, "w1", answer)
    answer_tasks(ws, job, "w2", answer)
    schedule(ws)
    run_pending(ws.db, ws.settings)
    [failed] = output_runs_of(ws, job)
    assert failed.state == "failed"
    assert re.fullmatch(
        rf"cannot write {out_dir}/{job}/annotations/worker-response/iteration-1/0/"
        rf"{FILE_TIME}\.json: not a directory",
        failed.error,
    ), failed.error


def test_a_folder_without_permission_fails_the_run_clearly(ws_out: Workspace, out_dir: Path):
    ws = ws_out
    locked = out_dir / "locked"
    locked.mkdir()
    job = sentiment_job(ws, "no-permission", str(locked))
    answer_tasks(ws, job, "w1", answer)
    answer_tasks(ws, job, "w2", answer)
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who may write anywhere")
        schedule(ws)
        run_pending(ws.db, ws.settings)
        [failed] = output_runs_of(ws, job)
        assert failed.state == "failed"
        assert failed.error.startswith(f"cannot write {locked}/{job}/")
        assert failed.error.endswith("permission denied")
    finally:
        locked.chmod(0o700)


# -- while the job runs -----------------------------------------------------------------------


def test_intermediate_manifests_and_iterations_while_the_job_runs(
    ws_out: Workspace, out_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    ws = ws_out
    monkeypatch.setattr(output_writer, "SETTLE_SECONDS", 0.0)
    add_workers(ws, "w1")
    job = job_over_items(
        ws,
        "long-job",
        [{"source": f"text {i}"} for i in range(4)],
        ["negative", "positive"],
        settings={"output": {"path": str(out_dir), "interval": 60}},
    )
    root = out_dir / job
    t0 = time.time()
    # Nothing answered yet: nothing to write, though the interval has passed.
    assert schedule(ws, now=t0 + 61) == []
    answer_tasks(ws, job, "w1", answer, limit=2)
    assert schedule(ws, now=t0 + 1) == []  # the interval has not passed since the creation
    assert schedule(ws, now=t0 + 100) == [job]
    run_pending(ws.db, ws.settings)
    first = (root / "manifests/intermediate/1/output.manifest").read_text().splitlines()
    assert len(first) == 4
    labeled = [json.loads(x) for x in first if '"long-job-metadata"' in x]
    assert len(labeled) == 2
    assert not (root / "manifests/output").exists()
    assert sorted(p.name for p in (root / "annotations/worker-response").iterdir()) == [
        "iteration-1"
    ]
    assert sorted(p.name for p in (root / "annotations/worker-response/iteration-1").iterdir()) == [
        "0",
        "1",
    ]
    # Unchanged: no second intermediate manifest, however long one waits.
    assert schedule(ws, now=t0 + 200) == []
    assert schedule(ws, now=t0 + 2000) == []
    answer_tasks(ws, job, "w1", answer, limit=1)
    assert schedule(ws, now=t0 + 3000) == [job]
    run_pending(ws.db, ws.settings)
    second = (root / "manifests/intermediate/2/output.manifest").read_text().splitlines()
    assert sum('"long-job-metadata"' in x for x in second) == 3
    assert sorted(p.name for p in (root / "annotations/worker-response/iteration-2").iterdir()) == [
        "2"
    ]
    # The last task finishes the job: the final manifest and the last iteration.
    answer_tasks(ws, job, "w1", answer)
    assert schedule(ws) == [job]
    run_pending(ws.db, ws.settings)
    assert (root / "manifests/output/output.manifest").read_bytes() == export_bytes(ws, job)
    assert sorted(p.name for p in (root / "annotations/worker-response/iteration-3").iterdir()) == [
        "3"
    ]
    iterations = sorted(
        p.name
        for p in (root / "annotations/consolidated-annotation/consolidation-response").iterdir()
    )
    assert iterations == ["iteration-1", "iteration-2", "iteration-3"]
    assert [r.state for r in output_runs_of(ws, job)] == ["succeeded"] * 3
    assert not (root / "manifests/intermediate/3").exists()


def test_a_stopped_job_gets_its_final_manifest(ws_out: Workspace, out_dir: Path):
    from truthset.jobs.service import stop_job

    ws = ws_out
    job = sentiment_job(ws, "stopped-early", str(out_dir))
    answer_tasks(ws, job, "w1", answer, limit=1)
    answer_tasks(ws, job, "w2", answer, limit=1)
    with ws.db.session_scope() as s:
        stop_job(s, get_job(s, job))
    assert schedule(ws) == [job]
    run_pending(ws.db, ws.settings)
    manifest = (out_dir / job / "manifests/output/output.manifest").read_bytes()
    assert manifest == export_bytes(ws, job)
    lines = [json.loads(x) for x in manifest.decode().splitlines()]
    assert [f"{job}-metadata" in line for line in lines] == [True, False, False]


# -- PostgreSQL ----------------------------------------------------------------------------


def test_the_output_folder_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out_dir: Path, pg_url: str
):
    ws = workspace_with_roots(tmp_path, monkeypatch, [str(out_dir)], pg_url)
    try:
        first, second = segmentation_and_adjustment(ws, str(out_dir))
        job = sentiment_job_pg(ws, str(out_dir))
        answer_tasks(ws, job, "w1", answer)
        answer_tasks(ws, job, "w2", answer)
        assert sorted(schedule(ws)) == sorted([first, second, job])
        run_pending(ws.db, ws.settings)
        for name in (first, second, job):
            runs = output_runs_of(ws, name)
            assert [r.state for r in runs] == ["succeeded"], (name, runs[0].error)
        check_layout(
            job,
            lambda rel: (out_dir / rel).read_bytes(),
            [n for n in files_under(out_dir) if n.startswith(f"{job}/")],
            export_bytes(ws, job),
        )
        [line] = (out_dir / second / "manifests/output/output.manifest").read_text().splitlines()
        [mask] = list((out_dir / first / "annotations/consolidated-annotation/output").iterdir())
        assert json.loads(line)["masks-ref"] == str(mask)
    finally:
        ws.close()


def sentiment_job_pg(ws: Workspace, path: str) -> str:
    # The workers exist already (segmentation_and_adjustment made them).
    return job_over_items(
        ws,
        "find-people",
        [{"source": t} for t in TEXTS],
        ["negative", "positive"],
        workers_per_item=2,
        settings={"output": {"path": path}},
    )
