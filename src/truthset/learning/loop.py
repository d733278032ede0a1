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

Each step is a private function below, in the order ``run_iteration`` calls them. The
simulator that runs the loop to the end is :mod:`truthset.learning.simulation`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

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
    # Answers per validation item; None: two more than ``workers_per_item`` on a job that
    # asks 3 or more workers per item, as many as the others below that (a job labelled by
    # one or two people may not have five). The threshold is certified on agreement with
    # these items' consolidated labels, so their own errors cap what any model can show:
    # with 3 answers at 0.9 the majority is wrong 2.8% of the time, and 25% coverage at
    # 0.95 could be certified only by a model never wrong on its top quarter; with 5 it is
    # wrong 0.86% of the time (docs/autolabel.md).
    validation_workers_per_item: int | None = None
    human_fee: float = 0.08
    worker_fee: float = 0.012
    auto_fee: float = 0.08
    diversity_dims: int = 32

    @property
    def human_cost(self) -> float:
        return self.human_fee + self.workers_per_item * self.worker_fee

    @property
    def validation_answers(self) -> int:
        """Answers each validation item gets."""
        v = self.validation_workers_per_item
        if v is not None:
            return v
        return self.workers_per_item + 2 if self.workers_per_item >= 3 else self.workers_per_item

    @property
    def validation_human_cost(self) -> float:
        return self.human_fee + self.validation_answers * self.worker_fee


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
    # Iterations that tested a threshold on the validation set (see error_budget).
    looks: int = 0

    def update(self, result: IterationResult) -> ValidationState:
        self.auto_items.extend(int(i) for i in result.validation_auto_items)
        self.auto_labels.extend(int(c) for c in result.validation_auto_labels)
        self.human_items.extend(int(i) for i in result.validation_human_items)
        if result.threshold is not None:
            self.looks += 1
        return self

    def run_kwargs(self) -> dict[str, Any]:
        return {
            "validation_auto": (
                np.asarray(self.auto_items, dtype=np.intp),
                np.asarray(self.auto_labels, dtype=np.intp),
            ),
            "validation_human": np.asarray(self.human_items, dtype=np.intp),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "auto_items": list(self.auto_items),
            "auto_labels": list(self.auto_labels),
            "human_items": list(self.human_items),
            "looks": self.looks,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ValidationState:
        data = data or {}
        return cls(
            [int(i) for i in data.get("auto_items", [])],
            [int(c) for c in data.get("auto_labels", [])],
            [int(i) for i in data.get("human_items", [])],
            int(data.get("looks", 0)),
        )


# Called by run_iteration with the chosen threshold and the batch for people.
CommitRule = Callable[[ThresholdResult | None, NDArray[np.intp]], bool]


def planned_looks(n_items: int, n_validation: int, batch_size: int) -> int:
    """How many iterations a job is planned to test a threshold in: people label at least
    ``batch_size`` open items per iteration until none are left, so about one look per
    batch of the items outside the validation set. Fixed by counts only, before any label."""
    return max(1, math.ceil(max(0, n_items - n_validation) / max(1, batch_size)))


def error_budget(look: int, planned: int, confidence_level: float = 0.95) -> float:
    """The share of the error ``alpha = 1 - confidence_level`` that look number ``look``
    (1, 2, ...) may spend under the "spending" commit policy: ``alpha / (planned + 1)``
    for each of the ``planned`` looks, then half as much per look after them, so that the
    budgets of all looks, however many there are, sum to ``alpha`` (Bonferroni over the
    looks). Each look's threshold is chosen at ``1 - error_budget(...)`` and committed
    whenever it is feasible: the chance that any commit of the job certifies a false
    claim is then at most ``alpha`` (docs/autolabel.md "When to commit")."""
    if look < 1:
        raise ValueError(f"looks are numbered from 1, got {look}")
    alpha = 1.0 - confidence_level
    share = alpha / (max(1, planned) + 1)
    return share if look <= planned else share * 0.5 ** (look - planned)


def look_confidence_level(
    look: int, n_items: int, n_validation: int, settings: AutolabelSettings
) -> float:
    """The confidence level the threshold of look ``look`` is chosen at under the
    "spending" policy (``1 - error_budget``)."""
    planned = planned_looks(n_items, n_validation, settings.batch_size)
    return 1.0 - error_budget(look, planned, settings.confidence_level)


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


def feasible_rule(thr: ThresholdResult | None, to_humans: NDArray[np.intp]) -> bool:
    """The "spending" policy's ``commit`` rule: give machine labels whenever the threshold,
    chosen at the look's share of the error budget (:func:`look_confidence_level`), is
    feasible."""
    return thr is not None and thr.feasible


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


def diversity_embedding(features: Any, dims: int, random_state: Any) -> NDArray[np.float64]:
    """The item embedding that the diversity strategies measure distances in: the features
    themselves when they have at most ``dims`` columns, else their truncated SVD."""
    from sklearn.decomposition import TruncatedSVD

    n_feat = features.shape[1]
    if n_feat <= dims:
        return np.asarray(
            features.toarray() if hasattr(features, "toarray") else features, dtype=float
        )
    svd = TruncatedSVD(n_components=dims, random_state=random_state)
    return np.asarray(svd.fit_transform(features), dtype=float)


def _clopper_pearson_interval(k: int, n: int, level: float) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    a = (1.0 - level) / 2.0
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1.0 - a, k + 1, n - k))
    return (lo, hi)


# --- the steps of run_iteration, in order ---------------------------------------------


@dataclass(frozen=True)
class _ItemSplit:
    """Where every item stands when an iteration starts (arrays of item indices, or masks
    and per-item arrays of length ``n_items``)."""

    n_items: int
    label_of: NDArray[np.intp]  # the consolidated human label, -1 where there is none
    labeled: NDArray[np.bool_]
    done: NDArray[np.bool_]
    is_validation: NDArray[np.bool_]
    train: NDArray[np.intp]  # labelled, outside the validation set
    validation_labeled: NDArray[np.intp]
    validation_todo: NDArray[np.intp]  # validation items people have yet to label
    pool: NDArray[np.intp]  # open items outside the validation set: what a threshold labels
    n_training_classes: int


def _split_items(
    n_items: int,
    human_labels: Mapping[int, int] | tuple[ArrayLike, ArrayLike],
    validation_items: ArrayLike,
    done: ArrayLike | None,
    n_classes: int,
) -> _ItemSplit:
    lab_idx, lab_y = _as_label_arrays(human_labels)
    if lab_y.size and (lab_y.min() < 0 or lab_y.max() >= n_classes):
        raise ValueError(f"human labels must be class ids in [0, {n_classes})")
    is_validation = np.zeros(n_items, dtype=bool)
    is_validation[np.asarray(validation_items, dtype=np.intp)] = True
    labeled = np.zeros(n_items, dtype=bool)
    labeled[lab_idx] = True
    label_of = np.full(n_items, -1, dtype=np.intp)
    label_of[lab_idx] = lab_y
    done_mask = np.zeros(n_items, dtype=bool) if done is None else np.asarray(done, dtype=bool)
    return _ItemSplit(
        n_items=n_items,
        label_of=label_of,
        labeled=labeled,
        done=done_mask,
        is_validation=is_validation,
        train=np.flatnonzero(labeled & ~is_validation),
        validation_labeled=np.flatnonzero(labeled & is_validation),
        validation_todo=np.flatnonzero(is_validation & ~labeled & ~done_mask),
        pool=np.flatnonzero(~labeled & ~is_validation & ~done_mask),
        # Counted over the labels as given (repeated items included).
        n_training_classes=int(np.unique(lab_y[~is_validation[lab_idx]]).size),
    )


@dataclass(frozen=True)
class _ValidationHistory:
    """The labelled validation items as earlier iterations left them: ``judged`` are those
    that no earlier threshold labelled and no earlier batch sent to people (this threshold
    is chosen on them); the machine labels that earlier thresholds gave the others count
    in the bound as ``prior_correct`` right out of ``prior_count``."""

    judged: NDArray[np.intp]
    prior_correct: int
    prior_count: int


def _validation_history(
    items: _ItemSplit,
    validation_auto: Mapping[int, int] | tuple[ArrayLike, ArrayLike] | None,
    validation_human: ArrayLike | None,
) -> _ValidationHistory:
    auto_idx, auto_lab = (
        _as_label_arrays(validation_auto)
        if validation_auto is not None
        else (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp))
    )
    was_auto = np.zeros(items.n_items, dtype=bool)
    was_auto[auto_idx] = True
    earlier_auto_label = np.full(items.n_items, -1, dtype=np.intp)
    earlier_auto_label[auto_idx] = auto_lab
    was_human = np.zeros(items.n_items, dtype=bool)
    if validation_human is not None:
        was_human[np.asarray(validation_human, dtype=np.intp)] = True
    labeled = items.validation_labeled
    return _ValidationHistory(
        judged=labeled[~was_auto[labeled] & ~was_human[labeled]],
        prior_correct=int(np.count_nonzero(earlier_auto_label[labeled] == items.label_of[labeled])),
        prior_count=int(np.count_nonzero(was_auto[labeled])),
    )


@dataclass(frozen=True)
class _TrainedModel:
    """The iteration's fitted model, predicting by item index in class-id columns."""

    model: Any
    features: Any
    classes: NDArray[np.intp]
    n_classes: int

    def proba(self, items: NDArray[np.intp]) -> NDArray[np.float64]:
        if items.size == 0:
            return np.zeros((0, self.n_classes))
        proba = self.model.predict_proba(_rows(self.features, items))
        return expand_proba(proba, self.classes, self.n_classes)

    def predict(self, items: NDArray[np.intp]) -> NDArray[np.intp]:
        if items.size == 0:
            return np.zeros(0, dtype=np.intp)
        proba = self.model.predict_proba(_rows(self.features, items))
        return self.classes[np.argmax(proba, axis=1)]


def _train(
    model: Classifier | None, features: Any, items: _ItemSplit, n_classes: int
) -> _TrainedModel:
    # A copy: the caller's model is never mutated.
    fitted = copy.deepcopy(model) if model is not None else LinearClassifier()
    fitted.fit(_rows(features, items.train), items.label_of[items.train])
    return _TrainedModel(fitted, features, np.asarray(fitted.classes_, dtype=np.intp), n_classes)


@dataclass(frozen=True)
class _ValidationCheck:
    """The threshold chosen on the judged validation items; ``confident`` marks the judged
    items at or above it, ``auto_items``/``auto_labels`` the labels it would give them."""

    threshold: ThresholdResult | None
    confident: NDArray[np.bool_]
    auto_items: NDArray[np.intp]
    auto_labels: NDArray[np.intp]


def _check_on_validation(
    trained: _TrainedModel,
    items: _ItemSplit,
    history: _ValidationHistory,
    settings: AutolabelSettings,
) -> _ValidationCheck:
    judged = history.judged
    if judged.size == 0:
        no_items = np.zeros(0, dtype=np.intp)
        return _ValidationCheck(None, np.zeros(0, dtype=bool), no_items, no_items)
    proba = trained.proba(judged)
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == items.label_of[judged]).astype(float)
    threshold = choose_threshold(
        confidence,
        correct,
        target_accuracy=settings.target_accuracy,
        confidence_level=settings.confidence_level,
        method=settings.threshold_method,  # type: ignore[arg-type]
        prior_correct=history.prior_correct,
        prior_count=history.prior_count,
    )
    confident = threshold.select(confidence)
    return _ValidationCheck(
        threshold, confident, judged[confident], proba[confident].argmax(axis=1)
    )


@dataclass(frozen=True)
class _PoolSplit:
    """The pool cut at the threshold: ``confidence`` (the top probability) and
    ``confident`` per pool item; ``rest`` are the items below, with their probabilities."""

    confidence: NDArray[np.float64]
    confident: NDArray[np.bool_]
    rest: NDArray[np.intp]
    rest_proba: NDArray[np.float64]


def _split_pool(
    trained: _TrainedModel, pool: NDArray[np.intp], threshold: ThresholdResult | None
) -> _PoolSplit:
    proba = trained.proba(pool)
    confidence = proba.max(axis=1) if pool.size else np.zeros(0)
    confident = (
        threshold.select(confidence) if threshold is not None else np.zeros(pool.size, dtype=bool)
    )
    return _PoolSplit(confidence, confident, pool[~confident], proba[~confident])


def _activelab_priorities(
    trained: _TrainedModel,
    items: _ItemSplit,
    confident_items: NDArray[np.intp],
    answers: tuple[ArrayLike, ArrayLike, ArrayLike] | None,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Candidates and their priorities under ActiveLab: every item outside the validation
    set that is neither done nor confident, labelled ones included (to relabel)."""
    if answers is None:
        raise ValueError("the 'activelab' strategy needs the per-worker answers")
    candidates = np.flatnonzero(~items.is_validation & ~items.done)
    candidates = candidates[~np.isin(candidates, confident_items)]
    # activelab_scores takes a row per item; items that are not candidates get a flat one.
    proba = np.full((items.n_items, trained.n_classes), 1.0 / trained.n_classes)
    proba[candidates] = trained.proba(candidates)
    answer_items, answer_workers, answer_labels = answers
    scores = activelab_scores(proba, answer_items, answer_workers, answer_labels)
    return candidates, scores.priority[candidates]


def _diversity_embeddings(
    features: Any,
    embedding: ArrayLike | None,
    items: _ItemSplit,
    rest: NDArray[np.intp],
    dims: int,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Embeddings of the candidates and of the labelled items that the diversity strategies
    keep the batch away from."""
    all_embedding = (
        np.asarray(embedding, dtype=float)
        if embedding is not None
        else diversity_embedding(features, dims, int(rng.integers(2**31)))
    )
    labeled = np.flatnonzero(items.labeled)
    if labeled.size > 2000:
        # A sample of the labelled items bounds the cost of the distances to them.
        labeled = rng.choice(labeled, 2000, replace=False)
    return all_embedding[rest], all_embedding[labeled]


def _strategy_priorities(
    features: Any,
    embedding: ArrayLike | None,
    items: _ItemSplit,
    pool: _PoolSplit,
    settings: AutolabelSettings,
    rng: np.random.Generator,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Candidates (the pool items below the threshold) and their priorities under the
    settings' strategy."""
    if settings.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {settings.strategy!r}")
    rest_embedding = labeled_embedding = None
    if settings.strategy in DIVERSITY_STRATEGIES:
        rest_embedding, labeled_embedding = _diversity_embeddings(
            features, embedding, items, pool.rest, settings.diversity_dims, rng
        )
    scores = priority_scores(
        settings.strategy,
        pool.rest_proba,
        batch_size=settings.batch_size,
        embedding=rest_embedding,
        labeled_embedding=labeled_embedding,
        random_state=rng,
    )
    return pool.rest, scores


def _validation_batch_for_people(
    trained: _TrainedModel,
    judged: NDArray[np.intp],
    check: _ValidationCheck,
    n_rest: int,
    settings: AutolabelSettings,
    rng: np.random.Generator,
) -> NDArray[np.intp]:
    """This iteration's batch mirrored on the validation set: the same share of its
    not-confident items as the batch takes of the pool's (``n_rest`` items), chosen by the
    same (per-item) uncertainty, would have gone to people."""
    if judged.size == 0 or n_rest == 0:
        return np.zeros(0, dtype=np.intp)
    not_confident = judged[~check.confident]
    proba = trained.proba(not_confident)
    n_to_people = int(round(min(1.0, settings.batch_size / n_rest) * not_confident.size))
    if settings.strategy in ("least-confidence", "entropy", "random"):
        scores = priority_scores(settings.strategy, proba, batch_size=n_to_people, random_state=rng)
    else:
        # The diversity strategies score an item by the rest of the batch and ActiveLab by
        # its answers; margin is the per-item uncertainty that stands in for them.
        scores = priority_scores("margin", proba, batch_size=n_to_people)
    return not_confident[select_batch(scores, n_to_people)]


def _batch_for_people(
    items: _ItemSplit,
    candidates: NDArray[np.intp],
    priority: NDArray[np.float64],
    batch_size: int,
) -> NDArray[np.intp]:
    with_validation = np.r_[items.validation_todo, candidates]
    return with_validation[select_batch(priority[with_validation], batch_size)]


def _decide_commit(
    commit: bool | CommitRule, threshold: ThresholdResult | None, to_humans: NDArray[np.intp]
) -> bool:
    # A rule decides once the threshold and the batch are known, so that deciding does not
    # take a second fit.
    return bool(commit(threshold, to_humans) if callable(commit) else commit)


def _estimate_cost(items: _ItemSplit, n_new_auto: int, settings: AutolabelSettings) -> CostEstimate:
    n_human = int(items.labeled.sum())
    n_validation = int((items.labeled & items.is_validation).sum())
    n_auto = int(items.done.sum()) + n_new_auto  # earlier machine labels and these
    # Validation items cost their extra answers whether or not the loop labels anything.
    human_cost = (n_human - n_validation) * settings.human_cost + (
        n_validation * settings.validation_human_cost
    )
    return CostEstimate(
        n_human_items=n_human,
        n_auto_items=n_auto,
        human_cost=float(human_cost),
        auto_cost=n_auto * settings.auto_fee,
        all_human_cost=(n_human + n_auto) * settings.human_cost,
    )


def _estimate_accuracy(
    threshold: ThresholdResult | None, confidence_level: float
) -> tuple[float, tuple[float, float]]:
    """The observed accuracy above the threshold and its two-sided interval."""
    if threshold is None or not threshold.feasible:
        return float("nan"), (0.0, 1.0)
    n_right = int(round(threshold.accuracy * threshold.n_selected))
    interval = _clopper_pearson_interval(n_right, threshold.n_selected, confidence_level)
    return threshold.accuracy, interval


def _iteration_result(
    items: _ItemSplit,
    history: _ValidationHistory,
    settings: AutolabelSettings,
    *,
    threshold: ThresholdResult | None,
    model: Any,
    auto_items: NDArray[np.intp],
    auto_labels: NDArray[np.intp],
    auto_confidence: NDArray[np.float64],
    to_humans: NDArray[np.intp],
    priority: NDArray[np.float64],
    validation_auto_items: NDArray[np.intp],
    validation_auto_labels: NDArray[np.intp],
    validation_human_items: NDArray[np.intp],
    committed: bool,
) -> IterationResult:
    estimated_accuracy, accuracy_interval = _estimate_accuracy(threshold, settings.confidence_level)
    return IterationResult(
        n_items=items.n_items,
        n_human_labels=int(items.labeled.sum()),
        n_training=int(items.train.size),
        n_validation_labeled=int(history.judged.size),
        threshold=threshold,
        auto_items=auto_items.astype(np.intp),
        auto_labels=auto_labels.astype(np.intp),
        auto_confidence=auto_confidence.astype(float),
        to_humans=to_humans.astype(np.intp),
        priority=priority,
        estimated_accuracy=estimated_accuracy,
        accuracy_interval=accuracy_interval,
        cost=_estimate_cost(items, auto_items.size, settings),
        model=model,
        validation_auto_items=validation_auto_items.astype(np.intp),
        validation_auto_labels=validation_auto_labels.astype(np.intp),
        validation_human_items=validation_human_items.astype(np.intp),
        committed=committed,
    )


def _cold_start(
    items: _ItemSplit,
    history: _ValidationHistory,
    settings: AutolabelSettings,
    priority: NDArray[np.float64],
    rng: np.random.Generator,
) -> IterationResult:
    """Too few classes to train on: random pool items go to people, after the validation
    items."""
    priority[items.pool] = rng.uniform(size=items.pool.size)
    no_items = np.zeros(0, dtype=np.intp)
    return _iteration_result(
        items,
        history,
        settings,
        threshold=None,
        model=None,
        auto_items=no_items,
        auto_labels=no_items,
        auto_confidence=np.zeros(0),
        to_humans=_batch_for_people(items, items.pool, priority, settings.batch_size),
        priority=priority,
        validation_auto_items=no_items,
        validation_auto_labels=no_items,
        validation_human_items=no_items,
        committed=False,
    )


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
    confidence_level: float | None = None,
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
    would spend on more items, so :func:`~truthset.learning.simulation.simulate_autolabel`
    commits only once the validation coverage stops growing. ``commit`` may be a rule
    called with the chosen threshold and the batch for people, once they are known (see
    :func:`plateau_rule`): the model is trained once either way.
    ``confidence_level``: the level this iteration's threshold is chosen at, instead of
    the settings' (the "spending" policy passes :func:`look_confidence_level`, the share of
    the job's error budget this look may spend; then ``commit=True``).
    """
    settings = settings or AutolabelSettings()
    if confidence_level is not None:
        settings = replace(settings, confidence_level=confidence_level)
    rng = np.random.default_rng(random_state)
    items = _split_items(features.shape[0], human_labels, validation_items, done, n_classes)
    history = _validation_history(items, validation_auto, validation_human)
    # NaN marks items that are not candidates. Unlabelled validation items go to people
    # before anything else: strategies score at most 2.
    priority = np.full(items.n_items, np.nan)
    priority[items.validation_todo] = 2.0 + rng.uniform(size=items.validation_todo.size)
    if items.n_training_classes < 2:
        return _cold_start(items, history, settings, priority, rng)

    trained = _train(model, features, items, n_classes)
    check = _check_on_validation(trained, items, history, settings)
    pool = _split_pool(trained, items.pool, check.threshold)
    if settings.strategy == "activelab":
        candidates, scores = _activelab_priorities(
            trained, items, items.pool[pool.confident], answers
        )
    else:
        candidates, scores = _strategy_priorities(features, embedding, items, pool, settings, rng)
    priority[candidates] = scores
    validation_human_items = _validation_batch_for_people(
        trained, history.judged, check, pool.rest.size, settings, rng
    )
    to_humans = _batch_for_people(items, candidates, priority, settings.batch_size)

    committed = _decide_commit(commit, check.threshold, to_humans)
    gets_machine_label = pool.confident if committed else np.zeros(items.pool.size, dtype=bool)
    auto_items = items.pool[gets_machine_label]
    no_items = np.zeros(0, dtype=np.intp)
    return _iteration_result(
        items,
        history,
        settings,
        threshold=check.threshold,
        model=trained.model,
        auto_items=auto_items,
        auto_labels=trained.predict(auto_items),
        auto_confidence=pool.confidence[gets_machine_label],
        to_humans=to_humans,
        priority=priority,
        # Uncommitted, the threshold labelled no validation item either.
        validation_auto_items=check.auto_items if committed else no_items,
        validation_auto_labels=check.auto_labels if committed else no_items,
        validation_human_items=validation_human_items,
        committed=committed,
    )
