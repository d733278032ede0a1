"""``auto`` on synthetic crowds from each model's own generative story (issue 16).

For every family of ``truthset.consensus.aggregation.families`` and several seeds: the
accuracy of ``auto`` (not told the family) beside the generating model fitted to the same
answers, the method ``auto`` chose, and the expected calibration error of its confidences
(raw and calibrated). Target: ``auto`` >= generating model - 0.005 on every family, ECE <=
0.05.

``--votes``: instead, ``auto`` made to take each vote (mv, wawa, zbs) on every crowd, to
measure what its confidences are worth there (the families' own choices are models, so
the vote path is not exercised otherwise): the vote's calibrated shares (the previous
confidences) against the posterior of its label under its profiled answer model (the
current ones), and its accuracy with random tie-breaking against ties broken by that model.

    .venv/bin/python benchmarks/quality_families.py [--tasks 2000] [--seeds 5] [--votes]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from truthset.consensus.aggregation import AGGREGATORS, AutoAggregator
from truthset.consensus.aggregation.calibration import expected_calibration_error
from truthset.consensus.aggregation.families import FAMILIES, simulate_family

MARGIN = 0.005
VOTES = ("mv", "wawa", "zbs")


class _TakesVote(AutoAggregator):
    """``auto`` as if its criterion had chosen ``vote``; ``own_shares`` keeps the vote's
    shares as its confidences (and its random ties), as before issue 16's third step."""

    def __init__(self, vote: str, own_shares: bool) -> None:
        super().__init__()
        self.vote = vote
        self.own_shares = own_shares

    def _choose_without_gold(self, *args: Any) -> str:
        return self.vote

    def _confidence_model(self, choice: str, *args: Any) -> str:
        return choice if self.own_shares else super()._confidence_model(choice, *args)


def votes(args: argparse.Namespace) -> None:
    print(
        "| family | vote | accuracy, random ties | ties by the model | ECE, calibrated shares "
        "| ECE, model posterior (worst seed) | confidence model |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    worst = {"before": 0.0, "after": 0.0}
    for name in FAMILIES:
        crowds = [
            simulate_family(name, n_tasks=args.tasks, random_state=100 + seed)
            for seed in range(args.seeds)
        ]
        for vote in VOTES:
            got: dict[str, list[float]] = {k: [] for k in ("acc0", "acc1", "ece0", "ece1")}
            models: Counter[str] = Counter()
            for crowd in crowds:
                tasks = np.arange(crowd.answers.n_tasks)
                for key, own in (("0", True), ("1", False)):
                    auto = _TakesVote(vote, own).fit(crowd.answers)
                    right = auto.labels_ == crowd.truth
                    got["acc" + key].append(float(right.mean()))
                    got["ece" + key].append(
                        expected_calibration_error(auto.posteriors_[tasks, auto.labels_], right)
                    )
                    if not own:
                        models[auto.confidence_model_] += 1
            worst["before"] = max(worst["before"], *got["ece0"])
            worst["after"] = max(worst["after"], *got["ece1"])
            print(
                f"| {name} | {vote} | {np.mean(got['acc0']):.4f} | {np.mean(got['acc1']):.4f} | "
                f"{max(got['ece0']):.3f} | {max(got['ece1']):.3f} | "
                + ", ".join(f"{m} {n}" for m, n in models.most_common())
                + " |",
                flush=True,
            )
    print(
        f"\nworst ECE: calibrated shares {worst['before']:.3f}, model posterior "
        f"{worst['after']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/quality_families.json"))
    parser.add_argument("--votes", action="store_true")
    args = parser.parse_args()
    if args.votes:
        votes(args)
        return
    rows: list[dict[str, Any]] = []
    for name, family in FAMILIES.items():
        for seed in range(args.seeds):
            crowd = simulate_family(name, n_tasks=args.tasks, random_state=100 + seed)
            start = time.perf_counter()
            auto = AutoAggregator().fit(crowd.answers)
            seconds = time.perf_counter() - start
            generating = AGGREGATORS[family.model](random_state=0).fit(crowd.answers)
            right = auto.predict() == crowd.truth
            tasks = np.arange(crowd.answers.n_tasks)
            rows.append(
                {
                    "family": name,
                    "seed": seed,
                    "answers": crowd.answers.n_answers,
                    "auto": float(right.mean()),
                    "chosen": auto.method_,
                    "generating": float(np.mean(generating.predict() == crowd.truth)),
                    "mv": float(
                        np.mean(
                            AGGREGATORS["mv"](random_state=0).fit_predict(crowd.answers)
                            == crowd.truth
                        )
                    ),
                    "ece_raw": expected_calibration_error(
                        auto.estimator_.posteriors_[tasks, auto.labels_], right
                    ),
                    "ece": expected_calibration_error(
                        auto.predict_proba()[tasks, auto.labels_], right
                    ),
                    "confidence_model": auto.confidence_model_,
                    "seconds": seconds,
                }
            )
            r = rows[-1]
            print(
                f"{name} seed {seed}: auto {r['auto']:.4f} ({r['chosen']}) vs "
                f"{family.model} {r['generating']:.4f}, ECE {r['ece_raw']:.3f} -> {r['ece']:.3f}",
                flush=True,
            )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1))
    print(
        "\n| family | generating model | answers | MV | generating model fitted | auto | "
        "worst auto - model | auto chose | ECE raw | ECE calibrated |"
    )
    print("| --- | --- |" + " ---: |" * 5 + " --- | ---: | ---: |")
    for name, family in FAMILIES.items():
        got = [r for r in rows if r["family"] == name]
        worst = min(r["auto"] - r["generating"] for r in got)
        chosen = Counter(r["chosen"] for r in got)
        print(
            f"| {name} ({family.description}) | {family.model} | "
            f"{np.mean([r['answers'] for r in got]):,.0f} | "
            f"{np.mean([r['mv'] for r in got]):.4f} | "
            f"{np.mean([r['generating'] for r in got]):.4f} | "
            f"{np.mean([r['auto'] for r in got]):.4f} | {worst:+.4f} | "
            + ", ".join(f"{m} {n}" for m, n in chosen.most_common())
            + f" | {max(r['ece_raw'] for r in got):.3f} | {max(r['ece'] for r in got):.3f} |"
        )
    misses = [r for r in rows if r["auto"] < r["generating"] - MARGIN]
    print(f"\nwithin {MARGIN} of the generating model: {len(rows) - len(misses)} of {len(rows)}")
    print(f"ECE <= 0.05: {sum(r['ece'] <= 0.05 for r in rows)} of {len(rows)}")


if __name__ == "__main__":
    main()
