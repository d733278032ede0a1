"""Automated labeling through the real server, judged in the delivered output.

    python benchmarks/autolabel_server.py --dataset movie-reviews [--limit 4000]
    python benchmarks/autolabel_server.py --dataset fashion-mnist --worker-accuracy 0.95

Imports the items, creates a job with `--auto-label`, runs `truthset simulate --truth`
(synthetic workers answering from the true labels at a given accuracy) while the server's
embedded executor runs the auto-labeling iterations, exports the Ground Truth manifest,
and scores the `human-annotated: "no"` lines against the true labels.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from _common import TRUTHSET, machine

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def run(*args: str, data: Path) -> str:
    out = subprocess.run([TRUTHSET, *args, "--data-dir", str(data)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return out.stdout


FASHION_CLASSES = [
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle-boot",
]


def text_items(dataset: str, limit: int | None) -> tuple[list[dict], dict[str, str]]:
    folder = SHARED / ("text/movie-reviews" if dataset == "movie-reviews" else "weather")
    items = [json.loads(x) for x in (folder / "items.jsonl").read_text().splitlines()]
    items = items[:limit] if limit else items
    keep = {x["id"] for x in items}
    with open(folder / "gold.csv", newline="") as fh:
        truth = {r["task"]: r["label"] for r in csv.DictReader(fh) if r["task"] in keep}
    return items, truth


def fashion_items(folder: Path, limit: int | None) -> tuple[list[dict], dict[str, str]]:
    """Fashion-MNIST's 70,000 images written as PNG files, one manifest line each."""
    from PIL import Image

    from autolabel_common import load_fashion_mnist

    images, y = load_fashion_mnist()
    n = limit or len(images)
    folder.mkdir(parents=True)
    items, truth = [], {}
    for i in range(n):
        path = folder / f"{i:05d}.png"
        Image.fromarray(images[i], "L").save(path, compress_level=1)
        items.append({"id": f"f{i:05d}", "source-ref": str(path)})
        truth[f"f{i:05d}"] = FASHION_CLASSES[int(y[i])]
    return items, truth


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--dataset", default="movie-reviews", choices=["movie-reviews", "weather", "fashion-mnist"]
    )
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--worker-accuracy", default="0.9")
    ap.add_argument("--workers-per-item", type=int, default=3)
    ap.add_argument("--target-accuracy", type=float, default=0.95)
    ap.add_argument(
        "--replay",
        action="store_true",
        help="weather: replay the real crowd answers instead of synthetic workers",
    )
    ap.add_argument("--features", choices=["tfidf", "minilm"], default=None)
    ap.add_argument("--seed", type=int, default=0, help="the simulated workers' seed")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        manifest = Path(tmp) / "items.manifest"
        if args.dataset == "fashion-mnist":
            items, truth = fashion_items(Path(tmp) / "images", args.limit)
            task_type = "image-classification"
            os.environ["TRUTHSET_ALLOWED_ROOTS"] = str(Path(tmp) / "images")
        else:
            items, truth = text_items(args.dataset, args.limit)
            task_type = "text-classification"
        manifest.write_text("\n".join(json.dumps(x) for x in items) + "\n")
        truth_csv = Path(tmp) / "truth.csv"
        with open(truth_csv, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["task", "label"])
            w.writerows(sorted(truth.items()))
        labels = Path(tmp) / "labels.json"
        names = FASHION_CLASSES if args.dataset == "fashion-mnist" else sorted(set(truth.values()))
        labels.write_text(
            json.dumps(
                {
                    "document-version": "2018-11-28",
                    "labels": [{"label": x} for x in names],
                }
            )
        )
        settings_file = Path(tmp) / "settings.json"
        auto: dict = {"features": args.features} if args.features else {}
        settings_file.write_text(json.dumps({"auto_label": auto}))
        run("dataset", "import", "items", str(manifest), data=data)
        run(
            "job",
            "create",
            "auto",
            "--dataset",
            "items",
            "--task-type",
            task_type,
            "--labels",
            str(labels),
            "--workers-per-item",
            str(args.workers_per_item),
            "--auto-label",
            "--target-accuracy",
            str(args.target_accuracy),
            "--settings",
            str(settings_file),
            data=data,
        )
        t0 = time.perf_counter()
        if args.replay:
            # Each recorded worker becomes an account answering its own recorded answers.
            answers = SHARED / "weather" / "answers.csv"
            who = ["--answers", str(answers), "--gold", str(truth_csv)]
        else:
            who = [
                "--truth",
                str(truth_csv),
                "--workers",
                str(args.workers),
                "--worker-accuracy",
                args.worker_accuracy,
            ]
        sim = json.loads(
            run("simulate", "auto", *who, "--concurrency", "8", "--seed", str(args.seed), data=data)
        )
        seconds = time.perf_counter() - t0
        out = Path(tmp) / "out.manifest"
        run("export", "auto", "--out", str(out), data=data)
        lines = [json.loads(x) for x in out.read_text().splitlines()]
    meta = [(x["id"], x.get("auto-metadata", {})) for x in lines]
    machine_lines = [(i, m) for i, m in meta if m.get("human-annotated") == "no"]
    human_lines = [(i, m) for i, m in meta if m.get("human-annotated") == "yes"]
    correct = sum(m["class-name"] == truth[i] for i, m in machine_lines)
    human_correct = sum(m.get("class-name") == truth[i] for i, m in human_lines)
    n = len(lines)
    print(f"machine: {machine()}")
    print(
        f"dataset: {args.dataset}, {n:,} items, "
        + (
            "the recorded crowd answers replayed"
            if args.replay
            else f"{args.workers} simulated workers at accuracy {args.worker_accuracy}"
        )
        + f", {args.workers_per_item} per item, target {args.target_accuracy}, "
        f"features {args.features or 'default'}"
    )
    print(
        f"auto-labeled: {len(machine_lines):,} ({len(machine_lines) / n:.1%}); realised "
        f"accuracy {correct / max(1, len(machine_lines)):.4f}"
    )
    print(
        f"human-labeled: {len(human_lines):,}, "
        f"accuracy {human_correct / max(1, len(human_lines)):.4f}"
    )
    print(
        f"human answers: {sim['answers']:,} (by hand: {n * args.workers_per_item:,}); "
        f"wall time {seconds:.0f} s"
    )


if __name__ == "__main__":
    main()
