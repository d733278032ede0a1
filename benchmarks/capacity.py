"""Figures behind docs/deployment.md's capacity model, on PostgreSQL, and the model's
check at reduced scale.

usage: python benchmarks/capacity.py --database-url postgresql+psycopg://.../postgres
         [--storage 500,2000] [--runs 300] [--workers 1,2]
         [--annotators 100,200 --think 0.4 --seconds 20 --app-processes 1]

- storage: a fresh database per size; N text items, a job of 3 answers per item, every
  task answered through the work engine; bytes per row of each table (heap, indexes and
  TOAST: pg_total_relation_size), and whether the smaller size predicts the larger one
  (the model is linear in rows).
- runs: N runs queued (the `sweep` kind, a few milliseconds each) and drained by W
  `truthset worker` processes (procrastinate): runs per second, the queue's own cost.
- annotators: an open loop, as people are: A annotators each answer, then think T
  seconds, then take the next task, through `truthset serve` with P app processes. The
  model says one app process serves min(A / T, its capacity) answers/s; the check is
  that the offered rate is served (achieved / offered) with a low p99.
It prints one JSON object; docs/deployment.md turns it into processes and disk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from _common import TRUTHSET, machine, write_text_manifest
from _http import Connection

TABLES = ("items", "tasks", "assignments", "answers", "labels")


def fresh_database(admin_url: str) -> str:
    name = f"cap_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def seeded_job(url: str, tmp: Path, items: int, workers: int) -> tuple[Any, list[str]]:
    """A workspace with `items` texts, a job of `workers` answers per item, the workers'
    tokens."""
    from sqlalchemy import select

    from truthset.api.tokens import issue_token
    from truthset.config import load_settings
    from truthset.datasets.importer import import_source
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job
    from truthset.store.models import User
    from truthset.workforce.service import create_user
    from truthset.workspace import open_workspace

    ws = open_workspace(load_settings(tmp / f"data-{items}", url))
    manifest = tmp / f"items-{items}.manifest"
    write_text_manifest(manifest, items)
    tokens = []
    with ws.db.session_scope() as s:
        import_source(s, "texts", str(manifest), allowed_roots=[str(tmp)])
        for i in range(workers):
            tokens.append(issue_token(s, create_user(s, f"w{i:04d}", role="worker", teams=["t"])))
        create_job(
            s,
            JobCreate(
                name="job",
                task_type="text-classification",
                label_config=["pos", "neg"],
                dataset="texts",
                workers_per_item=min(3, workers),
                teams=["t"],
                settings={"max_leases_per_worker": 1},
            ),
        )
        assert s.scalar(select(User).where(User.name == "w0000")) is not None
    return ws, tokens


def storage(admin_url: str, sizes: list[int], tmp: Path) -> dict[str, Any]:
    from sqlalchemy import select

    from truthset.jobs.service import get_job
    from truthset.store.models import User
    from truthset.work.answers import submit_answer
    from truthset.work.leases import lease_next_task

    out: dict[str, Any] = {}
    for n in sizes:
        url = fresh_database(admin_url)
        try:
            ws, _ = seeded_job(url, tmp, n, 3)
            t0 = time.perf_counter()
            with ws.db.session_scope() as s:
                users = list(s.scalars(select(User).where(User.role == "worker")))
            for user_name in [u.name for u in users]:
                while True:
                    with ws.db.session_scope() as s:
                        user = s.scalar(select(User).where(User.name == user_name))
                        task = lease_next_task(s, get_job(s, "job"), user)
                        if task is None:
                            break
                        submit_answer(s, task.assignment_id, user, {"label": "pos"})
            answered_s = time.perf_counter() - t0
            ws.close()
            engine = create_engine(url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text("VACUUM ANALYZE"))  # sizes as a steady table has them
                row: dict[str, Any] = {"answer_seconds": round(answered_s, 1)}
                for table in TABLES:
                    rows = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0
                    size = conn.execute(
                        text("SELECT pg_total_relation_size(:t)"), {"t": table}
                    ).scalar()
                    row[table] = {"rows": rows, "bytes": size, "per_row": size / max(rows, 1)}
                row["database_bytes"] = conn.execute(
                    text("SELECT pg_database_size(current_database())")
                ).scalar()
            engine.dispose()
            out[str(n)] = row
        finally:
            drop_database(admin_url, url)
    if len(sizes) >= 2:
        small, large = out[str(sizes[0])], out[str(sizes[-1])]
        out["prediction"] = {
            table: {
                "predicted": round(small[table]["per_row"] * large[table]["rows"]),
                "measured": large[table]["bytes"],
                "ratio": round(
                    large[table]["bytes"] / (small[table]["per_row"] * large[table]["rows"]), 3
                ),
            }
            for table in TABLES
        }
    return out


def run_queue(admin_url: str, runs: int, worker_counts: list[int], tmp: Path) -> dict[str, Any]:
    from truthset.config import load_settings
    from truthset.runs import service
    from truthset.workspace import open_workspace

    out: dict[str, Any] = {}
    for workers in worker_counts:
        url = fresh_database(admin_url)
        try:
            ws = open_workspace(load_settings(tmp / f"runs-{workers}", url))
            with ws.db.session_scope() as s:
                for _ in range(runs):
                    service.enqueue(s, "sweep", {})
            env = {**os.environ, "TRUTHSET_DATABASE_URL": url}
            procs = [
                subprocess.Popen(
                    [TRUTHSET, "worker", "--data-dir", str(tmp / f"w{workers}-{i}")],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for i in range(workers)
            ]
            t0 = time.perf_counter()
            engine = create_engine(url)
            first_done = None
            while True:
                with engine.connect() as conn:
                    done = conn.execute(
                        text("SELECT count(*) FROM runs WHERE state = 'succeeded'")
                    ).scalar()
                if done and first_done is None:
                    first_done = time.perf_counter()
                if done == runs:
                    break
                time.sleep(0.05)
            elapsed = time.perf_counter() - (first_done or t0)
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
            engine.dispose()
            ws.close()
            out[str(workers)] = {
                "runs": runs,
                "seconds_after_first": round(elapsed, 2),
                "runs_per_s": round(runs / elapsed, 1),
                "runs_per_s_per_worker": round(runs / elapsed / workers, 1),
            }
        finally:
            drop_database(admin_url, url)
    return out


async def annotator(
    c: Connection, think: float, stop_at: float, stats: dict[str, Any], delay: float
) -> None:
    await asyncio.sleep(delay)  # people arrive spread over one think time
    while time.perf_counter() < stop_at:
        t0 = time.perf_counter()
        status, body = await c.post("/api/jobs/job/next")
        if status == 204:
            await asyncio.sleep(think)
            continue
        if status != 200:
            stats["errors"] += 1
            await asyncio.sleep(think)
            continue
        aid = json.loads(body)["assignment_id"]
        answer = json.dumps({"answer": {"label": "pos"}, "client_key": uuid.uuid4().hex})
        status, _ = await c.post(f"/api/assignments/{aid}/submit", answer.encode())
        t1 = time.perf_counter()
        if status == 200:
            stats["answers"] += 1
            stats["latency"].append(t1 - t0)
        else:
            stats["errors"] += 1
        await asyncio.sleep(think)


def annotators(
    admin_url: str, counts: list[int], think: float, seconds: float, processes: int, tmp: Path
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for count in counts:
        url = fresh_database(admin_url)
        server = None
        try:
            items = int(count / think * seconds * 1.5 / 3) + 100
            ws, tokens = seeded_job(url, tmp, items, count)
            ws.close()
            port = _free_port()
            env = {
                **os.environ,
                "TRUTHSET_DATABASE_URL": url,
                "TRUTHSET_DATA_DIR": str(tmp / f"serve-{count}"),
                "TRUTHSET_EMBEDDED_RUNS": "0",
            }
            server = subprocess.Popen(
                [TRUTHSET, "serve", "--port", str(port), "--workers", str(processes)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            _wait_up(port)
            stats: dict[str, Any] = {"answers": 0, "errors": 0, "latency": []}

            async def main(
                port: int = port, tokens: list[str] = tokens, stats: dict[str, Any] = stats
            ) -> float:
                conns = []
                for token in tokens:
                    c = Connection("127.0.0.1", port, {"Authorization": f"Bearer {token}"})
                    await c.__aenter__()
                    conns.append(c)
                warm = time.perf_counter() + think  # the first think time: arrivals
                stop_at = warm + seconds
                tasks = [
                    annotator(c, think, stop_at, stats, think * i / len(conns))
                    for i, c in enumerate(conns)
                ]
                await asyncio.sleep(think)
                stats["answers"], stats["latency"] = 0, []
                await asyncio.gather(*tasks)
                for c in conns:
                    await c.__aexit__()
                return seconds

            elapsed = asyncio.run(main())
            lat = sorted(stats["latency"])
            offered = count / (think + (lat[len(lat) // 2] if lat else 0))
            out[str(count)] = {
                "think_s": think,
                "offered_answers_per_s": round(offered, 1),
                "answers_per_s": round(stats["answers"] / elapsed, 1),
                "served_share": round(stats["answers"] / elapsed / offered, 3),
                "next_plus_submit_p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
                "next_plus_submit_p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 1)
                if lat
                else None,
                "errors": stats["errors"],
            }
        finally:
            if server is not None:
                server.terminate()
                server.wait(30)
            drop_database(admin_url, url)
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(port: int) -> None:
    import httpx

    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", required=True, help="a database to create others from")
    ap.add_argument("--storage", default="")
    ap.add_argument("--runs", type=int, default=0)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--annotators", default="")
    ap.add_argument("--think", type=float, default=0.4)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--app-processes", type=int, default=1)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    result: dict[str, Any] = {"machine": machine(), "load": os.getloadavg()}
    if args.storage:
        result["storage"] = storage(
            args.database_url, [int(x) for x in args.storage.split(",")], tmp
        )
    if args.runs:
        result["runs"] = run_queue(
            args.database_url, args.runs, [int(x) for x in args.workers.split(",")], tmp
        )
    if args.annotators:
        result["annotators"] = annotators(
            args.database_url,
            [int(x) for x in args.annotators.split(",")],
            args.think,
            args.seconds,
            args.app_processes,
            tmp,
        )
    result["load_after"] = os.getloadavg()
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
