"""Runs on PostgreSQL through procrastinate: a run and its job commit together, worker
processes share the queue, a worker killed mid-run leaves its run to another, which
finishes it once, and cancellation reaches a running run on whatever host it runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from conftest import make_workspace
from support import write_manifest
from truthset.runs import service
from truthset.runs.queue import RUN_TASK
from truthset.workspace import Workspace

# Seconds without a heartbeat before a worker counts as dead (the workers beat every third).
STALLED_AFTER = 3


def test_the_migration_names_the_installed_procrastinate_schema():
    """An upgrade of procrastinate that brings schema changes must come with a migration
    of ours applying them to existing databases (see migration 0014)."""
    from importlib import import_module

    from procrastinate.schema import SchemaManager

    migration = import_module("truthset.store.migrations.versions.0014_procrastinate")
    newest = max(p.name for p in Path(SchemaManager.get_migrations_path()).glob("*.sql"))
    assert newest == migration.SCHEMA_AT


@pytest.fixture
def pg_ws(tmp_path: Path, pg_url: str) -> Iterator[Workspace]:
    workspace = make_workspace(tmp_path / "here", pg_url)
    yield workspace
    workspace.close()


def jobs_of(ws: Workspace) -> list[Any]:
    with ws.db.session_scope(write=False) as s:
        return list(
            s.execute(
                text(
                    "SELECT args, status FROM procrastinate_jobs WHERE task_name = :t ORDER BY id"
                ),
                {"t": RUN_TASK},
            ).all()
        )


def test_a_run_and_its_job_commit_or_roll_back_together(pg_ws):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), pg_ws.db.session_scope() as s:
        service.enqueue(s, "sweep", {})
        raise Boom
    assert jobs_of(pg_ws) == []
    with pg_ws.db.session_scope(write=False) as s:
        assert service.list_runs(s) == []
    with pg_ws.db.session_scope() as s:
        run = service.enqueue(s, "sweep", {})
    assert jobs_of(pg_ws) == [({"run_id": run.id}, "todo")]


def test_sqlite_runs_need_no_queue(ws):
    with ws.db.session_scope() as s:
        run = service.enqueue(s, "sweep", {})
        assert run.state == "queued"
        assert "procrastinate" not in str(
            s.execute(text("SELECT group_concat(name) FROM sqlite_master")).scalar()
        )


def start_worker(ws: Workspace, data_dir: Path, roots: Path) -> subprocess.Popen[bytes]:
    """`truthset worker` as its own process, with a data directory of its own."""
    env = {
        **os.environ,
        "TRUTHSET_ALLOWED_ROOTS": str(roots),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TRUTHSET_DATABASE_URL", None)
    cmd = [
        sys.executable,
        "-m",
        "truthset.cli.main",
        "worker",
        "--database-url",
        ws.settings.database_url,
        "--data-dir",
        str(data_dir),
        "--stalled-after",
        str(STALLED_AFTER),
    ]
    log = open(data_dir.parent / f"{data_dir.name}.log", "wb")  # noqa: SIM115 - the child's
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


def run_row(ws: Workspace, run_id: int) -> dict[str, Any]:
    with ws.db.session_scope(write=False) as s:
        return service.run_as_dict(service.get_run(s, run_id)) | {
            "owner": service.get_run(s, run_id).owner
        }


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def item_count(ws: Workspace, dataset: str) -> int:
    with ws.db.session_scope(write=False) as s:
        return int(
            s.execute(
                text(
                    "SELECT count(*) FROM items i JOIN datasets d ON d.id = i.dataset_id "
                    "WHERE d.name = :n"
                ),
                {"n": dataset},
            ).scalar()
            or 0
        )


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def big_manifest(folder: Path, lines: int) -> Path:
    return write_manifest(
        folder / f"big-{lines}.manifest",
        [{"source": f"a text of line {i}", "id": i} for i in range(lines)],
    )


def test_two_workers_share_the_queue_and_a_killed_one_is_retried_by_the_other(pg_ws, tmp_path):
    roots = tmp_path / "sources"
    small = [
        write_manifest(roots / f"small-{i}.manifest", [{"source": f"s{i}-{j}"} for j in range(50)])
        for i in range(6)
    ]
    big = big_manifest(roots, 40_000)
    workers = [start_worker(pg_ws, tmp_path / f"worker-{n}", roots) for n in range(2)]
    try:
        with pg_ws.db.session_scope() as s:
            big_run = service.enqueue(s, "import", {"dataset": "big", "source": str(big)}).id
            small_runs = [
                service.enqueue(s, "import", {"dataset": f"small-{i}", "source": str(p)}).id
                for i, p in enumerate(small)
            ]
        running = wait_for(
            lambda: (
                (r := run_row(pg_ws, big_run))["state"] == "running"
                and r["progress"]["done"] > 0
                and r
            ),
            60,
            "the big import to be running",
        )
        owner_pid = int(running["owner"].split(":")[1])
        victim = next(w for w in workers if w.pid == owner_pid)
        survivor = next(w for w in workers if w.pid != owner_pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = time.time()

        done = wait_for(
            lambda: (r := run_row(pg_ws, big_run))["state"] in ("succeeded", "failed") and r,
            120,
            "the big import to be retried and finished",
        )
        assert done["state"] == "succeeded", done
        assert done["attempts"] == 2  # the killed try, then the survivor's
        assert int(done["owner"].split(":")[1]) == survivor.pid
        assert done["result"]["added"] == 40_000
        assert item_count(pg_ws, "big") == 40_000  # the killed try's rows rolled back
        assert done["started_at"] > killed_at  # taken again only after the kill
        for run_id, path in zip(small_runs, small, strict=True):
            small_done = wait_for(
                lambda run_id=run_id: (
                    (r := run_row(pg_ws, run_id))["state"] in ("succeeded", "failed") and r
                ),
                60,
                f"run {run_id}",
            )
            assert small_done["state"] == "succeeded" and small_done["attempts"] == 1
            assert small_done["result"]["added"] == 50, path
        # Every run was finished by one of the two workers, and no job is left behind.
        pids = {int(run_row(pg_ws, r)["owner"].split(":")[1]) for r in [big_run, *small_runs]}
        assert pids <= {victim.pid, survivor.pid}
        wait_for(lambda: all(status != "doing" for _, status in jobs_of(pg_ws)), 20, "jobs")
    finally:
        for w in workers:
            stop(w)


def test_cancel_reaches_a_run_running_in_another_process(pg_ws, tmp_path):
    roots = tmp_path / "sources"
    big = big_manifest(roots, 200_000)
    worker = start_worker(pg_ws, tmp_path / "worker", roots)
    try:
        with pg_ws.db.session_scope() as s:
            run_id = service.enqueue(s, "import", {"dataset": "big", "source": str(big)}).id
        wait_for(
            lambda: (r := run_row(pg_ws, run_id))["state"] == "running" and r["progress"]["done"],
            60,
            "the import to be running",
        )
        asked = time.time()
        with pg_ws.db.session_scope() as s:
            service.cancel(s, service.get_run(s, run_id))
        assert run_row(pg_ws, run_id)["state"] == "cancelling"
        done = wait_for(
            lambda: (r := run_row(pg_ws, run_id))["state"] not in ("running", "cancelling") and r,
            30,
            "the import to stop",
        )
        assert done["state"] == "cancelled", done
        assert done["finished_at"] - asked < 5
        assert item_count(pg_ws, "big") == 0  # its transaction rolled back
        assert worker.poll() is None  # the worker goes on
        with pg_ws.db.session_scope() as s:
            again = service.enqueue(s, "sweep", {}).id
        assert wait_for(lambda: run_row(pg_ws, again)["state"] == "succeeded", 30, "next run")
    finally:
        stop(worker)


def test_cancel_reaches_a_run_of_the_embedded_executor(ws):
    """The same on SQLite: the server's own executor stops the run it is running."""
    from truthset.runs.executor import EmbeddedExecutor

    big = big_manifest(ws.settings.media_dir, 200_000)
    executor = EmbeddedExecutor(ws.db, ws.settings, poll_interval=0.05)
    executor.start()
    try:
        with ws.db.session_scope() as s:
            run_id = service.enqueue(s, "import", {"dataset": "big", "source": str(big)}).id
        wait_for(
            lambda: (
                run_row(ws, run_id)["state"] == "running"
                and service.read_progress_file(service.progress_path(ws.settings.data_dir, run_id))
            ),
            30,
            "the import to be running",
        )
        with ws.db.session_scope(write=False) as s:
            service.request_cancel_by_file(ws.settings.data_dir, service.get_run(s, run_id))
            shown = service.run_as_dict(service.get_run(s, run_id), ws.settings.data_dir)
        assert shown["state"] == "cancelling"
        done = wait_for(
            lambda: (r := run_row(ws, run_id))["state"] not in ("running", "cancelling") and r,
            30,
            "the import to stop",
        )
        assert done["state"] == "cancelled"
        assert not service.cancel_marker_path(ws.settings.data_dir, run_id).exists()
        assert item_count(ws, "big") == 0
    finally:
        executor.stop()


def test_a_finished_run_cannot_be_cancelled(ws):
    from truthset.errors import Conflict
    from truthset.runs.executor import run_pending

    with ws.db.session_scope() as s:
        run_id = service.enqueue(s, "sweep", {}).id
    run_pending(ws.db, ws.settings)
    with pytest.raises(Conflict, match="only a queued or running run"), ws.db.session_scope() as s:
        service.cancel(s, service.get_run(s, run_id))
