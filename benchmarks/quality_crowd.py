"""Accuracy and calibration of classification consolidation on the public crowd sets,
beside crowd-kit 1.4.2 run in the same process on the same rows (issue 16).

For each dataset (/work/shared/data/crowd/* and weather): accuracy on gold of every
truthset method; of ``auto`` without gold (the method it chose, the expected calibration
error of its confidences before and after calibration); of ``auto`` given 20% of the gold
(scored on the other 80%, mean of 5 random splits: accuracy and ECE on the 80%); and of
crowd-kit's methods. crowd-kit needs scikit-learn < 1.8, so it lives in its own venv:

    .venv/bin/uv venv --python 3.11 benchmarks/.venv-crowdkit
    .venv/bin/uv pip install --python benchmarks/.venv-crowdkit/bin/python \\
        crowd-kit==1.4.2 'scikit-learn<1.8' numpy scipy
    .venv/bin/uv pip install --python benchmarks/.venv-crowdkit/bin/python -e . --no-deps
    benchmarks/.venv-crowdkit/bin/python benchmarks/quality_crowd.py

``--reuse-crowdkit FILE`` takes crowd-kit's figures from an earlier ``--json`` (they do not
depend on our code); without crowd-kit only our side runs.
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
from truthset.consensus.aggregation.calibration import expected_calibration_error

DATA = Path("/work/shared/data")
DATASETS = {name: DATA / "crowd" / name for name in ("product", "dog", "rte", "web", "trec")}
DATASETS |= {"adult": DATA / "crowd/adult", "weather": DATA / "weather"}
OURS = [name for name in AGGREGATORS if name != "auto"]
MARGIN = 0.005


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def ece(posteriors: np.ndarray, tasks: np.ndarray, gold: np.ndarray, labels: np.ndarray) -> float:
    """ECE of the confidence given to each task's label (its posterior's entry)."""
    right = labels[tasks] == gold
    return expected_calibration_error(posteriors[tasks, labels[tasks]], right)


def evaluate_ours(rows: list[dict[str, str]], gold: dict[str, str]) -> dict[str, object]:
    answers = encode_answers(
        [r["task"] for r in rows], [r["worker"] for r in rows], [r["label"] for r in rows]
    )
    assert answers.task_names is not None and answers.class_names is not None
    task_index = {t: i for i, t in enumerate(answers.task_names.tolist())}
    class_index = {c: i for i, c in enumerate(answers.class_names.tolist())}
    tasks = np.array([task_index[t] for t in gold])
    labels = np.array([class_index[v] for v in gold.values()])
    accuracy, seconds = {}, {}
    for name in OURS:
        start = time.perf_counter()
        predicted = AGGREGATORS[name](random_state=0).fit_predict(answers)
        seconds[name] = time.perf_counter() - start
        accuracy[name] = float(np.mean(predicted[tasks] == labels))
    start = time.perf_counter()
    auto = AutoAggregator(random_state=0).fit(answers)
    seconds["auto"] = time.perf_counter() - start
    accuracy["auto"] = float(np.mean(auto.labels_[tasks] == labels))
    split_rows = []
    for split in range(5):
        order = np.random.default_rng(split).permutation(len(tasks))
        chosen, scored = order[: len(order) // 5], order[len(order) // 5 :]
        guided = AutoAggregator(random_state=0).fit(answers, tasks[chosen], labels[chosen])
        split_rows.append(
            {
                "method": guided.method_,
                "accuracy": float(np.mean(guided.labels_[tasks[scored]] == labels[scored])),
                "no_gold_accuracy": float(np.mean(auto.labels_[tasks[scored]] == labels[scored])),
                "ece": ece(guided.posteriors_, tasks[scored], labels[scored], guided.labels_),
                "no_gold_ece": ece(auto.posteriors_, tasks[scored], labels[scored], auto.labels_),
            }
        )
    return {
        "accuracy": accuracy,
        "seconds": seconds,
        "auto_method": auto.method_,
        "auto_report": auto.report_,
        "auto_temperature": auto.temperature_,
        "auto_confidence_model": auto.confidence_model_,
        "auto_ece_raw": ece(auto.estimator_.posteriors_, tasks, labels, auto.labels_),
        "auto_ece": ece(auto.posteriors_, tasks, labels, auto.labels_),
        "gold_splits": split_rows,
    }


def crowdkit_methods(n_answers: int, glad_max: int) -> dict[str, Callable | None]:
    from crowdkit import aggregation as ck

    return {
        "MV": ck.MajorityVote,
        "Wawa": ck.Wawa,
        "DS": lambda: ck.DawidSkene(n_iter=100),
        "OneCoinDS": lambda: ck.OneCoinDawidSkene(n_iter=100),
        "MACE": lambda: ck.MACE(random_state=0),
        "ZBS": ck.ZeroBasedSkill,
        "GLAD": (lambda: ck.GLAD(n_iter=100)) if n_answers <= glad_max else None,
    }


def evaluate_crowdkit(
    rows: list[dict[str, str]], gold: dict[str, str], glad_max: int
) -> dict[str, dict[str, object]]:
    import pandas as pd

    frame = pd.DataFrame(rows, dtype=str)
    truth = pd.Series(gold)
    out: dict[str, dict[str, object]] = {}
    for name, make in crowdkit_methods(len(frame), glad_max).items():
        if make is None:
            out[name] = {"status": "skip"}
            continue
        start = time.perf_counter()
        try:
            predicted = make().fit_predict(frame)
        except Exception as exc:  # report crowd-kit's failures, do not stop
            out[name] = {"status": f"error: {type(exc).__name__}: {exc}"[:120]}
            continue
        out[name] = {
            "accuracy": float((predicted.reindex(truth.index) == truth).mean()),
            "seconds": time.perf_counter() - start,
        }
        print(f"  crowd-kit {name}: {out[name]['accuracy']:.3f}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--skip-crowdkit", action="store_true")
    parser.add_argument("--glad-max-answers", type=int, default=10_000)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/quality_crowd.json"))
    parser.add_argument("--reuse-crowdkit", type=Path)
    args = parser.parse_args()
    try:
        import crowdkit  # noqa: F401

        have_crowdkit = not args.skip_crowdkit
    except ImportError:
        have_crowdkit = False
    earlier = json.loads(args.reuse_crowdkit.read_text()) if args.reuse_crowdkit else {}
    report: dict[str, dict[str, object]] = {}
    for name in args.datasets:
        rows = read_rows(DATASETS[name] / "answers.csv")
        gold = {r["task"]: r["label"] for r in read_rows(DATASETS[name] / "gold.csv")}
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
    ck_names = sorted({m for e in report.values() for m in e.get("crowdkit", {})})  # type: ignore[union-attr]

    def ck(name: str, method: str) -> float | None:
        return report[name].get("crowdkit", {}).get(method, {}).get("accuracy")  # type: ignore[union-attr, no-any-return]

    def ours(name: str) -> dict:
        return report[name]["ours"]  # type: ignore[return-value]

    def row(label: str, values: list[float | None], digits: int = 3) -> None:
        cells = ["–" if v is None else f"{v:.{digits}f}" for v in values]
        present = [v for v in values if v is not None]
        mean = f"{np.mean(present):.{digits}f}" if len(present) == len(values) else "–"
        print(f"| {label} | " + " | ".join(cells) + f" | {mean} |")

    print("\n| method | " + " | ".join(names) + " | mean |")
    print("| --- |" + " ---: |" * (len(names) + 1))
    for method in OURS:
        row(f"truthset {method}", [ours(n)["accuracy"][method] for n in names])
    row("**truthset auto, no gold**", [ours(n)["accuracy"]["auto"] for n in names])
    split = {n: ours(n)["gold_splits"] for n in names}
    row(
        "auto, no gold, on the 80%",
        [np.mean([s["no_gold_accuracy"] for s in split[n]]) for n in names],
    )
    row("auto, 20% gold, on the 80%", [np.mean([s["accuracy"] for s in split[n]]) for n in names])
    for method in ck_names:
        row(f"crowd-kit {method}", [ck(n, method) for n in names])
    print(
        "\nauto chose (confidence model): "
        + ", ".join(
            f"{n} {ours(n)['auto_method']} ({ours(n).get('auto_confidence_model', '-')})"
            for n in names
        )
    )
    print("\n| calibration (ECE) | " + " | ".join(names) + " | mean |")
    print("| --- |" + " ---: |" * (len(names) + 1))
    row("auto, the chosen method's own scores", [ours(n)["auto_ece_raw"] for n in names])
    row("auto, calibrated without gold", [ours(n)["auto_ece"] for n in names])
    row("auto, no gold, on the 80%", [np.mean([s["no_gold_ece"] for s in split[n]]) for n in names])
    row(
        "auto, 20% gold (T from gold), on the 80%",
        [np.mean([s["ece"] for s in split[n]]) for n in names],
    )
    if not ck_names:
        return
    print("\nTargets:")
    auto = {n: float(ours(n)["accuracy"]["auto"]) for n in names}
    for n in names:
        best_name, best = max(
            ((m, ck(n, m)) for m in ck_names if ck(n, m) is not None), key=lambda x: x[1]
        )  # type: ignore[arg-type, return-value]
        print(
            f"  {n}: auto {auto[n]:.3f} vs crowd-kit {best_name} {best:.3f} -> "
            + ("met" if auto[n] >= best - MARGIN else "MISSED")
        )
    full = [m for m in ck_names if all(ck(n, m) is not None for n in names)]
    best_mean = max(float(np.mean([ck(n, m) for n in names])) for m in full)  # type: ignore[misc]
    auto_mean = float(np.mean(list(auto.values())))
    verdict = "met" if auto_mean >= best_mean + 0.01 else "MISSED"
    print(
        f"  mean: auto {auto_mean:.4f} vs best crowd-kit mean {best_mean:.4f} + 0.01 -> {verdict}"
    )


if __name__ == "__main__":
    main()
