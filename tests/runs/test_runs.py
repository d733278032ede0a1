"""Background runs survive a restart: resumed or failed with the reason, never lost."""

from __future__ import annotations

import time

from sqlalchemy import text

from support import write_manifest
from truthset.runs import service
from truthset.runs.executor import run_pending


def test_runs_execute_and_record_progress(ws):
    path = write_manifest(
        ws.settings.media_dir / "m.manifest", [{"source": f"t{i}"} for i in range(20)]
    )
    with ws.db.session_scope() as s:
        run = service.enqueue(s, "import", {"dataset": "d", "source": str(path)})
    assert run_pending(ws.db, ws.settings) == 1
    with ws.db.session_scope(write=False) as s:
        done = service.run_as_dict(service.get_run(s, run.id))
    assert done["state"] == "succeeded" and done["result"]["added"] == 20
    assert done["progress"]["done"] == 20


def test_interrupted_runs_are_requeued_or_failed_with_reason(ws):
    with ws.db.session_scope() as s:
        export = service.enqueue(s, "export", {"job": "nope"})
        sweep = service.enqueue(s, "sweep", {})
        other = service.enqueue(s, "import", {"dataset": "d", "source": "/nowhere"})
        # Pretend a server died while these were running, a minute ago.
        s.execute(
            text("UPDATE runs SET state = 'running', heartbeat_at = :t, attempts = 1"),
            {"t": time.time() - 60},
        )
        s.execute(text("UPDATE runs SET attempts = 3 WHERE id = :i"), {"i": other.id})
    with ws.db.session_scope() as s:
        touched = service.recover_interrupted(s, data_dir=ws.settings.data_dir)
    assert sorted(touched) == sorted([export.id, sweep.id, other.id])
    with ws.db.session_scope(write=False) as s:
        states = {r.id: (r.state, r.error) for r in service.list_runs(s)}
    assert states[export.id][0] == "queued"  # resumable: queued again
    assert states[sweep.id][0] == "queued"
    assert states[other.id][0] == "failed" and "interrupted" in states[other.id][1]
    run_pending(ws.db, ws.settings)
    with ws.db.session_scope(write=False) as s:
        failed = service.get_run(s, export.id)
    assert failed.state == "failed" and "job 'nope' not found" in failed.error


def test_a_live_run_is_not_taken_for_dead(ws):
    with ws.db.session_scope() as s:
        run = service.enqueue(s, "sweep", {})
        s.execute(
            text("UPDATE runs SET state = 'running', heartbeat_at = :t"), {"t": time.time() - 60}
        )
    # Its heartbeat lives in the progress file (SQLite): fresh, so it is left alone.
    path = service.progress_path(ws.settings.data_dir, run.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    service.write_progress_file(path, 5, 10, "working", time.time())
    with ws.db.session_scope() as s:
        assert service.recover_interrupted(s, data_dir=ws.settings.data_dir) == []


def test_embedded_executor_recovers_at_start(ws, client):
    # `client` starts the app, whose executor recovers and then drains the queue.
    with ws.db.session_scope() as s:
        run = service.enqueue(s, "sweep", {})
    deadline = time.time() + 10
    while time.time() < deadline:
        with ws.db.session_scope(write=False) as s:
            if service.get_run(s, run.id).state == "succeeded":
                return
        time.sleep(0.1)
    raise AssertionError("the embedded executor did not run the queued run")


def test_each_builtin_kind_is_found_in_its_own_module():
    from truthset.runs.registry import BUILTIN_KIND_MODULES, all_run_kinds

    kinds = all_run_kinds()
    builtin = {name: kind.fn.__module__ for name, kind in kinds.items()}
    assert {k: v for k, v in builtin.items() if v.startswith("truthset.")} == BUILTIN_KIND_MODULES
