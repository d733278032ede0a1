"""Speed on a million answers: our Dawid-Skene vs crowd-kit's, and our GLAD.

Synthetic crowd: 100,000 tasks x 10 answers = 1,000,000 answers by 1,000 workers, 4
classes, worker skill uniform in [0.35, 0.95], 10% spammers (uniformly random answers).
Both Dawid-Skene implementations get the same rows (crowd-kit as a pandas frame, built
before its timer starts) and run at most 100 EM iterations. Targets: our DS >= 5x faster
at equal accuracy; our GLAD < 60 s.

Run with the crowd-kit virtualenv described in benchmarks/consolidation_crowd.py:

    benchmarks/.venv-crowdkit/bin/python benchmarks/consolidation_speed.py

Without crowd-kit only our methods are timed.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

from truthset.consensus.aggregation import GLAD, DawidSkene, MajorityVote
from truthset.consensus.aggregation.simulate import simulate_crowd


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def timed(label: str, fit, truth: np.ndarray) -> tuple[float, float]:
    start = time.perf_counter()
    predicted = fit()
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(np.asarray(predicted) == truth))
    print(
        f"{label:<28} {seconds:8.2f} s   accuracy {accuracy:.4f}   "
        f"peak RSS {peak_rss_gib():.2f} GiB",
        flush=True,
    )
    return seconds, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--skip-crowdkit", action="store_true")
    args = parser.parse_args()
    crowd = simulate_crowd(
        n_tasks=args.tasks,
        n_workers=1_000,
        n_classes=4,
        answers_per_task=10,
        skill_range=(0.35, 0.95),
        spammer_fraction=0.1,
        random_state=0,
    )
    answers, truth = crowd.answers, crowd.truth
    print(
        f"{answers.n_answers:,} answers, {answers.n_tasks:,} tasks, {answers.n_workers:,} "
        f"workers, {answers.n_classes} classes; {os.cpu_count()} CPUs"
    )
    timed("truthset mv", lambda: MajorityVote().fit_predict(answers), truth)
    ours = DawidSkene(max_iter=100)
    ds_seconds, ds_accuracy = timed("truthset ds", lambda: ours.fit_predict(answers), truth)
    print(f"  ({ours.n_iter_} iterations)")
    glad = GLAD()
    timed("truthset glad", lambda: glad.fit_predict(answers), truth)
    print(f"  ({glad.n_iter_} iterations)")
    if args.skip_crowdkit:
        return
    try:
        import pandas as pd
        from crowdkit.aggregation import DawidSkene as CrowdKitDawidSkene
    except ImportError:
        print("crowd-kit not installed: skipped")
        return
    frame = pd.DataFrame(
        {"task": answers.tasks, "worker": answers.workers, "label": answers.labels}
    )
    theirs = CrowdKitDawidSkene(n_iter=100)
    ck_seconds, ck_accuracy = timed(
        "crowd-kit DawidSkene",
        lambda: theirs.fit_predict(frame).reindex(np.arange(answers.n_tasks)).to_numpy(),
        truth,
    )
    print(
        f"speed-up {ck_seconds / ds_seconds:.1f}x; accuracy difference "
        f"{ds_accuracy - ck_accuracy:+.4f} (each with its own stopping rule)"
    )
    # crowd-kit stops when the per-answer ELBO gains < 1e-5, usually after a few
    # iterations; ours stops when no posterior moves by more than 1e-6. Same work:
    ck_iterations = len(theirs.loss_history_)
    print(f"crowd-kit ran {ck_iterations} EM iterations; ours with the same number:")
    same = DawidSkene(max_iter=ck_iterations)
    same_seconds, same_accuracy = timed(
        f"truthset ds, {ck_iterations} iterations", lambda: same.fit_predict(answers), truth
    )
    print(
        f"speed-up {ck_seconds / same_seconds:.1f}x; accuracy difference "
        f"{same_accuracy - ck_accuracy:+.4f} (same number of iterations)"
    )


if __name__ == "__main__":
    main()
