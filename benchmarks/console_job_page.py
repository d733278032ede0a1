"""The console's job page over a large job (SQLite): every route the page asks, and the
charts section's route, through the app (in-process HTTP, the whole FastAPI stack).

usage: python benchmarks/console_job_page.py [--items 1000000] [--done 0.7] [--repeat 5]
Target (issue 17): the job page of a 1,000,000-item job loads in under 500 ms. The page asks
its first routes at once and then the panels' own routes at once, and the charts section
after it is drawn; this prints each route's median and worst time and their sum per wave
(the page's time if the browser asked them one after another), and a labels page near the
job's end reached by cursor ("later", the console's "next" links).

The job is built the fast way, not through the work loop: the tasks by the job's creation,
then one answer per finished task (five workers, one in ten answers "neg") and its label,
written set-wise in SQL with the columns the work engine writes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import TRUTHSET, machine, timed_child, write_text_manifest

WAVES = {
    "first": ["", "/workers", "/throughput?bucket=300", "/agreement", "/autolabel"],
    "panels": [
        "/label-issues",
        "/webhook-deliveries",
        "/consolidation",
        "/api/export-formats",
        "/api/ui/jobs/big/labels?limit=50",
        "/api/teams",
    ],
    "charts": ["/charts"],
}


def build_answers(ws: object, job_id: int, done: int, workers: list[int], now: float) -> None:
    from sqlalchemy import text

    params = {"j": job_id, "n": done, "w0": workers[0], "k": len(workers), "t0": now - done * 0.5}
    with ws.db.session_scope() as s:  # type: ignore[attr-defined]
        s.execute(
            text(
                "INSERT INTO assignments (task_id, job_id, worker_id, status, leased_at, deadline,"
                " last_seen_at, ended_at, has_draft) SELECT id, job_id, :w0 + position % :k,"
                " 'submitted', :t0 + position * 0.5, :t0 + position * 0.5 + 600,"
                " :t0 + position * 0.5, :t0 + position * 0.5, 0"
                " FROM tasks WHERE job_id = :j AND position < :n"
            ),
            params,
        )
        s.execute(
            text(
                "INSERT INTO answers (assignment_id, task_id, job_id, worker_id, content,"
                " submitted_at, time_spent, excluded) SELECT a.id, a.task_id, a.job_id,"
                ' a.worker_id, CASE WHEN a.task_id % 10 = 0 THEN \'{"label": "neg"}\''
                ' ELSE \'{"label": "pos"}\' END, a.ended_at, 4.0, 0'
                " FROM assignments a WHERE a.job_id = :j ORDER BY a.id"
            ),
            params,
        )
        s.execute(
            text(
                "INSERT INTO labels (task_id, job_id, value, meta, confidence, human, reviewed,"
                ' method, created_at) SELECT id, job_id, 0, \'{"class-name": "pos"}\', 0.9,'
                " 1, 0, 'majority', :t0 + position * 0.5"
                " FROM tasks WHERE job_id = :j AND position < :n"
            ),
            params,
        )
        s.execute(
            text(
                "UPDATE tasks SET status = 'complete', answers = 1"
                " WHERE job_id = :j AND position < :n"
            ),
            params,
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--done", type=float, default=0.7)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from sqlalchemy import text
    from starlette.testclient import TestClient

    from truthset.api import tokens
    from truthset.config import load_settings
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job
    from truthset.server.app import create_app
    from truthset.workforce import service as workforce
    from truthset.workspace import open_workspace

    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "big.manifest"
        write_text_manifest(manifest, args.items)
        data = f"{tmp}/data"
        secs, _rss, _out = timed_child(
            [TRUTHSET, "dataset", "import", "big", str(manifest), "--data-dir", data]
        )
        ws = open_workspace(load_settings(Path(data)))
        t0 = time.perf_counter()
        with ws.db.session_scope() as s:
            token = tokens.issue_token(s, workforce.create_user(s, "bench", role="admin"))
            workers = [
                workforce.create_user(s, f"w{i}", role="worker", teams=["crew"]).id
                for i in range(5)
            ]
            job = create_job(
                s,
                JobCreate(
                    name="big",
                    task_type="text-classification",
                    label_config=["pos", "neg"],
                    dataset="big",
                    workers_per_item=1,
                    teams=["crew"],
                ),
            )
            job_id = job.id
        done = int(args.items * args.done)
        build_answers(ws, job_id, done, workers, time.time())
        build = time.perf_counter() - t0
        with ws.db.session_scope() as s:
            # A labels page near the job's end, by cursor (the console's "next" links).
            deep = s.execute(
                text("SELECT id FROM tasks WHERE job_id = :j AND position = :p"),
                {"j": job_id, "p": args.items - 100},
            ).scalar_one()
        WAVES["later"] = [f"/api/ui/jobs/big/labels?limit=50&after={deep}"]
        client = TestClient(create_app(ws))
        client.headers["Authorization"] = f"Bearer {token}"
        # The app's first request pays its own start (imports, caches): not the page's cost.
        assert client.get("/api/me").status_code == 200
        times: dict[str, list[float]] = {p: [] for wave in WAVES.values() for p in wave}
        for _ in range(args.repeat):
            for path in times:
                t = time.perf_counter()
                res = client.get(path if path.startswith("/api/") else f"/api/jobs/big{path}")
                times[path].append(1000 * (time.perf_counter() - t))
                assert res.status_code in (200, 404), (path, res.status_code, res.text[:300])
        charts = client.get("/api/jobs/big/charts").json()
        assert charts["progress"]["done"] == done, charts["progress"]
        ws.close()
    print(f"machine: {machine()}")
    print(
        f"job: {args.items:,} text items, {done:,} answered and labeled"
        f" (dataset imported in {secs:.1f} s, job and answers built in {build:.1f} s)"
    )
    for wave, paths in WAVES.items():
        for path in paths:
            ms = times[path]
            print(
                f"  {wave:7} {path or '(the job)':24} median {statistics.median(ms):7.1f} ms"
                f"   worst {max(ms):7.1f} ms"
            )
        total = [sum(v) for v in zip(*(times[p] for p in paths), strict=True)]
        print(f"  {wave:7} wave, one after another: median {statistics.median(total):.1f} ms")
    first = [
        sum(v) for v in zip(*(times[p] for p in WAVES["first"] + WAVES["panels"]), strict=True)
    ]
    print(
        f"job page before the charts (first two waves, one after another): median"
        f" {statistics.median(first):.1f} ms, worst {max(first):.1f} ms (target < 500 ms)"
    )


if __name__ == "__main__":
    main()
