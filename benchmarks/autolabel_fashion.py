"""Auto-labeling Fashion-MNIST (70,000 images) with simulated workers.

Prints, per seed: share auto-labelled, realised accuracy of the auto labels against the
true labels, human answers used vs labelling everything by hand, wall time; then the
share of seeds whose auto labels reach the target accuracy.

    .venv/bin/python benchmarks/autolabel_fashion.py                  # full, 1 seed
    .venv/bin/python benchmarks/autolabel_fashion.py --seeds 20
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from threadpoolctl import threadpool_limits

from autolabel_common import fashion_features
from truthset.learning import AutolabelSettings, simulate_autolabel
from truthset.learning.models import LinearClassifier, MLPProbe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=70000, help="random subset size (70000 = all)")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--strategy", default="margin")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--worker-accuracy", type=float, default=0.95)
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--C", type=float, default=0.05)
    ap.add_argument("--model", choices=["linear", "mlp"], default="mlp")
    ap.add_argument("--initial-batch", type=int, default=1000)
    ap.add_argument("--plateau-gain", type=float, default=0.005)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    with threadpool_limits(1):
        X, y = fashion_features()
    print(f"# features {X.shape} ready in {time.perf_counter() - t0:.1f} s")
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        rng = np.random.default_rng(1000 + seed)
        idx = np.sort(rng.choice(y.size, size=min(args.items, y.size), replace=False))
        settings = AutolabelSettings(
            target_accuracy=args.target, batch_size=args.batch_size, strategy=args.strategy
        )
        with threadpool_limits(1):
            res = simulate_autolabel(
                X[idx],
                y[idx],
                workers_per_item=args.workers,
                worker_accuracy=args.worker_accuracy,
                settings=settings,
                model=LinearClassifier(C=args.C) if args.model == "linear" else MLPProbe(),
                initial_batch=args.initial_batch,
                plateau_gain=args.plateau_gain,
                random_state=seed,
            )
        row = {"seed": seed, **res.summary()}
        rows.append(row)
        print(json.dumps(row))
        if args.verbose:
            for h in res.iterations:
                print("   ", json.dumps(h))
    acc = np.array([r["auto_accuracy"] for r in rows])
    share = np.array([r["auto_share"] for r in rows])
    answers = np.array([r["human_answers"] / r["human_answers_all_by_hand"] for r in rows])
    print(
        json.dumps(
            {
                "seeds": len(rows),
                "items": int(min(args.items, y.size)),
                "auto_share_mean": round(float(share.mean()), 4),
                "auto_share_min": round(float(share.min()), 4),
                "auto_accuracy_mean": round(float(np.nanmean(acc)), 4),
                "auto_accuracy_min": round(float(np.nanmin(acc)), 4),
                "seeds_meeting_target": f"{int((acc >= args.target).sum())}/{len(rows)}",
                "human_answers_share": round(float(answers.mean()), 4),
                "wall_time_per_seed_s": round(float(np.mean([r["wall_time_s"] for r in rows])), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
