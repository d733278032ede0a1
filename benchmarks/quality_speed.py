"""Speed of the new estimators beside crowd-kit 1.4.2, and of the whole ``auto``
selection on a million answers (issue 16).

1. MACE and zero-based skill (and DS for reference) on a synthetic crowd of
   ``--compare-tasks`` tasks x 10 answers, ours and crowd-kit's, same rows, same process
   (crowd-kit needs its own venv: see benchmarks/quality_crowd.py).
2. ``auto`` (every candidate scored by held-out answer likelihood, the chosen one
   calibrated) on 100,000 tasks x 10 answers = 1,000,000 answers, 1,000 workers,
   4 classes: wall time, CPU time of this process, peak resident memory.

    benchmarks/.venv-crowdkit/bin/python benchmarks/quality_speed.py
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

from truthset.consensus.aggregation import AGGREGATORS, AutoAggregator
from truthset.consensus.aggregation.simulate import simulate_crowd


def crowd(n_tasks: int, n_workers: int):  # type: ignore[no-untyped-def]
    return simulate_crowd(
        n_tasks=n_tasks,
        n_workers=n_workers,
        n_classes=4,
        answers_per_task=10,
        skill_range=(0.35, 0.95),
        spammer_fraction=0.1,
        random_state=0,
    )


def timed(call):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = call()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def compare(n_tasks: int) -> None:
    c = crowd(n_tasks, 300)
    a = c.answers
    print(f"\n{a.n_answers:,} answers, {a.n_workers} workers, 4 classes")
    print(
        "| method | truthset wall (CPU) | accuracy | crowd-kit wall (CPU) | accuracy | speed-up |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    try:
        import pandas as pd
        from crowdkit import aggregation as ck
    except ImportError:
        ck = None
    frame = None
    if ck is not None:
        frame = pd.DataFrame({"task": a.tasks, "worker": a.workers, "label": a.labels})
    pairs = {
        "mace": lambda: ck.MACE(random_state=0),
        "zbs": lambda: ck.ZeroBasedSkill(),
        "ds": lambda: ck.DawidSkene(n_iter=100),
    }
    for name, make in pairs.items():
        ours, wall, cpu = timed(lambda name=name: AGGREGATORS[name](random_state=0).fit(a))
        acc = float(np.mean(ours.labels_ == c.truth))
        if ck is None or frame is None:
            print(f"| {name} | {wall:.2f} s ({cpu:.2f} s) | {acc:.4f} | – | – | – |")
            continue
        theirs, ck_wall, ck_cpu = timed(lambda make=make: make().fit_predict(frame))
        ck_acc = float(np.mean(theirs.sort_index().to_numpy() == c.truth))
        print(
            f"| {name} | {wall:.2f} s ({cpu:.2f} s) | {acc:.4f} | {ck_wall:.2f} s "
            f"({ck_cpu:.2f} s) | {ck_acc:.4f} | {ck_wall / wall:.0f}x wall, "
            f"{ck_cpu / cpu:.0f}x CPU |",
            flush=True,
        )


def auto_on_a_million() -> None:
    c = crowd(100_000, 1000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    auto, wall, cpu = timed(lambda: AutoAggregator(random_state=0).fit(c.answers))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\nauto on {c.answers.n_answers:,} answers: {wall:.2f} s wall, {cpu:.2f} s CPU")
    print(f"  chose {auto.method_}, accuracy {np.mean(auto.labels_ == c.truth):.4f}")
    print(f"  peak RSS {peak:.2f} GiB (before auto {before:.2f} GiB)")
    print(
        f"  folds fitted {auto.criterion_['folds_fitted']}, answers scored "
        f"{auto.criterion_['answers_scored']:,}, temperature {auto.temperature_:.3f}"
    )
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compare-tasks", type=int, default=10_000)
    parser.add_argument("--skip-compare", action="store_true")
    args = parser.parse_args()
    if not args.skip_compare:
        compare(args.compare_tasks)
    auto_on_a_million()


if __name__ == "__main__":
    main()
