"""Finding wrong labels: how many of a dataset's wrong labels confident learning flags.

For each dataset, labels with real or injected errors are checked the way
`truthset job label-issues` checks a job's human labels (K-fold out-of-sample
probabilities from the platform's model, then `find_label_issues`), and the flags are
scored against the true labels: precision (flagged labels that are wrong), recall (wrong
labels that are flagged), and the error rate after a reviewer fixes the flagged ones.

- weather: 1,000 tweets, each labelled by the majority of its first 3 real crowd answers
  (real errors), TF-IDF + logistic regression;
- movie-reviews: 10,662 sentences, 10% of the true labels flipped at random, TF-IDF;
- fashion-mnist: 10,000 images, 10% of the true labels replaced by another class at
  random, the whitened patch features + the MLP the image loop trains.

    .venv/bin/python benchmarks/label_issues.py --datasets weather movie-reviews fashion-mnist
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict

import numpy as np
from threadpoolctl import threadpool_limits

from autolabel_common import SHARED_DATA, fashion_features, read_csv_rows, read_jsonl
from truthset.learning.consensus import find_label_issues, out_of_sample_proba
from truthset.learning.models import LinearClassifier, MLPProbe


def weather(rng: np.random.Generator) -> tuple[object, np.ndarray, np.ndarray, object]:
    from truthset.learning.models.text import TfidfFeaturizer

    folder = SHARED_DATA / "weather"
    items = read_jsonl(folder / "items.jsonl")
    gold = {r["task"]: r["label"] for r in read_csv_rows(folder / "gold.csv")}
    classes = sorted(set(gold.values()))
    first3: dict[str, list[str]] = defaultdict(list)
    for r in read_csv_rows(folder / "answers.csv"):
        if len(first3[r["task"]]) < 3:
            first3[r["task"]].append(r["label"])
    keep = [it for it in items if it["id"] in gold and first3.get(it["id"])]
    truth = np.array([classes.index(gold[it["id"]]) for it in keep])
    # Majority of the first three answers; ties go to the first answer given.
    given = np.array([classes.index(Counter(first3[it["id"]]).most_common(1)[0][0]) for it in keep])
    X = TfidfFeaturizer().fit_transform([it["source"] for it in keep])
    return X, truth, given, LinearClassifier(C=4.0)


def movie_reviews(rng: np.random.Generator) -> tuple[object, np.ndarray, np.ndarray, object]:
    from truthset.learning.models.text import TfidfFeaturizer

    folder = SHARED_DATA / "text/movie-reviews"
    items = read_jsonl(folder / "items.jsonl")
    gold = {r["task"]: r["label"] for r in read_csv_rows(folder / "gold.csv")}
    classes = sorted(set(gold.values()))
    truth = np.array([classes.index(gold[it["id"]]) for it in items])
    X = TfidfFeaturizer().fit_transform([it["source"] for it in items])
    return X, truth, _noisy(truth, len(classes), rng), LinearClassifier(C=4.0)


def fashion(rng: np.random.Generator) -> tuple[object, np.ndarray, np.ndarray, object]:
    X, y = fashion_features()
    pick = rng.choice(y.size, 10000, replace=False)
    truth = y[pick]
    return X[pick], truth, _noisy(truth, 10, rng), MLPProbe()


def _noisy(truth: np.ndarray, k: int, rng: np.random.Generator, rate: float = 0.1) -> np.ndarray:
    given = truth.copy()
    wrong = rng.random(truth.size) < rate
    given[wrong] = (truth[wrong] + rng.integers(1, k, wrong.sum())) % k
    return given


DATASETS = {"weather": weather, "movie-reviews": movie_reviews, "fashion-mnist": fashion}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for name in args.datasets:
        rng = np.random.default_rng(args.seed)
        t0 = time.perf_counter()
        with threadpool_limits(1):
            X, truth, given, model = DATASETS[name](rng)
            proba = out_of_sample_proba(model, X, given, n_splits=args.folds, random_state=0)
        found = find_label_issues(proba, given)
        wrong = given != truth
        flagged = found.is_issue
        fixed = np.where(flagged, found.suggested, given)
        print(
            json.dumps(
                {
                    "dataset": name,
                    "items": int(truth.size),
                    "wrong_labels": int(wrong.sum()),
                    "flagged": int(flagged.sum()),
                    "precision": round(float(wrong[flagged].mean()), 3) if flagged.any() else None,
                    "recall": round(float(flagged[wrong].mean()), 3) if wrong.any() else None,
                    "error_before": round(float(wrong.mean()), 4),
                    "error_after_review": round(
                        float((np.where(flagged, truth, given) != truth).mean()), 4
                    ),
                    "error_if_suggestions_taken": round(float((fixed != truth).mean()), 4),
                    "wall_time_s": round(time.perf_counter() - t0, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
