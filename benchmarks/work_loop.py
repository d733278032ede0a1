"""The work loop over HTTP against a running server: K concurrent simulated workers each
doing next -> submit on a 3-workers-per-item text job, for a fixed time.

usage: python benchmarks/work_loop.py [--items 100000] [--seconds 20] [--k 1,8,32]
       [--database-url postgresql+psycopg://...] [--app-processes 2]
Targets (issue 2): SQLite >= 500 answers/s at K=32, p99 < 100 ms, 0 duplicates;
PostgreSQL with 2 app processes >= 800 answers/s.
The server runs as its own process; the workers are asyncio tasks in this process, on a
minimal HTTP client (benchmarks/_http.py) so that the load generator takes little of the
CPU the server needs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from _common import TRUTHSET, machine, write_text_manifest
from _http import Connection


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, env: dict[str, str]) -> str:
    out = subprocess.run([TRUTHSET, *args], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return out.stdout


async def worker(url: str, token: str, job: str, stop_at: float, stats: dict) -> None:
    host, port = url.removeprefix("http://").split(":")
    async with Connection(host, int(port), {"Authorization": f"Bearer {token}"}) as c:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            status, body = await c.post(f"/api/jobs/{job}/next")
            t1 = time.perf_counter()
            stats["next"].append(t1 - t0)
            if status == 204:
                await asyncio.sleep(0.01)
                continue
            if status != 200:
                stats["errors"].append(f"next {status} {body[:200]!r}")
                continue
            aid = json.loads(body)["assignment_id"]
            answer = {"answer": {"label": "pos"}, "client_key": uuid.uuid4().hex}
            t2 = time.perf_counter()
            status, body = await c.post(
                f"/api/assignments/{aid}/submit", json.dumps(answer).encode()
            )
            t3 = time.perf_counter()
            if status != 200:
                stats["errors"].append(f"submit {status} {body[:200]!r}")
                continue
            stats["submit"].append(t3 - t2)
            stats["answers"] += 1


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p * len(s)))] * 1000 if s else float("nan")


def run_level(url: str, tokens: list[str], job: str, seconds: float) -> dict:
    stats: dict = {"next": [], "submit": [], "errors": [], "answers": 0}
    stop_at = time.perf_counter() + seconds

    async def main() -> None:
        await asyncio.gather(*(worker(url, t, job, stop_at, stats) for t in tokens))

    t0 = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - t0
    return {
        "answers_per_s": stats["answers"] / elapsed,
        "answers": stats["answers"],
        "next_p50": pct(stats["next"], 0.5),
        "next_p95": pct(stats["next"], 0.95),
        "next_p99": pct(stats["next"], 0.99),
        "submit_p50": pct(stats["submit"], 0.5),
        "submit_p95": pct(stats["submit"], 0.95),
        "submit_p99": pct(stats["submit"], 0.99),
        "errors": len(stats["errors"]),
        "first_error": stats["errors"][:1],
    }


def duplicates(db_url: str) -> dict:
    eng = create_engine(db_url)
    with eng.connect() as c:
        twice = c.execute(
            text(
                "SELECT count(*) FROM (SELECT task_id, worker_id FROM assignments "
                "GROUP BY task_id, worker_id HAVING count(*) > 1) x"
            )
        ).scalar()
        over = c.execute(
            text(
                "SELECT count(*) FROM (SELECT a.task_id FROM assignments a JOIN tasks t ON t.id = "
                "a.task_id WHERE a.status IN ('leased', 'submitted') GROUP BY a.task_id, "
                "t.target_answers HAVING count(*) > t.target_answers) x"
            )
        ).scalar()
    eng.dispose()
    return {"same_worker_twice": twice, "over_workers_per_item": over}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--k", default="1,8,32")
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--app-processes", type=int, default=1)
    args = ap.parse_args()
    levels = [int(k) for k in args.k.split(",")]
    tmp = tempfile.mkdtemp()
    data = Path(tmp) / "data"
    env = {**os.environ, "TRUTHSET_DATA_DIR": str(data)}
    if args.database_url:
        env["TRUTHSET_DATABASE_URL"] = args.database_url
    db_url = args.database_url or f"sqlite:///{data / 'truthset.db'}"
    manifest = Path(tmp) / "items.manifest"
    write_text_manifest(manifest, args.items)
    cli("dataset", "import", "texts", str(manifest), env=env)
    labels = Path(tmp) / "labels.json"
    labels.write_text(
        json.dumps(
            {"document-version": "2018-11-28", "labels": [{"label": "pos"}, {"label": "neg"}]}
        )
    )
    n_workers = max(levels)
    tokens = []
    for i in range(n_workers):
        cli("user", "add", f"w{i}", "--team", "crew", env=env)
        tokens.append(cli("user", "token", f"w{i}", env=env).strip())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [TRUTHSET, "serve", "--port", str(port), "--workers", str(args.app_processes)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        print(f"machine: {machine()}")
        print(
            f"store: {'PostgreSQL' if args.database_url else 'SQLite'}, app processes: "
            f"{args.app_processes}, items: {args.items:,}, workers per item: 3"
        )
        for k in levels:
            job = f"bench-k{k}"
            cli(
                "job",
                "create",
                job,
                "--dataset",
                "texts",
                "--task-type",
                "text-classification",
                "--labels",
                str(labels),
                "--workers-per-item",
                "3",
                "--team",
                "crew",
                env=env,
            )
            r = run_level(url, tokens[:k], job, args.seconds)
            print(
                f"K={k:3d}: {r['answers_per_s']:7.1f} answers/s ({r['answers']} answers)  "
                f"next p50/p95/p99 {r['next_p50']:.1f}/{r['next_p95']:.1f}/{r['next_p99']:.1f} ms"
                f"  submit p50/p95/p99 {r['submit_p50']:.1f}/{r['submit_p95']:.1f}/"
                f"{r['submit_p99']:.1f} ms  errors {r['errors']} {r['first_error']}"
            )
        print(f"duplicates: {duplicates(db_url)}")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
