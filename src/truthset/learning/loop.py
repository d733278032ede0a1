"""The auto-labeling loop as pure functions over arrays (no database).

One iteration (``run_iteration``), as in Ground Truth's automated data labeling:

1. a validation set, drawn at random once per job (``choose_validation_items``: 20% of the
   items below 5,000, 10% from 5,000 on), is labelled by people and never trained on;
2. the model trains on the other human labels;
3. on the validation set, the threshold is chosen so that the accuracy of the items at or
   above it reaches ``target_accuracy`` with probability ``confidence_level``
   (:mod:`truthset.learning.threshold`);
4. unlabelled items at or above the threshold get machine labels;
5. the rest are ranked by the strategy (:mod:`truthset.learning.strategies`); the first
   ``batch_size`` go to people, unlabelled validation items always first.

``simulate_autolabel`` runs the loop to the end with simulated (or replayed) workers and
majority-vote consolidation, for benchmarks and tests.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from truthset.learning.consensus import majority_vote
from truthset.learning.models.base import Classifier, LinearClassifier, expand_proba
from truthset.learning.strategies import (
    STRATEGIES,
    activelab_scores,
    priority_scores,
    select_batch,
)
from truthset.learning.threshold import ThresholdResult, choose_threshold

DIVERSITY_STRATEGIES = {"k-center", "margin-diversity"}


@dataclass(frozen=True)
class AutolabelSettings:
    """Settings of an auto-labeling job. Costs are in dollars per item; Ground Truth's
    model: a human label costs ``human_fee + workers_per_item * worker_fee``
    (0.08 + 3 x 0.012 = 0.116) and an automatic label ``auto_fee`` (0.08)."""

    target_accuracy: float = 0.95
    confidence_level: float = 0.95
    # None: Ground Truth's rule, validation_share_small of the items below
    # validation_large_from items, validation_share_large from there on.
    validation_share: float | None = None
    validation_share_small: float = 0.2
    validation_share_large: float = 0.1
    validation_large_from: int = 5000
    batch_size: int = 1000
    strategy: str = "margin"
    threshold_method: str = "fixed-sequence"
    workers_per_item: int = 3
    human_fee: float = 0.08
    worker_fee: float = 0.012
    auto_fee: float = 0.08
    diversity_dims: int = 32

    @property
    def human_cost(self) -> float:
        return self.human_fee + self.workers_per_item * self.worker_fee


def validation_share(
    n_items: int, small: float = 0.2, large: float = 0.1, large_from: int = 5000
) -> float:
    """Ground Truth's rule: 20% of the dataset below 5,000 items, 10% from 5,000 on."""
    return small if n_items < large_from else large


def choose_validation_items(
    n_items: int,
    settings: AutolabelSettings | None = None,
    random_state: int | np.random.Generator | None = None,
) -> NDArray[np.intp]:
    """A uniform random sample of item indices (sorted) to hold out for the threshold."""
    s = settings or AutolabelSettings()
    share = (
        s.validation_share
        if s.validation_share is not None
        else validation_share(
            n_items, s.validation_share_small, s.validation_share_large, s.validation_large_from
        )
    )
    k = int(round(share * n_items))
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_items, size=k, replace=False)).astype(np.intp)


@dataclass(frozen=True)
class CostEstimate:
    n_human_items: int
    n_auto_items: int
    human_cost: float
    auto_cost: float
    all_human_cost: float

    @property
    def saved(self) -> float:
        return self.all_human_cost - self.human_cost - self.auto_cost


@dataclass
class IterationResult:
    """What one iteration decided.

    ``auto_items``/``auto_labels``/``auto_confidence``: unlabelled items that get machine
    labels now. ``to_humans``: the next items for people, highest priority first (may
    include labelled items to relabel when the strategy is ``activelab``). ``priority``:
    one score per item (NaN where the item is not a candidate), for the work queue.
    ``accuracy_interval``: two-sided Clopper-Pearson interval at ``confidence_level`` of
    the accuracy above the threshold on the validation set; ``threshold.lower_bound`` is
    the one-sided bound that the guarantee rests on.
    """

    n_items: int
    n_human_labels: int
    n_training: int
    n_validation_labeled: int
    threshold: ThresholdResult | None
    auto_items: NDArray[np.intp]
    auto_labels: NDArray[np.intp]
    auto_confidence: NDArray[np.float64]
    to_humans: NDArray[np.intp]
    priority: NDArray[np.float64]
    estimated_accuracy: float
    accuracy_interval: tuple[float, float]
    cost: CostEstimate
    model: Any = None
    validation_auto_items: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    validation_auto_labels: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    validation_human_items: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    # Whether the threshold was applied (machine labels given), per the ``commit`` rule.
    committed: bool = False

    @property
    def n_auto_labeled(self) -> int:
        return int(self.auto_items.size)


@dataclass
class ValidationState:
    """What the loop would already have done to the validation set: which validation items
    a committed threshold labelled (and with which class), and which it would have sent to
    people. Persist it between iterations (``to_dict`` is JSON-ready), pass it to
    :func:`run_iteration` with ``**state.run_kwargs()``, and fold each result in with
    ``state.update(result)``; without it the accuracy bound covers only the current
    iteration's labels, not all of the job's (see docs/autolabel.md)."""

    auto_items: list[int] = field(default_factory=list)
    auto_labels: list[int] = field(default_factory=list)
    human_items: list[int] = field(default_factory=list)

    def update(self, result: IterationResult) -> ValidationState:
        self.auto_items.extend(int(i) for i in result.validation_auto_items)
        self.auto_labels.extend(int(c) for c in result.validation_auto_labels)
        self.human_items.extend(int(i) for i in result.validation_human_items)
        return self

    def run_kwargs(self) -> dict[str, Any]:
        return {
            "validation_auto": (
                np.asarray(self.auto_items, dtype=np.intp),
                np.asarray(self.auto_labels, dtype=np.intp),
            ),
            "validation_human": np.asarray(self.human_items, dtype=np.intp),
        }

    def to_dict(self) -> dict[str, list[int]]:
        return {
            "auto_items": list(self.auto_items),
            "auto_labels": list(self.auto_labels),
            "human_items": list(self.human_items),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ValidationState:
        data = data or {}
        return cls(
            [int(i) for i in data.get("auto_items", [])],
            [int(c) for c in data.get("auto_labels", [])],
            [int(i) for i in data.get("human_items", [])],
        )


# Called by run_iteration with the chosen threshold and the batch for people.
CommitRule = Callable[[ThresholdResult | None, NDArray[np.intp]], bool]


def plateau_rule(previous_coverage: float | None, plateau_gain: float = 0.01) -> CommitRule:
    """The "plateau" policy, as a ``commit`` rule for :func:`run_iteration`: give machine
    labels once the validation coverage grew by less than ``plateau_gain`` since the
    previous iteration (``previous_coverage``; None on the first), or when nothing is left
    to send to people."""

    def rule(thr: ThresholdResult | None, to_humans: NDArray[np.intp]) -> bool:
        if thr is None or not thr.feasible:
            return False
        if to_humans.size == 0:
            return True
        return previous_coverage is not None and thr.coverage - previous_coverage < plateau_gain

    return rule


def should_commit(
    previous_coverage: float | None, result: IterationResult, plateau_gain: float = 0.01
) -> bool:
    """:func:`plateau_rule` applied to a result of ``run_iteration(commit=False)``."""
    return plateau_rule(previous_coverage, plateau_gain)(result.threshold, result.to_humans)


def _as_label_arrays(
    human_labels: Mapping[int, int] | tuple[ArrayLike, ArrayLike],
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    if isinstance(human_labels, Mapping):
        idx = np.fromiter(human_labels.keys(), dtype=np.intp, count=len(human_labels))
        lab = np.fromiter(human_labels.values(), dtype=np.intp, count=len(human_labels))
    else:
        idx = np.asarray(human_labels[0], dtype=np.intp)
        lab = np.asarray(human_labels[1], dtype=np.intp)
    if idx.shape != lab.shape:
        raise ValueError("human label indices and labels differ in length")
    return idx, lab


def _rows(X: Any, idx: NDArray[np.intp]) -> Any:
    return X[idx]


def _embedding(features: Any, dims: int, random_state: Any) -> NDArray[np.float64]:
    from sklearn.decomposition import TruncatedSVD

    n_feat = features.shape[1]
    if n_feat <= dims:
        return np.asarray(
            features.toarray() if hasattr(features, "toarray") else features, dtype=float
        )
    svd = TruncatedSVD(n_components=dims, random_state=random_state)
    return np.asarray(svd.fit_transform(features), dtype=float)


def _interval(k: int, n: int, level: float) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    a = (1.0 - level) / 2.0
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1.0 - a, k + 1, n - k))
    return (lo, hi)


def run_iteration(
    features: Any,
    human_labels: Mapping[int, int] | tuple[ArrayLike, ArrayLike],
    validation_items: ArrayLike,
    *,
    n_classes: int,
    settings: AutolabelSettings | None = None,
    model: Classifier | None = None,
    done: ArrayLike | None = None,
    embedding: ArrayLike | None = None,
    answers: tuple[ArrayLike, ArrayLike, ArrayLike] | None = None,
    validation_auto: Mapping[int, int] | tuple[ArrayLike, ArrayLike] | None = None,
    validation_human: ArrayLike | None = None,
    commit: bool | CommitRule = True,
    random_state: int | np.random.Generator | None = None,
) -> IterationResult:
    """One auto-labeling iteration over all items.

    ``features``: (n_items, d) array or sparse matrix, rows = items. ``human_labels``:
    item index -> class id (consolidated), as a mapping or ``(indices, labels)``.
    ``validation_items``: from :func:`choose_validation_items`. ``done``: mask of items
    that need nothing more (e.g. auto-labelled earlier). ``model``: a Classifier (copied,
    never mutated; default ``LinearClassifier``). ``answers``: ``(items, workers, labels)``
    per-worker answers, needed by the ``activelab`` strategy. ``embedding``: item
    embedding for diversity strategies (default: 32-d truncated SVD of the features).
    ``validation_auto``: validation item -> the label an earlier iteration would have given
    it automatically; pass back the accumulated ``validation_auto_items`` /
    ``validation_auto_labels`` of earlier results. The validation set goes through the same
    selection as the pool, so that the bound covers all automatic labels of the job.
    ``validation_human``: validation items that earlier iterations would have sent to
    people (accumulated ``validation_human_items``): the pool loses its hardest items to
    people each iteration, so the validation set does too, or the bound would judge the
    automatic labels on items they will never get.
    ``commit=False``: choose the threshold and rank items, but give no machine labels yet
    (``auto_items`` is empty); confident items are still kept away from people. Labels
    given early by a weak model use up the accuracy budget that a later, better model
    would spend on more items, so :func:`simulate_autolabel` commits only once the
    validation coverage stops growing. ``commit`` may be a rule called with the chosen
    threshold and the batch for people, once they are known (see :func:`plateau_rule`):
    the model is trained once either way.
    """
    s = settings or AutolabelSettings()
    rng = np.random.default_rng(random_state)
    n = features.shape[0]
    lab_idx, lab_y = _as_label_arrays(human_labels)
    if lab_y.size and (lab_y.min() < 0 or lab_y.max() >= n_classes):
        raise ValueError(f"human labels must be class ids in [0, {n_classes})")
    val = np.asarray(validation_items, dtype=np.intp)
    is_val = np.zeros(n, dtype=bool)
    is_val[val] = True
    labeled = np.zeros(n, dtype=bool)
    labeled[lab_idx] = True
    label_of = np.full(n, -1, dtype=np.intp)
    label_of[lab_idx] = lab_y
    done_mask = np.zeros(n, dtype=bool) if done is None else np.asarray(done, dtype=bool)

    train = np.flatnonzero(labeled & ~is_val)
    val_lab_all = np.flatnonzero(labeled & is_val)
    v_auto_idx, v_auto_lab = (
        _as_label_arrays(validation_auto)
        if validation_auto is not None
        else (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp))
    )
    v_auto = np.zeros(n, dtype=bool)
    v_auto[v_auto_idx] = True
    prior_count = int(np.count_nonzero(v_auto[val_lab_all]))
    v_auto_label_of = np.full(n, -1, dtype=np.intp)
    v_auto_label_of[v_auto_idx] = v_auto_lab
    prior_correct = int(np.count_nonzero(v_auto_label_of[val_lab_all] == label_of[val_lab_all]))
    v_human = np.zeros(n, dtype=bool)
    if validation_human is not None:
        v_human[np.asarray(validation_human, dtype=np.intp)] = True
    val_lab = val_lab_all[~v_auto[val_lab_all] & ~v_human[val_lab_all]]
    val_todo = np.flatnonzero(is_val & ~labeled & ~done_mask)
    pool = np.flatnonzero(~labeled & ~is_val & ~done_mask)
    priority = np.full(n, np.nan)
    new_v_auto = new_v_auto_lab = new_v_human = np.zeros(0, dtype=np.intp)

    def result(
        thr: ThresholdResult | None,
        auto: NDArray,
        auto_lab: NDArray,
        auto_conf: NDArray,
        to_humans: NDArray,
        fitted: Any,
        committed: bool = False,
    ) -> IterationResult:
        n_auto_total = int(done_mask.sum()) + auto.size  # earlier auto labels + these
        cost = CostEstimate(
            n_human_items=int(labeled.sum()),
            n_auto_items=n_auto_total,
            human_cost=float(labeled.sum()) * s.human_cost,
            auto_cost=n_auto_total * s.auto_fee,
            all_human_cost=(int(labeled.sum()) + n_auto_total) * s.human_cost,
        )
        if thr is not None and thr.feasible:
            est = thr.accuracy
            interval = _interval(
                int(round(thr.accuracy * thr.n_selected)), thr.n_selected, s.confidence_level
            )
        else:
            est, interval = float("nan"), (0.0, 1.0)
        return IterationResult(
            n_items=n,
            n_human_labels=int(labeled.sum()),
            n_training=int(train.size),
            n_validation_labeled=int(val_lab.size),
            threshold=thr,
            auto_items=auto.astype(np.intp),
            auto_labels=auto_lab.astype(np.intp),
            auto_confidence=auto_conf.astype(float),
            to_humans=to_humans.astype(np.intp),
            priority=priority,
            estimated_accuracy=est,
            accuracy_interval=interval,
            cost=cost,
            model=fitted,
            validation_auto_items=new_v_auto.astype(np.intp),
            validation_auto_labels=new_v_auto_lab.astype(np.intp),
            validation_human_items=new_v_human.astype(np.intp),
            committed=committed,
        )

    empty_i = np.zeros(0, dtype=np.intp)
    # Unlabelled validation items go to people before anything else.
    priority[val_todo] = 2.0 + rng.uniform(size=val_todo.size)
    if np.unique(lab_y[~is_val[lab_idx]]).size < 2:
        # Cold start: not enough classes to train; random items to people.
        priority[pool] = rng.uniform(size=pool.size)
        cand = np.r_[val_todo, pool]
        order = cand[select_batch(priority[cand], s.batch_size)]
        return result(None, empty_i, empty_i, np.zeros(0), order, None)

    fitted = copy.deepcopy(model) if model is not None else LinearClassifier()
    fitted.fit(_rows(features, train), label_of[train])
    classes = np.asarray(fitted.classes_, dtype=np.intp)

    def proba_of(idx: NDArray[np.intp]) -> NDArray[np.float64]:
        if idx.size == 0:
            return np.zeros((0, n_classes))
        return expand_proba(fitted.predict_proba(_rows(features, idx)), classes, n_classes)

    thr: ThresholdResult | None = None
    if val_lab.size:
        pv = proba_of(val_lab)
        correct = (pv.argmax(axis=1) == label_of[val_lab]).astype(float)
        thr = choose_threshold(
            pv.max(axis=1),
            correct,
            target_accuracy=s.target_accuracy,
            confidence_level=s.confidence_level,
            method=s.threshold_method,  # type: ignore[arg-type]
            prior_correct=prior_correct,
            prior_count=prior_count,
        )
        v_sel = thr.select(pv.max(axis=1))
        new_v_auto, new_v_auto_lab = val_lab[v_sel], pv[v_sel].argmax(axis=1)
    pp = proba_of(pool)
    conf = pp.max(axis=1) if pool.size else np.zeros(0)
    confident = thr.select(conf) if thr is not None else np.zeros(pool.size, dtype=bool)
    rest = pool[~confident]
    rest_p = pp[~confident]

    if s.strategy == "activelab":
        if answers is None:
            raise ValueError("the 'activelab' strategy needs the per-worker answers")
        cand = np.flatnonzero(~is_val & ~done_mask)
        cand = cand[~np.isin(cand, pool[confident])]
        full = np.full((n, n_classes), 1.0 / n_classes)
        full[cand] = proba_of(cand)
        a_items, a_workers, a_labels = answers
        scores = activelab_scores(full, a_items, a_workers, a_labels)
        priority[cand] = scores.priority[cand]
    else:
        if s.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {s.strategy!r}")
        emb = lab_emb = None
        if s.strategy in DIVERSITY_STRATEGIES:
            all_emb = (
                np.asarray(embedding, dtype=float)
                if embedding is not None
                else _embedding(features, s.diversity_dims, int(rng.integers(2**31)))
            )
            emb = all_emb[rest]
            seen = np.flatnonzero(labeled)
            if seen.size > 2000:
                seen = rng.choice(seen, 2000, replace=False)
            lab_emb = all_emb[seen]
        priority[rest] = priority_scores(
            s.strategy,
            rest_p,
            batch_size=s.batch_size,
            embedding=emb,
            labeled_embedding=lab_emb,
            random_state=rng,
        )
        cand = rest
    if val_lab.size and rest.size:
        # Mirror this batch on the validation set: the same share of its not-confident
        # items, chosen by the same (per-item) uncertainty, would have gone to people.
        v_rest = val_lab if thr is None else val_lab[~thr.select(pv.max(axis=1))]
        v_p = proba_of(v_rest)
        n_v = int(round(min(1.0, s.batch_size / rest.size) * v_rest.size))
        if s.strategy in ("least-confidence", "entropy", "random"):
            v_score = priority_scores(s.strategy, v_p, batch_size=n_v, random_state=rng)
        else:
            v_score = priority_scores("margin", v_p, batch_size=n_v)
        new_v_human = v_rest[select_batch(v_score, n_v)]
    cand = np.r_[val_todo, cand]
    to_humans = cand[select_batch(priority[cand], s.batch_size)]
    if callable(commit):
        commit = commit(thr, to_humans)
    auto_mask = confident if commit else np.zeros(pool.size, dtype=bool)
    auto = pool[auto_mask]
    if not commit:
        new_v_auto = new_v_auto_lab = np.zeros(0, dtype=np.intp)
    return result(
        thr,
        auto,
        classes[np.argmax(fitted.predict_proba(_rows(features, auto)), axis=1)]
        if auto.size
        else empty_i,
        conf[auto_mask],
        to_humans,
        fitted,
        bool(commit),
    )


# --- simulation -----------------------------------------------------------------------

AnswerSource = Callable[[NDArray[np.intp]], tuple[NDArray[np.intp], NDArray[Any], NDArray[np.intp]]]


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
    another label uniformly; each item is answered by distinct random workers."""
    y = np.asarray(y_true, dtype=np.intp)
    rng = np.random.default_rng(random_state)

    def answer(items: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[Any], NDArray[np.intp]]:
        m = workers_per_item
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
    source order (all of them when None)."""
    it = np.asarray(items, dtype=np.intp)
    wk = np.asarray(workers)
    lab = np.asarray(labels, dtype=np.intp)
    order = np.argsort(it, kind="stable")
    it, wk, lab = it[order], wk[order], lab[order]
    starts = np.searchsorted(it, np.arange(it.max() + 2 if it.size else 1))
    rank = np.arange(it.size) - starts[it]
    keep = rank < workers_per_item if workers_per_item is not None else np.ones(it.size, bool)
    it, wk, lab = it[keep], wk[keep], lab[keep]
    starts = np.searchsorted(it, np.arange(it.max() + 2 if it.size else 1))

    def answer(req: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[Any], NDArray[np.intp]]:
        sel = (
            np.concatenate([np.arange(starts[i], starts[i + 1]) for i in req])
            if req.size
            else np.zeros(0, dtype=np.intp)
        )
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
    commit_policy: str = "plateau",
    plateau_gain: float = 0.01,
    random_state: int | None = 0,
) -> SimulationResult:
    """Run the loop to the end: every item ends labelled by people or by the model.

    People answer with ``answer_source`` (default :func:`simulated_workers` with
    ``workers_per_item`` and ``worker_accuracy``); answers are consolidated by majority
    vote. The first human batch is the validation set plus ``initial_batch`` random items
    (default ``batch_size``). Items still open after ``max_iterations`` go to people.

    ``commit_policy``: ``"each"`` gives machine labels in every iteration (as Ground Truth
    does); ``"plateau"`` (default) waits until the validation coverage grew by less than
    ``plateau_gain`` since the previous iteration, then labels, and keeps going.
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

    def label_by_people(items: NDArray[np.intp]) -> None:
        nonlocal n_answers
        items = items[human[items] < 0] if items.size else items
        if items.size == 0:
            return
        ai, aw, al = ask(items)
        n_answers += ai.size
        ans_items.append(ai)
        ans_workers.append(aw)
        ans_labels.append(al)
        mv = majority_vote(ai, al, n, k, random_state=rng)
        human[items] = mv[items]

    if embedding is None and s.strategy in DIVERSITY_STRATEGIES:
        embedding = _embedding(X, s.diversity_dims, int(rng.integers(2**31)))
    others = np.setdiff1d(np.arange(n), val)
    first = rng.choice(others, size=min(others.size, initial_batch or s.batch_size), replace=False)
    label_by_people(np.r_[val, first])
    if commit_policy not in ("each", "plateau"):
        raise ValueError("commit_policy must be 'each' or 'plateau'")
    history: list[dict[str, Any]] = []
    it = 0
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

        res = run_iteration(
            X,
            (labeled, human[labeled]),
            val,
            commit=commit_policy == "each" or plateau,
            random_state=rng,
            **kwargs,
        )
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
