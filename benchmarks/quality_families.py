"""``auto`` on synthetic crowds from each model's own generative story (issue 16).

For every family of ``truthset.consensus.aggregation.families`` and several seeds: the
accuracy of ``auto`` (not told the family) beside the generating model fitted to the same
answers, the method ``auto`` chose, and the expected calibration error of its confidences
(raw and calibrated). Target: ``auto`` >= generating model - 0.005 on every family, ECE <=
0.05.

    .venv/bin/python benchmarks/quality_families.py [--tasks 2000] [--seeds 5]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/quality_families.json"))
    args = parser.parse_args()
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
