"""Auto-labeling text: movie-review polarity (simulated workers) and weather tweets (the
real crowd answers replayed).

    .venv/bin/python benchmarks/autolabel_text.py --dataset movie-reviews --features tfidf
    .venv/bin/python benchmarks/autolabel_text.py --dataset weather --features minilm --workers 3
    .venv/bin/python benchmarks/autolabel_text.py --features minilm-finetune \
        --worker-accuracy 0.9 --batch-size 1000 --seeds 2

``minilm-finetune`` is the model a job with ``features: "minilm-finetune"`` trains
(`MiniLMUpperLayersClassifier` on MiniLM's frozen lower layers, computed once and kept
under /tmp); every iteration's training and prediction times are printed.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from autolabel_common import CACHE_DIR, SHARED_DATA, cached, read_csv_rows, read_jsonl
from truthset.learning import AutolabelSettings, replayed_answers, simulate_autolabel
from truthset.learning.models import LinearClassifier


def load(dataset: str) -> tuple[list[str], np.ndarray, list[str], list[dict[str, str]] | None]:
    folder = SHARED_DATA / ("text/movie-reviews" if dataset == "movie-reviews" else "weather")
    items = read_jsonl(folder / "items.jsonl")
    gold = {r["task"]: r["label"] for r in read_csv_rows(folder / "gold.csv")}
    classes = sorted(set(gold.values()))
    y = np.array([classes.index(gold[it["id"]]) for it in items])
    answers = read_csv_rows(folder / "answers.csv") if dataset == "weather" else None
    return [it["source"] for it in items], y, classes, answers


def lower_layer_states(texts: list[str], dataset: str, trainable_layers: int) -> Any:
    """MiniLM's frozen lower layers over every text, once (joblib under /tmp: a ragged
    object array, one float16 (tokens, 384) array per text)."""
    import joblib

    from truthset.learning.models.finetune import MiniLMLowerLayers

    path = CACHE_DIR / f"{dataset}-minilm-lower{6 - trainable_layers}-len64-{len(texts)}.joblib"
    if path.exists():
        return joblib.load(path)
    t0 = time.perf_counter()
    states = MiniLMLowerLayers(trainable_layers=trainable_layers).transform(texts)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    joblib.dump(states, path)
    print(f"# computed the lower layers for {len(texts)} texts in {time.perf_counter() - t0:.1f} s")
    return states


# (human labels trained on, fit seconds, predict seconds) per fit, across the deep copies
# the loop makes of the model.
TIMES: list[list[float]] = []


class TimedFineTuned:
    """The job's fine-tuned model, with each fit's training and prediction time kept in
    TIMES (the loop fits a copy of the model each iteration)."""

    def __init__(self, **params: Any) -> None:
        self.params = params

    def fit(self, X: Any, y: Any) -> TimedFineTuned:
        from truthset.learning.models.finetune import MiniLMUpperLayersClassifier

        t0 = time.perf_counter()
        self.model_ = MiniLMUpperLayersClassifier(**self.params).fit(X, y)
        self.classes_ = self.model_.classes_
        if TIMES:  # the previous iteration is over: say how long it took
            n, fit_s, predict_s = TIMES[-1]
            print(f"# trained on {n:.0f}: fit {fit_s:.1f} s, predict {predict_s:.1f} s", flush=True)
        TIMES.append([float(len(y)), time.perf_counter() - t0, 0.0])
        self.row_ = len(TIMES) - 1
        return self

    def predict_proba(self, X: Any) -> Any:
        t0 = time.perf_counter()
        proba = self.model_.predict_proba(X)
        TIMES[self.row_][2] += time.perf_counter() - t0
        return proba


def features(texts: list[str], kind: str, dataset: str, trainable_layers: int = 2) -> Any:
    if kind == "minilm-finetune":
        return lower_layer_states(texts, dataset, trainable_layers)
    if kind == "tfidf":
        from truthset.learning.models.text import TfidfFeaturizer

        return TfidfFeaturizer().fit(texts).transform(texts)
    from truthset.learning.models.text import MiniLMFeaturizer

    return cached(
        f"{dataset}-minilm", {"n": len(texts), "v": 1}, lambda: MiniLMFeaturizer().transform(texts)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", choices=["movie-reviews", "weather"], default="movie-reviews")
    ap.add_argument("--features", choices=["tfidf", "minilm", "minilm-finetune"], default="tfidf")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--worker-accuracy", type=float, default=0.95)
    ap.add_argument("--C", type=float, default=None)
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument(
        "--validation-workers",
        type=int,
        default=None,
        help="answers per validation item (default: the loop's, 2 more from 3 workers on)",
    )
    ap.add_argument(
        "--validation-share", type=float, default=None, help="default: Ground Truth's rule"
    )
    ap.add_argument("--commit-policy", choices=["spending", "plateau", "each"], default="spending")
    ap.add_argument("--seed-start", type=int, default=0)
    ap.add_argument("--trainable-layers", type=int, default=2, help="minilm-finetune")
    ap.add_argument("--epochs", type=int, default=3, help="minilm-finetune")
    ap.add_argument(
        "--max-train-seconds", type=float, default=180.0, help="minilm-finetune, per fit"
    )
    args = ap.parse_args()

    import torch

    torch.set_num_threads(2)
    texts, y, classes, answers = load(args.dataset)
    t0 = time.perf_counter()
    X = features(texts, args.features, args.dataset, args.trainable_layers)
    print(
        f"# {args.dataset}: {len(texts)} items, {len(classes)} classes, "
        f"{args.features} features {X.shape} in {time.perf_counter() - t0:.1f} s"
    )
    model: Any
    if args.features == "minilm-finetune":
        model = TimedFineTuned(
            trainable_layers=args.trainable_layers,
            epochs=args.epochs,
            max_train_seconds=args.max_train_seconds,
        )
    batch = args.batch_size or (500 if args.dataset == "movie-reviews" else 50)
    C = args.C or (4.0 if args.features == "tfidf" else 1.0)
    if args.features != "minilm-finetune":
        model = LinearClassifier(C=C)
    source = None
    if answers is not None:
        ids = [r["id"] for r in read_jsonl(SHARED_DATA / "weather/items.jsonl")]
        id_to_i = {item_id: i for i, item_id in enumerate(ids)}
        a_items = np.array([id_to_i[r["task"]] for r in answers])
        a_workers = np.array([r["worker"] for r in answers])
        a_labels = np.array([classes.index(r["label"]) for r in answers])
        source = replayed_answers(a_items, a_workers, a_labels, workers_per_item=args.workers)
    rows = []
    for seed in range(args.seed_start, args.seed_start + args.seeds):
        TIMES.clear()
        with threadpool_limits(1):
            res = simulate_autolabel(
                X,
                y,
                n_classes=len(classes),
                workers_per_item=args.workers,
                worker_accuracy=args.worker_accuracy,
                settings=AutolabelSettings(
                    batch_size=batch,
                    target_accuracy=args.target,
                    validation_workers_per_item=args.validation_workers,
                    validation_share=args.validation_share,
                ),
                commit_policy=args.commit_policy,
                model=model,
                answer_source=source,
                random_state=seed,
            )
        rows.append({"seed": seed, **res.summary()})
        for step, (n_train, fit_s, predict_s) in zip(res.iterations, TIMES, strict=False):
            print(
                json.dumps(
                    {
                        **step,
                        "trained_on": int(n_train),
                        "fit_s": round(fit_s, 1),
                        "predict_s": round(predict_s, 1),
                    }
                )
            )
        if TIMES:
            rows[-1]["iteration_s_max"] = round(max(f + p for _, f, p in TIMES), 1)
        print(json.dumps(rows[-1]), flush=True)
    acc = np.array([r["auto_accuracy"] for r in rows], dtype=float)
    share = np.array([r["auto_share"] for r in rows])
    print(
        json.dumps(
            {
                "dataset": args.dataset,
                "features": args.features,
                "commit_policy": args.commit_policy,
                "seeds": len(rows),
                "auto_share_mean": round(float(share.mean()), 4),
                "auto_accuracy_mean": round(
                    float(np.nanmean(acc)) if np.isfinite(acc).any() else float("nan"), 4
                ),
                "auto_accuracy_min": round(
                    float(np.nanmin(acc)) if np.isfinite(acc).any() else float("nan"), 4
                ),
                "target": args.target,
                "seeds_meeting_target": f"{int((acc >= args.target).sum())}/{len(rows)}",
                "human_answers_share": round(
                    float(
                        np.mean([r["human_answers"] / r["human_answers_all_by_hand"] for r in rows])
                    ),
                    4,
                ),
                "wall_time_per_seed_s": round(float(np.mean([r["wall_time_s"] for r in rows])), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
