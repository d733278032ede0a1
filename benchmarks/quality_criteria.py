"""No-gold selection criteria for ``auto``, side by side (issue 16): which candidate each
criterion would choose, and how accurate that choice is, on the shared crowd sets and on
the synthetic families (3 seeds x 7 families, 2,000 tasks).

Every candidate is fitted once on all answers and once per held-out fold (the folds
``auto`` uses); each criterion is then computed from those fits:

- joint: held-out answer log-likelihood with the candidate's own answer model (session 7);
- joint + BIC: the same minus (parameters x log n) / 2n per answer;
- item label likelihood: mean posterior probability of the held-out answer's label;
- held-out accuracy: how often the posterior's argmax equals the held-out answer;
- mean over answer models: the candidate's posterior with each candidate's answer model,
  mean of the log-likelihoods;
- profile: with the best answer model (``selection.profile``), alone, with the one- and
  two-standard-error rules, and averaging the posteriors within two standard errors;
- the remembered rule: DS unless it relabels a class, else Wawa.

Candidates that fail the class-meaning check are skipped by every criterion. Reference:
the best crowd-kit method per set (from an earlier ``quality_crowd.py --json``) and the
generating model on a family.

    .venv/bin/python benchmarks/quality_criteria.py [--crowdkit benchmarks/out/quality_crowd.json]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from quality_crowd import DATASETS, read_rows  # the sets and reader of that benchmark
from truthset.consensus.aggregation import encode_answers
from truthset.consensus.aggregation.auto import CANDIDATES, VOTE_BASED, n_parameters
from truthset.consensus.aggregation.checks import keeps_class_meaning
from truthset.consensus.aggregation.encoding import AnswerMatrix, IntArray
from truthset.consensus.aggregation.families import FAMILIES, simulate_family
from truthset.consensus.aggregation.selection import (
    HeldOut,
    fold_assignment,
    folds_to_run,
    held_out,
    paired_std_error,
)

EPS = 1e-12
MARGIN = 0.005


def fits(answers: AnswerMatrix) -> tuple[dict, dict, dict, IntArray]:
    folds = fold_assignment(answers.n_answers, 5, 0)
    n_run = folds_to_run(answers.n_answers, 5, 100_000)
    full, scores, ok = {}, {}, {}
    for name, make in CANDIDATES.items():
        est = make(0).fit(answers)
        full[name] = est.posteriors_
        ok[name] = name in VOTE_BASED or keeps_class_meaning(answers, est.posteriors_)
        scores[name] = held_out(lambda make=make: make(0), answers, folds, n_run)
    held = np.concatenate([np.flatnonzero(folds == f) for f in range(n_run)])
    return full, scores, ok, answers.labels[held]


def pair(scores: dict[str, HeldOut], m: str, r: str) -> np.ndarray:
    p = np.einsum("at,at->a", scores[m].posteriors, scores[r].likelihoods)
    return np.log(np.maximum(p.astype(np.float64), EPS))


def choices(answers: AnswerMatrix, gold: IntArray, truth: IntArray) -> dict[str, float]:
    full, scores, ok, labels = fits(answers)
    names = list(full)
    ok_names = [m for m in names if ok[m]]
    size = {m: n_parameters(m, answers) for m in names}
    n = 0.8 * answers.n_answers

    def accuracy(post: np.ndarray) -> float:
        return float(np.mean(post[gold].argmax(axis=1) == truth))

    def best_of(score: Callable[[str], float]) -> float:
        return accuracy(full[max(ok_names, key=score)])

    profiled = {m: max((pair(scores, m, r) for r in names), key=np.mean) for m in names}
    rows = np.arange(len(labels))
    out = {
        "joint": best_of(lambda m: scores[m].mean),
        "joint + BIC": best_of(lambda m: scores[m].mean - size[m] * np.log(n) / (2 * n)),
        "item label likelihood": best_of(lambda m: scores[m].posteriors[rows, labels].mean()),
        "held-out accuracy": best_of(
            lambda m: float(np.mean(scores[m].posteriors.argmax(axis=1) == labels))
        ),
        "mean over answer models": best_of(
            lambda m: float(np.mean([pair(scores, m, r).mean() for r in names]))
        ),
        "profile": best_of(lambda m: float(profiled[m].mean())),
        "remembered rule": accuracy(full["ds"] if ok["ds"] else full["wawa"]),
    }
    top = max(ok_names, key=lambda m: profiled[m].mean())

    def tied(z: float) -> list[str]:
        return [
            m
            for m in ok_names
            if m == top
            or np.mean(profiled[top] - profiled[m])
            <= z * paired_std_error(profiled[top], profiled[m])
        ]

    for z in (1, 2):
        simplest = min(tied(z), key=lambda m: (size[m], -profiled[m].mean()))
        out[f"profile + {z}-SE rule"] = accuracy(full[simplest])
    out["profile, mean within 2 SE"] = accuracy(np.mean([full[m] for m in tied(2)], axis=0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--crowdkit", type=Path, default=Path("benchmarks/out/quality_crowd.json"))
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/quality_criteria.json"))
    args = parser.parse_args()
    crowdkit = json.loads(args.crowdkit.read_text())
    results: dict[str, tuple[dict[str, float], float]] = {}
    for name, path in DATASETS.items():
        rows = read_rows(path / "answers.csv")
        gold = {r["task"]: r["label"] for r in read_rows(path / "gold.csv")}
        a = encode_answers(
            [r["task"] for r in rows], [r["worker"] for r in rows], [r["label"] for r in rows]
        )
        assert a.task_names is not None and a.class_names is not None
        ti = {t: i for i, t in enumerate(a.task_names.tolist())}
        ci = {c: i for i, c in enumerate(a.class_names.tolist())}
        got = choices(a, np.array([ti[t] for t in gold]), np.array([ci[v] for v in gold.values()]))
        ref = max(v["accuracy"] for v in crowdkit[name]["crowdkit"].values() if "accuracy" in v)
        results[name] = (got, ref)
        print(name, flush=True)
    for family, fam in FAMILIES.items():
        for seed in range(3):
            crowd = simulate_family(family, n_tasks=2000, random_state=100 + seed)
            tasks = np.arange(crowd.answers.n_tasks)
            got = choices(crowd.answers, tasks, crowd.truth)
            generating = CANDIDATES[fam.model](0).fit(crowd.answers).posteriors_
            results[f"{family}-{seed}"] = (got, float(np.mean(generating.argmax(1) == crowd.truth)))
        print(family, flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    sets = list(DATASETS)
    crowds = [k for k in results if k not in DATASETS]
    print("\n| criterion | " + " | ".join(sets) + " | mean | sets met | crowds met | worst crowd |")
    print("| --- |" + " ---: |" * (len(sets) + 4))
    for criterion in results[sets[0]][0]:
        acc = [results[s][0][criterion] for s in sets]
        met = sum(results[s][0][criterion] >= results[s][1] - MARGIN for s in sets)
        gaps = [results[c][0][criterion] - results[c][1] for c in crowds]
        print(
            f"| {criterion} | "
            + " | ".join(f"{x:.3f}" for x in acc)
            + f" | {np.mean(acc):.4f} | {met} of {len(sets)} | "
            + f"{sum(g >= -MARGIN for g in gaps)} of {len(gaps)} | {min(gaps):+.3f} |"
        )
    print("| best crowd-kit | " + " | ".join(f"{results[s][1]:.3f}" for s in sets) + " | | | | |")


if __name__ == "__main__":
    main()
