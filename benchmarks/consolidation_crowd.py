"""Accuracy on gold of every truthset consolidation method, beside crowd-kit's.

Datasets: /work/shared/data/crowd/{product,dog,rte,web,trec,adult} and weather (see the
data README for sources). For each one we print the accuracy on the gold tasks of our
methods, of ``auto`` without gold, of ``auto`` given a 20% gold split (scored on the other
80%, mean over 5 random splits, next to no-gold ``auto`` on the same 80%), and of the
crowd-kit 1.4.2 methods run in the same process on the same rows.

crowd-kit is not a truthset dependency; it lives in its own virtualenv:

    .venv/bin/uv venv --python 3.11 benchmarks/.venv-crowdkit
    .venv/bin/uv pip install --python benchmarks/.venv-crowdkit/bin/python \\
        crowd-kit==1.4.2 'scikit-learn<1.8' numpy scipy
    .venv/bin/uv pip install --python benchmarks/.venv-crowdkit/bin/python -e . --no-deps
    benchmarks/.venv-crowdkit/bin/python benchmarks/consolidation_crowd.py

Without crowd-kit installed (or with --skip-crowdkit) only our methods run.
crowd-kit's GLAD is slow (about 60 s on rte's 8,000 answers, and it grows faster than
linearly), so it only runs on datasets with at most --glad-max-answers answers (default
10,000) and is reported as "skip" elsewhere. crowd-kit's KOS is binary-only.
Every answer row is kept (adult has repeated task/worker pairs; see
docs/quality-aggregation.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from truthset.consensus.aggregation import AGGREGATORS, AutoAggregator, encode_answers

DATA = Path("/work/shared/data")
DATASETS = {
    "product": DATA / "crowd/product",
    "dog": DATA / "crowd/dog",
    "rte": DATA / "crowd/rte",
    "web": DATA / "crowd/web",
    "trec": DATA / "crowd/trec",
    "adult": DATA / "crowd/adult",
    "weather": DATA / "weather",
}
OURS = ["mv", "wawa", "ds", "gt-mds", "onecoin", "glad"]
GOLD_FRACTION = 0.2
GOLD_SPLITS = 5
TARGET_MARGIN = 0.005


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def evaluate_ours(rows: list[dict[str, str]], gold: dict[str, str]) -> dict[str, object]:
    answers = encode_answers(
        [r["task"] for r in rows], [r["worker"] for r in rows], [r["label"] for r in rows]
    )
    assert answers.task_names is not None and answers.class_names is not None
    task_index = {t: i for i, t in enumerate(answers.task_names.tolist())}
    class_index = {c: i for i, c in enumerate(answers.class_names.tolist())}
    gold_tasks = np.array([task_index[t] for t in gold])
    gold_labels = np.array([class_index[lab] for lab in gold.values()])
    accuracy: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for name in OURS:
        start = time.perf_counter()
        predicted = AGGREGATORS[name](random_state=0).fit_predict(answers)
        seconds[name] = time.perf_counter() - start
        accuracy[name] = float(np.mean(predicted[gold_tasks] == gold_labels))
    start = time.perf_counter()
    auto = AutoAggregator(random_state=0).fit(answers)
    seconds["auto"] = time.perf_counter() - start
    accuracy["auto"] = float(np.mean(auto.labels_[gold_tasks] == gold_labels))
    with_gold, without_gold, chosen = [], [], []
    for split in range(GOLD_SPLITS):
        order = np.random.default_rng(split).permutation(len(gold_tasks))
        n_select = int(round(GOLD_FRACTION * len(order)))
        select, score = order[:n_select], order[n_select:]
        guided = AutoAggregator(random_state=0).fit(
            answers, gold_tasks[select], gold_labels[select]
        )
        chosen.append(guided.method_)
        with_gold.append(np.mean(guided.labels_[gold_tasks[score]] == gold_labels[score]))
        without_gold.append(np.mean(auto.labels_[gold_tasks[score]] == gold_labels[score]))
    return {
        "accuracy": accuracy,
        "seconds": seconds,
        "auto_method": auto.method_,
        "auto_gold_split": float(np.mean(with_gold)),
        "auto_no_gold_same_split": float(np.mean(without_gold)),
        "auto_gold_methods": chosen,
    }


def crowdkit_methods(n_answers: int, n_classes: int, glad_max: int) -> dict[str, Callable]:
    from crowdkit import aggregation as ck

    methods: dict[str, Callable] = {
        "MV": lambda: ck.MajorityVote(),
        "Wawa": lambda: ck.Wawa(),
        "DS": lambda: ck.DawidSkene(n_iter=100),
        "OneCoinDS": lambda: ck.OneCoinDawidSkene(n_iter=100),
        "MACE": lambda: ck.MACE(random_state=0),
        "ZBS": lambda: ck.ZeroBasedSkill(),
        "MMSR": lambda: ck.MMSR(random_state=0),
        "KOS": lambda: ck.KOS(random_state=0),
        "GLAD": lambda: ck.GLAD(n_iter=100),
    }
    if n_classes != 2:
        methods["KOS"] = None  # type: ignore[assignment]
    if n_answers > glad_max:
        methods["GLAD"] = None  # type: ignore[assignment]
    return methods


def evaluate_crowdkit(
    rows: list[dict[str, str]], gold: dict[str, str], glad_max: int
) -> dict[str, dict[str, object]]:
    import pandas as pd

    frame = pd.DataFrame(rows, dtype=str)
    truth = pd.Series(gold)
    results: dict[str, dict[str, object]] = {}
    methods = crowdkit_methods(len(frame), frame["label"].nunique(), glad_max)
    for name, make in methods.items():
        if make is None:
            results[name] = {"status": "n/a" if name == "KOS" else "skip"}
            continue
        start = time.perf_counter()
        try:
            predicted = make().fit_predict(frame)
        except Exception as exc:  # crowd-kit raises on some inputs; report, do not stop
            results[name] = {"status": f"error: {type(exc).__name__}: {exc}"[:120]}
            continue
        accuracy = float((predicted.reindex(truth.index) == truth).mean())
        results[name] = {"accuracy": accuracy, "seconds": time.perf_counter() - start}
        print(f"  crowd-kit {name}: {accuracy:.3f}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--skip-crowdkit", action="store_true")
    parser.add_argument("--glad-max-answers", type=int, default=10_000)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/crowd.json"))
    parser.add_argument(
        "--reuse-crowdkit",
        type=Path,
        help="take crowd-kit's figures from an earlier --json file instead of rerunning them",
    )
    args = parser.parse_args()
    try:
        import crowdkit  # noqa: F401

        have_crowdkit = not args.skip_crowdkit
    except ImportError:
        have_crowdkit = False
    earlier = json.loads(args.reuse_crowdkit.read_text()) if args.reuse_crowdkit else {}
    report: dict[str, dict[str, object]] = {}
    for name in args.datasets:
        folder = DATASETS[name]
        rows = read_rows(folder / "answers.csv")
        gold = {r["task"]: r["label"] for r in read_rows(folder / "gold.csv")}
        print(f"{name}: {len(rows):,} answers, {len(gold):,} gold tasks", flush=True)
        entry: dict[str, object] = {"ours": evaluate_ours(rows, gold)}
        if "crowdkit" in earlier.get(name, {}):
            entry["crowdkit"] = earlier[name]["crowdkit"]
        elif have_crowdkit:
            entry["crowdkit"] = evaluate_crowdkit(rows, gold, args.glad_max_answers)
        report[name] = entry
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print_tables(report)


def print_tables(report: dict[str, dict[str, object]]) -> None:
    names = list(report)
    ck_names: list[str] = []
    for entry in report.values():
        for n in entry.get("crowdkit", {}):  # type: ignore[union-attr]
            if n not in ck_names:
                ck_names.append(n)

    def ours(name: str, key: str) -> float:
        return float(report[name]["ours"][key])  # type: ignore[index]

    def ck(name: str, method: str) -> float | None:
        value = report[name].get("crowdkit", {}).get(method, {})  # type: ignore[union-attr]
        return value.get("accuracy")  # type: ignore[no-any-return]

    print("\n| method | " + " | ".join(names) + " | mean |")
    print("| --- |" + " ---: |" * (len(names) + 1))

    def row(label: str, values: list[float | None]) -> None:
        cells = ["–" if v is None else f"{v:.3f}" for v in values]
        present = [v for v in values if v is not None]
        mean = f"{np.mean(present):.3f}" if len(present) == len(values) else "–"
        print(f"| {label} | " + " | ".join(cells) + f" | {mean} |")

    for method in OURS:
        row(f"truthset {method}", [report[n]["ours"]["accuracy"][method] for n in names])  # type: ignore[index]
    row("**truthset auto (no gold)**", [report[n]["ours"]["accuracy"]["auto"] for n in names])  # type: ignore[index]
    row("auto, no gold, on the 80% split", [ours(n, "auto_no_gold_same_split") for n in names])
    row("auto, 20% gold given, on the 80%", [ours(n, "auto_gold_split") for n in names])
    for method in ck_names:
        row(f"crowd-kit {method}", [ck(n, method) for n in names])
    print(
        "\nauto picked (no gold): "
        + ", ".join(f"{n}={report[n]['ours']['auto_method']}" for n in names)
    )  # type: ignore[index]
    print(
        "auto picked (20% gold, 5 splits): "
        + ", ".join(f"{n}={'/'.join(report[n]['ours']['auto_gold_methods'])}" for n in names)
    )  # type: ignore[index]
    if not ck_names:
        return
    print("\nTargets:")
    auto = {n: float(report[n]["ours"]["accuracy"]["auto"]) for n in names}  # type: ignore[index]
    for n in names:
        best_name, best = max(
            ((m, ck(n, m)) for m in ck_names if ck(n, m) is not None), key=lambda x: x[1]
        )
        ok = auto[n] >= best - TARGET_MARGIN
        print(
            f"  {n}: auto {auto[n]:.3f} vs best crowd-kit {best_name} {best:.3f} "
            f"(- {TARGET_MARGIN}) -> {'met' if ok else 'MISSED'}"
        )
    for m in ck_names:
        ran = [n for n in names if ck(n, m) is not None]
        if not ran:
            continue
        ck_mean = float(np.mean([ck(n, m) for n in ran]))
        auto_mean = float(np.mean([auto[n] for n in ran]))
        ok = auto_mean > ck_mean
        print(
            f"  mean over {len(ran)} sets: auto {auto_mean:.4f} vs crowd-kit {m} "
            f"{ck_mean:.4f} -> {'met' if ok else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
