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
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import create_engine, make_url, text

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


async def worker(c: Connection, job: str, stop_at: float, stats: dict) -> None:
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
        status, body = await c.post(f"/api/assignments/{aid}/submit", json.dumps(answer).encode())
        t3 = time.perf_counter()
        if status != 200:
            stats["errors"].append(f"submit {status} {body[:200]!r}")
            continue
        stats["submit"].append(t3 - t2)
        stats["answers"] += 1


def serving_processes(server_port: int, client_ports: list[int]) -> list[int | None]:
    """The pid of the server process that accepted each connection (Linux /proc)."""
    inode_of: dict[int, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, remote = int(cols[1].rsplit(":", 1)[1], 16), int(cols[2].rsplit(":", 1)[1], 16)
            if local == server_port:
                inode_of[remote] = cols[9]
    pid_of: dict[str, int] = {}
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    pid_of[target[8:-1]] = int(fd_dir.parent.name)
        except OSError:
            continue
    return [pid_of.get(inode_of.get(p, "")) for p in client_ports]


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time so far (0 for one that is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _process_tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                continue
    return out


def cpu_probe(server_pid: int, db_url: str | None) -> Callable[[], dict[str, dict[int, float]]]:
    """CPU seconds so far of the app processes and (PostgreSQL on this host) of the
    database's backends, by pid: a run's CPU per answer is the difference, which a loaded
    machine changes less than it changes answers/s."""
    eng = create_engine(db_url) if db_url else None

    def probe() -> dict[str, dict[int, float]]:
        out = {"app": {p: _cpu_seconds(p) for p in _process_tree(server_pid)}}
        if eng is not None:
            with eng.connect() as c:
                pids = c.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                ).scalars()
                out["database"] = {int(p): _cpu_seconds(int(p)) for p in pids}
        return out

    return probe


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict:
    """CPU seconds between two probes, by group (a process new since `before` counts
    from its start)."""
    return {
        group: sum(t - before.get(group, {}).get(p, 0.0) for p, t in pids.items())
        for group, pids in after.items()
    }


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p * len(s)))] * 1000 if s else float("nan")


def run_level(
    url: str,
    tokens: list[str],
    job: str,
    seconds: float,
    probe: Callable[[], dict[str, dict[int, float]]] | None = None,
) -> dict:
    stats: dict = {"next": [], "submit": [], "errors": [], "answers": 0}
    cpu: dict = {}
    host, port = url.removeprefix("http://").split(":")
    split: dict = {}

    async def main() -> float:
        # Workers arrive one by one (as people do), not as one burst of connections: with
        # several app processes on one listening socket, the first process to wake accepts
        # a whole burst.
        conns = []
        for t in tokens:
            c = Connection(host, int(port), {"Authorization": f"Bearer {t}"})
            await c.__aenter__()
            conns.append(c)
            await asyncio.sleep(0.05)
        for pid in serving_processes(int(port), [c.local_port for c in conns]):
            split[pid] = split.get(pid, 0) + 1
        before = probe() if probe else {}
        t0 = time.perf_counter()
        stop_at = t0 + seconds
        await asyncio.gather(*(worker(c, job, stop_at, stats) for c in conns))
        elapsed = time.perf_counter() - t0
        if probe:
            cpu.update(cpu_used(before, probe()))
        for c in conns:
            await c.__aexit__()
        return elapsed

    elapsed = asyncio.run(main())
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
        "connections_per_process": sorted(split.values(), reverse=True),
        # CPU ms per answer, by group (app processes; the database's backends).
        "cpu_ms_per_answer": {
            g: round(1000 * t / max(stats["answers"], 1), 3) for g, t in cpu.items()
        },
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


def miscounts(db_url: str) -> dict:
    """Counters that disagree with the rows they count (all 0 when the engine is exact)."""
    eng = create_engine(db_url)
    checks = {
        "task_answers": "SELECT count(*) FROM tasks t WHERE t.answers <> "
        "(SELECT count(*) FROM answers a WHERE a.task_id = t.id)",
        "task_leases": "SELECT count(*) FROM tasks t WHERE t.live_leases <> (SELECT count(*) "
        "FROM assignments a WHERE a.task_id = t.id AND a.status = 'leased')",
        "labels_vs_complete": "SELECT abs((SELECT count(*) FROM labels) - "
        "(SELECT count(*) FROM tasks WHERE status = 'complete'))",
        "job_in_flight": "SELECT count(*) FROM jobs j WHERE j.in_flight <> (SELECT count(*) "
        "FROM tasks t WHERE t.job_id = j.id AND t.started = 1 AND t.status IN ('open', 'full'))",
    }
    # The job aggregates (migration 0016, kept by triggers and, on PostgreSQL, by the
    # submit's own statement since 0019) against the rows they count.
    aggregates = {
        "job_task_counts": "SELECT count(*) FROM (SELECT job_id, CASE WHEN status = 'full' "
        "THEN 'open' ELSE status END AS s, count(*) AS n FROM tasks WHERE is_gold = 0 "
        "GROUP BY 1, 2) t FULL JOIN (SELECT job_id, status AS s, sum(tasks) AS n "
        "FROM job_task_counts GROUP BY 1, 2 HAVING sum(tasks) <> 0) c "
        "ON c.job_id = t.job_id AND c.s = t.s WHERE t.n IS NULL OR c.n IS NULL OR t.n <> c.n",
        "job_worker_answers": "SELECT abs((SELECT count(*) FROM answers) - "
        "(SELECT coalesce(sum(answers), 0) FROM job_worker_counts))",
        "job_worker_labeled": "SELECT abs((SELECT count(*) FROM answers a JOIN labels l "
        "ON l.task_id = a.task_id) - (SELECT coalesce(sum(labeled), 0) FROM job_worker_counts))",
        "job_minute_answers": "SELECT abs((SELECT count(*) FROM answers) - "
        "(SELECT coalesce(sum(answers), 0) FROM job_answer_minutes))",
    }
    with eng.connect() as c:
        if c.dialect.has_table(c, "job_task_counts"):
            checks.update(aggregates)
        out = {name: int(c.execute(text(sql)).scalar()) for name, sql in checks.items()}
    eng.dispose()
    return out


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
    server_log = Path(tmp) / "server.log"
    server = subprocess.Popen(
        [TRUTHSET, "serve", "--port", str(port), "--workers", str(args.app_processes)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=server_log.open("wb"),
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        local_db = args.database_url and make_url(args.database_url).host in (
            "127.0.0.1",
            "localhost",
        )
        probe = cpu_probe(server.pid, args.database_url if local_db else None)
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
            r = run_level(url, tokens[:k], job, args.seconds, probe)
            print(
                f"K={k:3d}: {r['answers_per_s']:7.1f} answers/s ({r['answers']} answers)  "
                f"next p50/p95/p99 {r['next_p50']:.1f}/{r['next_p95']:.1f}/{r['next_p99']:.1f} ms"
                f"  submit p50/p95/p99 {r['submit_p50']:.1f}/{r['submit_p95']:.1f}/"
                f"{r['submit_p99']:.1f} ms  errors {r['errors']} {r['first_error']}  "
                f"connections per app process {r['connections_per_process']}  "
                f"CPU ms per answer {r['cpu_ms_per_answer']}"
            )
        print(f"duplicates: {duplicates(db_url)}")
        print(f"miscounts: {miscounts(db_url)}")
    except BaseException:
        print(f"server log (last lines): {server_log.read_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
