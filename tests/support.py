"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from truthset.api.tokens import issue_token
from truthset.datasets.importer import import_source
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import create_job
from truthset.store.models import Job, User
from truthset.workforce.service import create_user
from truthset.workspace import Workspace


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def write_manifest(path: Path, rows: list[dict[str, Any]] | list[str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def job_over_items(
    ws: Workspace,
    name: str,
    items: list[dict[str, Any]],
    labels: list[str],
    *,
    task_type: str = "text-classification",
    dataset: str | None = None,
    workers_per_item: int = 1,
    teams: tuple[str, ...] = ("t",),
    settings: dict[str, Any] | None = None,
    **spec: Any,
) -> str:
    """Import `items` as a dataset (named after the job unless `dataset` is given) and
    create a job over it; returns the job's name."""
    dataset = dataset or f"{name}-items"
    path = write_manifest(ws.settings.media_dir / f"{dataset}.manifest", items)
    with ws.db.session_scope() as s:
        import_source(s, dataset, str(path), allowed_roots=ws.allowed_roots)
        create_job(
            s,
            JobCreate(
                name=name,
                task_type=task_type,
                label_config=labels,
                dataset=dataset,
                workers_per_item=workers_per_item,
                teams=list(teams),
                settings=settings or {},
                **spec,
            ),
        )
    return name


def answer_tasks(
    ws: Workspace, job: str, worker: str, answer_for: Any, limit: int | None = None
) -> list[str]:
    """Lease and answer `job`'s tasks as `worker` through the work engine, each in its own
    transaction, until none is left or `limit` are done; `answer_for(item_id)` gives the
    answer. Returns the items answered, in order."""
    from truthset.jobs.service import get_job
    from truthset.work.answers import submit_answer
    from truthset.work.leases import lease_next_task

    done: list[str] = []
    while limit is None or len(done) < limit:
        with ws.db.session_scope() as s:
            user = s.scalar(select(User).where(User.name == worker))
            t = lease_next_task(s, get_job(s, job), user)
            if t is None:
                break
            submit_answer(s, t.assignment_id, user, answer_for(t.item_external_id))
            done.append(t.item_external_id)
    return done


class Setup:
    """A populated workspace: a text dataset, workers in a team, helpers to make jobs."""

    def __init__(self, ws: Workspace, n_items: int, n_workers: int):
        self.ws = ws
        manifest = write_manifest(
            ws.settings.media_dir / "items.manifest",
            [{"id": f"item-{i:05d}", "source": f"text number {i}"} for i in range(n_items)],
        )
        with ws.db.session_scope() as s:
            import_source(s, "texts", str(manifest), allowed_roots=ws.allowed_roots)
            self.admin_token = issue_token(s, create_user(s, "boss", role="admin"))
            self.worker_names = [f"w{i:02d}" for i in range(n_workers)]
            self.worker_tokens: dict[str, str] = {}
            for name in self.worker_names:
                u = create_user(s, name, role="worker", teams=["crew"])
                self.worker_tokens[name] = issue_token(s, u)

    def job(self, name: str = "job", **kw: Any) -> str:
        spec: dict[str, Any] = dict(
            name=name,
            task_type="text-classification",
            label_config=["pos", "neg"],
            dataset="texts",
            workers_per_item=3,
            teams=["crew"],
        )
        spec.update(kw)
        with self.ws.db.session_scope() as s:
            create_job(s, JobCreate(**spec))
        return name

    def load(self, s: Any, job: str, worker: str) -> tuple[Job, User]:
        return (
            s.scalar(select(Job).where(Job.name == job)),
            s.scalar(select(User).where(User.name == worker)),
        )


def autolabel_iteration(ws: Workspace, job: str) -> dict[str, Any]:
    """One auto-labeling iteration as the platform runs it: a background run, executed
    here; returns its result (the run must succeed)."""
    from truthset.jobs.service import get_job
    from truthset.runs.executor import run_pending
    from truthset.runs.service import enqueue, get_run

    with ws.db.session_scope() as s:
        run_id = enqueue(s, "autolabel", {"job": job}, job_id=get_job(s, job).id).id
    run_pending(ws.db, ws.settings)
    with ws.db.session_scope(write=False) as s:
        run = get_run(s, run_id)
        assert run.state == "succeeded", run.error
        return dict(run.result or {})


def run_coroutine(coro: Any) -> Any:
    """asyncio.run on a thread of its own: the browser tests' driver keeps an event loop
    running in the main thread for the whole session, and asyncio.run refuses to start
    inside one."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def wait_run(client: Any, run_id: int, headers: dict[str, str], timeout: float = 20.0) -> Any:
    """The run once it has finished. An app under TestClient runs its own embedded run
    worker, which may take a run before the test's `run_pending` does."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        run = client.get(f"/api/runs/{run_id}", headers=headers).json()
        if run["state"] in ("succeeded", "failed"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def require_module(name: str) -> Any:
    """The module, imported; skipped where it is missing, except in CI
    (TRUTHSET_TEST_REQUIRE_SERVICES=1), which installs every extra the product
    advertises, so a missing one there is a failure, not a quiet skip."""
    import importlib
    import os

    import pytest

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if os.environ.get("TRUTHSET_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{name} is not installed ({exc}); CI installs the embeddings extra")
        pytest.skip(f"could not import {name!r}: {exc}")
