"""The auto-labeling loop run to the end, for benchmarks and tests.

``simulate_autolabel`` calls :func:`~truthset.learning.loop.run_iteration` until every item
is labelled by people or by the model. People are simulated (``simulated_workers``) or
replayed from real answers (``replayed_answers``); their answers are consolidated by
majority vote.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from truthset.learning.consensus import majority_vote
from truthset.learning.loop import (
    DIVERSITY_STRATEGIES,
    AutolabelSettings,
    CostEstimate,
    choose_validation_items,
    diversity_embedding,
    feasible_rule,
    look_confidence_level,
    run_iteration,
)
from truthset.learning.models.base import Classifier
from truthset.learning.threshold import ThresholdResult

Answers = tuple[NDArray[np.intp], NDArray[Any], NDArray[np.intp]]
# items, answers per item (None: the source's own number) -> (items, workers, labels)
AnswerSource = Callable[[NDArray[np.intp], int | None], Answers]


def simulated_workers(
    y_true: ArrayLike,
    n_classes: int,
    *,
    workers_per_item: int = 3,
    worker_accuracy: float = 0.9,
    n_workers: int = 50,
    random_state: int | np.random.Generator | None = None,
) -> AnswerSource:
    """Workers who answer the true label with probability ``worker_accuracy``, else
    another label uniformly; each item is answered by distinct random workers
    (``workers_per_item`` of them, unless a call asks for another number)."""
    y = np.asarray(y_true, dtype=np.intp)
    rng = np.random.default_rng(random_state)

    def answer(items: NDArray[np.intp], per_item: int | None = None) -> Answers:
        m = workers_per_item if per_item is None else per_item
        if m > n_workers:
            raise ValueError(f"{m} answers per item need at least {m} workers, not {n_workers}")
        it = np.repeat(items, m)
        truth = y[it]
        right = rng.uniform(size=it.size) < worker_accuracy
        other = (truth + rng.integers(1, n_classes, size=it.size)) % n_classes
        lab = np.where(right, truth, other)
        wk = (
            np.concatenate([rng.choice(n_workers, m, replace=False) for _ in items])
            if items.size
            else np.zeros(0, dtype=int)
        )
        return it.astype(np.intp), wk, lab.astype(np.intp)

    return answer


def replayed_answers(
    items: ArrayLike, workers: ArrayLike, labels: ArrayLike, *, workers_per_item: int | None = 3
) -> AnswerSource:
    """Real answers replayed: the first ``workers_per_item`` answers of each item in
    source order (all of them when None); a call that asks for another number per item
    gets the first that many (as many as the item has)."""
    it = np.asarray(items, dtype=np.intp)
    wk = np.asarray(workers)
    lab = np.asarray(labels, dtype=np.intp)
    order = np.argsort(it, kind="stable")
    it, wk, lab = it[order], wk[order], lab[order]
    starts = np.searchsorted(it, np.arange(it.max() + 2 if it.size else 1))
    rank = np.arange(it.size) - starts[it]

    def answer(req: NDArray[np.intp], per_item: int | None = None) -> Answers:
        m = workers_per_item if per_item is None else per_item
        sel = (
            np.concatenate([np.arange(starts[i], starts[i + 1]) for i in req])
            if req.size
            else np.zeros(0, dtype=np.intp)
        )
        if m is not None:
            sel = sel[rank[sel] < m]
        return it[sel], wk[sel], lab[sel]

    return answer


@dataclass
class SimulationResult:
    n_items: int
    n_auto: int
    auto_accuracy: float
    human_label_accuracy: float
    human_answers: int
    human_answers_all_by_hand: int
    n_iterations: int
    wall_time_s: float
    cost: CostEstimate
    iterations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def auto_share(self) -> float:
        return self.n_auto / self.n_items if self.n_items else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "items": self.n_items,
            "auto_share": round(self.auto_share, 4),
            "auto_accuracy": round(self.auto_accuracy, 4),
            "human_label_accuracy": round(self.human_label_accuracy, 4),
            "human_answers": self.human_answers,
            "human_answers_all_by_hand": self.human_answers_all_by_hand,
            "iterations": self.n_iterations,
            "cost": round(self.cost.human_cost + self.cost.auto_cost, 2),
            "cost_all_by_hand": round(self.cost.all_human_cost, 2),
            "wall_time_s": round(self.wall_time_s, 1),
        }


def simulate_autolabel(
    X: Any,
    y_true: ArrayLike,
    *,
    workers_per_item: int = 3,
    worker_accuracy: float = 0.9,
    n_classes: int | None = None,
    settings: AutolabelSettings | None = None,
    model: Classifier | None = None,
    answer_source: AnswerSource | None = None,
    initial_batch: int | None = None,
    max_iterations: int = 100,
    embedding: ArrayLike | None = None,
    commit_policy: str = "spending",
    plateau_gain: float = 0.01,
    random_state: int | None = 0,
) -> SimulationResult:
    """Run the loop to the end: every item ends labelled by people or by the model.

    People answer with ``answer_source`` (default :func:`simulated_workers` with
    ``workers_per_item`` and ``worker_accuracy``); answers are consolidated by majority
    vote. The first human batch is the validation set plus ``initial_batch`` random items
    (default ``batch_size``). Items still open after ``max_iterations`` go to people.

    ``commit_policy``: ``"spending"`` (default) chooses each iteration's threshold at its
    share of the error budget (:func:`~truthset.learning.loop.error_budget`, Bonferroni
    over the job's planned looks) and labels whenever that threshold is feasible;
    ``"each"`` gives machine labels in every iteration at the full level (as Ground Truth
    does: no guarantee across looks); ``"plateau"`` waits until the validation coverage
    grew by less than ``plateau_gain`` since the previous iteration, then labels, and
    keeps going.
    """
    t0 = time.perf_counter()
    y = np.asarray(y_true, dtype=np.intp)
    n = y.size
    k = int(n_classes if n_classes is not None else y.max() + 1)
    s = replace(settings or AutolabelSettings(), workers_per_item=workers_per_item)
    rng = np.random.default_rng(random_state)
    ask = answer_source or simulated_workers(
        y, k, workers_per_item=workers_per_item, worker_accuracy=worker_accuracy, random_state=rng
    )
    val = choose_validation_items(n, s, rng)
    human = np.full(n, -1, dtype=np.intp)
    auto_label = np.full(n, -1, dtype=np.intp)
    val_auto = np.full(n, -1, dtype=np.intp)  # what the loop would have auto-labelled
    val_human = np.zeros(n, dtype=bool)  # validation items it would have sent to people
    ans_items: list[NDArray] = []
    ans_workers: list[NDArray] = []
    ans_labels: list[NDArray] = []
    n_answers = 0

    is_validation = np.zeros(n, dtype=bool)
    is_validation[val] = True

    def label_by_people(items: NDArray[np.intp]) -> None:
        nonlocal n_answers
        items = items[human[items] < 0] if items.size else items
        if items.size == 0:
            return
        # Validation items get their own number of answers (s.validation_answers).
        parts = [
            ask(group, per_item)
            for group, per_item in (
                (items[~is_validation[items]], None),
                (items[is_validation[items]], s.validation_answers),
            )
            if group.size
        ]
        ai, aw, al = (np.concatenate([p[j] for p in parts]) for j in range(3))
        n_answers += ai.size
        ans_items.append(ai)
        ans_workers.append(aw)
        ans_labels.append(al)
        mv = majority_vote(ai, al, n, k, random_state=rng)
        human[items] = mv[items]

    if embedding is None and s.strategy in DIVERSITY_STRATEGIES:
        embedding = diversity_embedding(X, s.diversity_dims, int(rng.integers(2**31)))
    others = np.setdiff1d(np.arange(n), val)
    first = rng.choice(others, size=min(others.size, initial_batch or s.batch_size), replace=False)
    label_by_people(np.r_[val, first])
    if commit_policy not in ("each", "plateau", "spending"):
        raise ValueError("commit_policy must be 'spending', 'each' or 'plateau'")
    history: list[dict[str, Any]] = []
    it = 0
    looks = 0  # iterations that tested a threshold (the spending policy's look number)
    prev_coverage = -1.0
    for it in range(1, max_iterations + 1):
        open_items = (human < 0) & (auto_label < 0)
        if not open_items.any():
            it -= 1
            break
        labeled = np.flatnonzero(human >= 0)
        answers = None
        if s.strategy == "activelab" and ans_items:
            answers = (
                np.concatenate(ans_items),
                np.concatenate(ans_workers),
                np.concatenate(ans_labels),
            )
        kwargs: dict[str, Any] = {
            "n_classes": k,
            "settings": s,
            "model": model,
            "done": auto_label >= 0,
            "embedding": embedding,
            "answers": answers,
            "validation_auto": (np.flatnonzero(val_auto >= 0), val_auto[val_auto >= 0]),
            "validation_human": np.flatnonzero(val_human),
        }

        def plateau(
            thr: ThresholdResult | None,
            to_humans: NDArray[np.intp],
            previous: float = prev_coverage,
            last: bool = it == max_iterations,
        ) -> bool:
            cov = thr.coverage if thr is not None else 0.0
            nothing_left = not np.any(human[to_humans] < 0)
            # Coverage stopped growing (or nothing is left for people): label now.
            return cov > 0 and (cov - previous < plateau_gain or nothing_left or last)

        spending = commit_policy == "spending"
        res = run_iteration(
            X,
            (labeled, human[labeled]),
            val,
            commit=feasible_rule if spending else commit_policy == "each" or plateau,
            confidence_level=look_confidence_level(looks + 1, n, val.size, s) if spending else None,
            random_state=rng,
            **kwargs,
        )
        looks += res.threshold is not None
        prev_coverage = res.threshold.coverage if res.threshold is not None else 0.0
        auto_label[res.auto_items] = res.auto_labels
        val_auto[res.validation_auto_items] = res.validation_auto_labels
        val_human[res.validation_human_items] = True
        thr = res.threshold
        history.append(
            {
                "iteration": it,
                "human_labels": res.n_human_labels,
                "auto_labeled": res.n_auto_labeled,
                "auto_total": int((auto_label >= 0).sum()),
                "threshold": None if thr is None else thr.threshold,
                "coverage": None if thr is None else round(thr.coverage, 4),
                "val_accuracy": None if thr is None else round(thr.accuracy, 4),
                "lower_bound": None if thr is None else round(thr.lower_bound, 4),
                "level": None if thr is None else round(thr.confidence_level, 5),
                # Validation items the look was judged on (earlier commits' included).
                "n_validation": None if thr is None else thr.n_validation,
                "committed": res.committed,
                "batch_accuracy": float(np.mean(res.auto_labels == y[res.auto_items]))
                if res.auto_items.size
                else None,
            }
        )
        nxt = res.to_humans[human[res.to_humans] < 0]
        if nxt.size == 0:
            break
        label_by_people(nxt)
    label_by_people(np.flatnonzero((human < 0) & (auto_label < 0)))

    auto = np.flatnonzero(auto_label >= 0)
    hum = np.flatnonzero(human >= 0)
    n_auto = int(auto.size)
    cost = CostEstimate(
        n_human_items=int(hum.size),
        n_auto_items=n_auto,
        human_cost=hum.size * s.human_cost,
        auto_cost=n_auto * s.auto_fee,
        all_human_cost=n * s.human_cost,
    )
    return SimulationResult(
        n_items=n,
        n_auto=n_auto,
        auto_accuracy=float(np.mean(auto_label[auto] == y[auto])) if n_auto else float("nan"),
        human_label_accuracy=float(np.mean(human[hum] == y[hum])) if hum.size else float("nan"),
        human_answers=n_answers,
        human_answers_all_by_hand=n * workers_per_item,
        n_iterations=it,
        wall_time_s=time.perf_counter() - t0,
        cost=cost,
        iterations=history,
    )
