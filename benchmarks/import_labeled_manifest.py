"""Import of a large Ground Truth *output* manifest (every line labeled) against the same
objects without labels, in one run, through the CLI, end to end.

usage: python benchmarks/import_labeled_manifest.py [--lines 1000000]
Target (issue 12): the labeled import at no less than half the unlabeled import's lines/s,
in constant memory. Prints lines/s of both, their ratio and peak RSS.
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        unlabeled, labeled = Path(tmp) / "in.manifest", Path(tmp) / "out.manifest"
        write_manifests(unlabeled, labeled, args.lines)
        runs = {}
        for name, manifest in (("unlabeled", unlabeled), ("labeled", labeled)):
            cmd = [TRUTHSET, "dataset", "import", name, str(manifest)]
            cmd += ["--allow-root", "s3://bench-bucket", "--data-dir", f"{tmp}/data-{name}"]
            secs, rss, out = timed_child(cmd)
            result = json.loads(out)
            assert result["added"] == args.lines, result
            if name == "labeled":
                assert result["labels"]["animal"]["labels"] == args.lines, result
            runs[name] = (secs, rss, manifest.stat().st_size / 2**20)
    print(f"machine: {machine()}")
    for name, (secs, rss, size_mb) in runs.items():
        print(
            f"{name:9}: {args.lines:,} lines, {size_mb:4.0f} MB  {secs:6.2f} s  "
            f"{args.lines / secs:10,.0f} lines/s  peak RSS {rss:.0f} MB"
        )
    ratio = runs["unlabeled"][0] / runs["labeled"][0]
    print(f"labeled / unlabeled speed: {ratio:.2f} (target >= 0.50)")


if __name__ == "__main__":
    main()
