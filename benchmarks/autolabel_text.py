"""Auto-labeling text: movie-review polarity (simulated workers) and weather tweets (the
real crowd answers replayed).

    .venv/bin/python benchmarks/autolabel_text.py --dataset movie-reviews --features tfidf
    .venv/bin/python benchmarks/autolabel_text.py --dataset weather --features minilm --workers 3
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from threadpoolctl import threadpool_limits

from autolabel_common import SHARED_DATA, cached, read_csv_rows, read_jsonl
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


def features(texts: list[str], kind: str, dataset: str) -> object:
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
    ap.add_argument("--features", choices=["tfidf", "minilm"], default="tfidf")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--worker-accuracy", type=float, default=0.95)
    ap.add_argument("--C", type=float, default=None)
    ap.add_argument("--target", type=float, default=0.95)
    args = ap.parse_args()

    texts, y, classes, answers = load(args.dataset)
    t0 = time.perf_counter()
    X = features(texts, args.features, args.dataset)
    print(
        f"# {args.dataset}: {len(texts)} items, {len(classes)} classes, "
        f"{args.features} features {X.shape} in {time.perf_counter() - t0:.1f} s"
    )
    batch = args.batch_size or (500 if args.dataset == "movie-reviews" else 50)
    C = args.C or (4.0 if args.features == "tfidf" else 1.0)
    source = None
    if answers is not None:
        ids = [r["id"] for r in read_jsonl(SHARED_DATA / "weather/items.jsonl")]
        id_to_i = {item_id: i for i, item_id in enumerate(ids)}
        a_items = np.array([id_to_i[r["task"]] for r in answers])
        a_workers = np.array([r["worker"] for r in answers])
        a_labels = np.array([classes.index(r["label"]) for r in answers])
        source = replayed_answers(a_items, a_workers, a_labels, workers_per_item=args.workers)
    rows = []
    for seed in range(args.seeds):
        with threadpool_limits(1):
            res = simulate_autolabel(
                X,
                y,
                n_classes=len(classes),
                workers_per_item=args.workers,
                worker_accuracy=args.worker_accuracy,
                settings=AutolabelSettings(batch_size=batch, target_accuracy=args.target),
                model=LinearClassifier(C=C),
                answer_source=source,
                random_state=seed,
            )
        rows.append({"seed": seed, **res.summary()})
        print(json.dumps(rows[-1]))
    acc = np.array([r["auto_accuracy"] for r in rows], dtype=float)
    share = np.array([r["auto_share"] for r in rows])
    print(
        json.dumps(
            {
                "dataset": args.dataset,
                "features": args.features,
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
