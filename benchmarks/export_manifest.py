"""Export of a large labeled job to a Ground Truth output manifest, through the CLI.

usage: python benchmarks/export_manifest.py [--lines 1000000]
Target (issue 2): >= 100,000 lines/s with flat memory. The labels are written straight
into the store (as consolidation would) so that only the export is measured.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from _common import TRUTHSET, machine, timed_child, write_text_manifest
from truthset.config import load_settings
from truthset.datasets.importer import import_source
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import create_job
from truthset.workspace import open_workspace


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "big.manifest"
        write_text_manifest(manifest, args.lines)
        ws = open_workspace(load_settings(Path(tmp) / "data"))
        with ws.db.session_scope() as s:
            import_source(s, "big", str(manifest), allowed_roots=[])
            job = create_job(
                s,
                JobCreate(
                    name="big",
                    task_type="text-classification",
                    label_config=["rainy", "sunny"],
                    dataset="big",
                ),
            )
            now = time.time()
            meta = json.dumps({"class-name": "sunny", "confidence": 0.93})
            s.execute(
                text(
                    "INSERT INTO labels (task_id, job_id, value, meta, confidence, human, "
                    "reviewed, method, created_at) "
                    "SELECT id, job_id, '1', :m, 0.93, 1, 0, 'majority-vote', "
                    ":now FROM tasks WHERE job_id = :j"
                ),
                {"m": meta, "now": now, "j": job.id},
            )
            s.execute(text("UPDATE tasks SET status = 'complete' WHERE job_id = :j"), {"j": job.id})
        ws.close()
        out = Path(tmp) / "out.manifest"
        secs, rss, _ = timed_child(
            [TRUTHSET, "export", "big", "--out", str(out), "--data-dir", f"{tmp}/data"]
        )
        with open(out, "rb") as fh:
            first = json.loads(fh.readline())
            n = 1 + sum(1 for _ in fh)
        assert n == args.lines and first["big-metadata"]["class-name"] == "sunny", first
        size_mb = out.stat().st_size / 2**20
    print(f"machine: {machine()}")
    print(
        f"export: {args.lines:,} lines ({size_mb:.0f} MB) in {secs:.2f} s = "
        f"{args.lines / secs:,.0f} lines/s (process start included), peak RSS {rss:.0f} MB"
    )


if __name__ == "__main__":
    main()
