"""Import of a large Ground Truth *output* manifest (every line labeled) against the same
objects without labels, in one run, through the CLI, end to end.

usage: python benchmarks/import_labeled_manifest.py [--lines 1000000] [--rounds 1]
Target (issue 12): the labeled import at no less than half the unlabeled import's lines/s,
in constant memory. Prints lines/s of both, their ratio, the CPU seconds each used (the
import and its checking process: on a machine others load, the CPU ratio moves less than
the wall-clock one), the load average and peak RSS. With --rounds N the two imports run
N times, alternating, and the ratio is of the best of each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
from pathlib import Path

from _common import TRUTHSET, machine, timed_child

CLASSES = ["cat", "dog", "bird", "fish"]


def write_manifests(unlabeled: Path, labeled: Path, n: int) -> None:
    """The same n image objects, once as an input manifest, once as Ground Truth's output
    manifest of a 4-class image-classification job (one line in ten machine-labeled)."""
    with open(unlabeled, "w") as plain, open(labeled, "w") as out:
        for i in range(n):
            line = {"source-ref": f"s3://bench-bucket/images/{i:08d}.jpg", "id": f"img-{i:08d}"}
            plain.write(json.dumps(line) + "\n")
            class_id = (i * 7) % len(CLASSES)
            line["animal"] = class_id
            line["animal-metadata"] = {
                "class-name": CLASSES[class_id],
                "confidence": 0.5 + (i % 50) / 100,
                "type": "groundtruth/image-classification",
                "job-name": "labeling-job/animals",
                "human-annotated": "no" if i % 10 == 0 else "yes",
                "creation-date": f"2021-03-0{1 + i % 9}T12:{i % 60:02d}:13.527256",
            }
            out.write(json.dumps(line) + "\n")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    runs: dict[str, list[tuple[float, float, float, float]]] = {"unlabeled": [], "labeled": []}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        unlabeled, labeled = Path(tmp) / "in.manifest", Path(tmp) / "out.manifest"
        write_manifests(unlabeled, labeled, args.lines)
        for _round in range(args.rounds):
            for name, manifest in (("unlabeled", unlabeled), ("labeled", labeled)):
                data_dir = f"{tmp}/data-{name}"
                shutil.rmtree(data_dir, ignore_errors=True)
                cmd = [TRUTHSET, "dataset", "import", name, str(manifest)]
                cmd += ["--allow-root", "s3://bench-bucket", "--data-dir", data_dir]
                cpu_before = _children_cpu()
                secs, rss, out = timed_child(cmd)
                cpu = _children_cpu() - cpu_before
                result = json.loads(out)
                assert result["added"] == args.lines, result
                if name == "labeled":
                    assert result["labels"]["animal"]["labels"] == args.lines, result
                runs[name].append((secs, cpu, rss, manifest.stat().st_size / 2**20))
                loads.append(os.getloadavg()[0])
    print(f"machine: {machine()}")
    print(f"load average (1 min) during the runs: {min(loads):.1f} to {max(loads):.1f}")
    best = {}
    for name, measured in runs.items():
        secs, cpu, rss, size_mb = min(measured)
        best[name] = (secs, min(m[1] for m in measured))
        print(
            f"{name:9}: {args.lines:,} lines, {size_mb:4.0f} MB  {secs:6.2f} s  "
            f"{args.lines / secs:10,.0f} lines/s  CPU {best[name][1]:6.2f} s  "
            f"peak RSS {max(m[2] for m in measured):.0f} MB"
        )
    ratio = best["unlabeled"][0] / best["labeled"][0]
    cpu_ratio = best["unlabeled"][1] / best["labeled"][1]
    print(f"labeled / unlabeled speed: {ratio:.2f} (target >= 0.50); by CPU used: {cpu_ratio:.2f}")


if __name__ == "__main__":
    main()
