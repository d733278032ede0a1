"""Choose the confidence threshold above which the model labels items by itself.

The threshold is chosen on a held-out validation set: items that people labelled and the
model never trained on. For each validation item we know the model's confidence ``c`` and
whether the model's label agrees with the consolidated human label (``correct``).

Guarantee (``choose_threshold``): with probability at least ``confidence_level`` over the
draw of the validation set, the accuracy of the items whose confidence is at least the
returned threshold is at least ``target_accuracy``. Each candidate threshold t is a test of
the hypothesis "accuracy(c >= t) < target" with the one-sided Clopper-Pearson lower bound.
Scanning many thresholds and keeping the best would test many hypotheses at once and the
chance of one false pass grows with their number; we avoid that with **fixed-sequence
testing** (as in Learn-then-Test, Angelopoulos et al. 2021): the candidates are tested in
an order fixed before looking at correctness (from high confidence to low), each at the
full level, and the scan stops at the first candidate that fails. Fixed-sequence testing
controls the family-wise error at ``1 - confidence_level`` with no correction.

The candidates are the confidences of the n-th most confident validation items, n
stepping from a start count down to the whole set; the order uses the confidences only,
never correctness. Where a chain starts matters: the highest thresholds hold few items and
one error there would end the scan (with 59 items, 95% is provable only if all 59 are
right). So we run a few chains, starting at n0, 2 n0, 4 n0, ... items, each a
fixed-sequence test at level alpha / m (Bonferroni over the m chains, n0 the fewest items
that could pass at that level), and keep the largest coverage any chain reached. The
family-wise error stays at most alpha = 1 - confidence_level; the price is a slightly
stricter bound (alpha / 7 for 7,000 validation items). ``tests/autolabel`` checks the
promised rate by simulation.

``choose_threshold_naive`` is the point-estimate rule (largest coverage whose observed
accuracy reaches the target); it has no guarantee and is here to compare against.

``choose_iou_threshold`` is the same scan for boxes: the per-image mean IoU must reach
``target_iou`` (0.6 in Ground Truth), with a lower bound for a mean of values in [0, 1]
(the better of Hoeffding's and Maurer-Pontil's empirical Bernstein bound, each at half the
error level, so that taking the better of the two stays valid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

ThresholdMethod = Literal["fixed-sequence", "naive"]


@dataclass(frozen=True)
class ThresholdResult:
    """The chosen threshold and what the validation set says about it.

    ``threshold`` is None when no threshold meets the target: label nothing automatically.
    ``coverage`` is the share of validation items with confidence >= threshold;
    ``accuracy`` the observed accuracy (or mean IoU) of those items; ``lower_bound`` its
    one-sided lower confidence bound at ``confidence_level``.
    """

    threshold: float | None
    coverage: float
    accuracy: float
    lower_bound: float
    n_selected: int
    n_validation: int
    target: float
    confidence_level: float
    method: str

    @property
    def feasible(self) -> bool:
        return self.threshold is not None

    def select(self, confidence: ArrayLike) -> NDArray[np.bool_]:
        """Mask of the items (any set, e.g. the unlabelled pool) at or above the threshold."""
        c = np.asarray(confidence, dtype=float)
        if self.threshold is None:
            return np.zeros(c.shape, dtype=bool)
        return c >= self.threshold


def clopper_pearson_lower(
    successes: ArrayLike, trials: ArrayLike, confidence_level: float = 0.95
) -> NDArray[np.float64]:
    """One-sided Clopper-Pearson lower bound for a binomial proportion.

    P(p >= bound) >= confidence_level; the bound is 0 when there are no successes.
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    alpha = 1.0 - confidence_level
    with np.errstate(invalid="ignore", divide="ignore"):
        bound = stats.beta.ppf(alpha, k, n - k + 1)
    return np.asarray(np.where(k <= 0, 0.0, np.nan_to_num(bound, nan=0.0)), dtype=float)


def mean_lower_bound(
    sums: ArrayLike, sq_sums: ArrayLike, counts: ArrayLike, confidence_level: float = 0.95
) -> NDArray[np.float64]:
    """Lower confidence bound for the mean of values in [0, 1] (e.g. IoU).

    The larger of Hoeffding's bound and the empirical Bernstein bound of Maurer and Pontil
    (2009), each at error (1 - confidence_level) / 2.
    """
    s = np.asarray(sums, dtype=float)
    s2 = np.asarray(sq_sums, dtype=float)
    n = np.maximum(np.asarray(counts, dtype=float), 1.0)
    delta = (1.0 - confidence_level) / 2.0
    mean = s / n
    hoeffding = mean - np.sqrt(np.log(1.0 / delta) / (2.0 * n))
    var = np.maximum(s2 / n - mean**2, 0.0) * n / np.maximum(n - 1.0, 1.0)
    log_term = np.log(2.0 / delta)
    bernstein = (
        mean - np.sqrt(2.0 * var * log_term / n) - 7.0 * log_term / (3.0 * np.maximum(n - 1.0, 1.0))
    )
    return np.asarray(np.clip(np.maximum(hoeffding, bernstein), 0.0, 1.0), dtype=float)


def _validate(confidence: ArrayLike, values: ArrayLike) -> tuple[NDArray, NDArray]:
    c = np.asarray(confidence, dtype=float).ravel()
    v = np.asarray(values, dtype=float).ravel()
    if c.shape != v.shape:
        raise ValueError(f"confidence has {c.size} values but the outcomes have {v.size}")
    if c.size and not np.all(np.isfinite(c)):
        raise ValueError("confidence contains NaN or infinite values")
    return c, v


def _sorted_prefix_stats(
    c: NDArray, v: NDArray
) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """Sort by confidence, descending; per distinct threshold: counts and sums of c >= t."""
    order = np.argsort(-c, kind="stable")
    cs, vs = c[order], v[order]
    cum = np.cumsum(vs)
    cum2 = np.cumsum(vs * vs)
    # Last position of each run of equal confidence: c >= t includes every tie.
    last = np.flatnonzero(np.r_[cs[1:] != cs[:-1], True])
    return cs[last], (last + 1).astype(float), cum[last], cum2[last], last


def _min_count(target: float, alpha: float, kind: str) -> int:
    """Fewest items for which a perfect record (all right / IoU 1) can pass at all."""
    if kind == "accuracy":
        return math.ceil(math.log(alpha) / math.log(target))
    return math.ceil(math.log(2.0 / alpha) / (2.0 * (1.0 - target) ** 2))


def _chain_starts(n_val: int, target: float, alpha: float, kind: str) -> list[int]:
    """Start counts n0, 2 n0, 4 n0, ... <= n_val of the fixed-sequence chains, where n0 is
    the minimal count at the Bonferroni level alpha / (number of chains)."""
    best: list[int] = []
    for m in range(1, 64):
        n0 = _min_count(target, alpha / m, kind)
        starts = [n0 * 2**j for j in range(m)]
        if starts[-1] > n_val:
            break
        best = starts
    return best


def _empty(n: int, target: float, level: float, method: str) -> ThresholdResult:
    return ThresholdResult(None, 0.0, float("nan"), 0.0, 0, n, target, level, method)


def _scan(
    c: NDArray,
    v: NDArray,
    *,
    target: float,
    confidence_level: float,
    method: ThresholdMethod,
    kind: Literal["accuracy", "iou"],
    max_tests: int,
    prior_count: int = 0,
    prior_sum: float = 0.0,
    prior_sq_sum: float = 0.0,
) -> ThresholdResult:
    n_val = c.size + prior_count
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be in (0, 1), got {target}")
    if not 0.0 < confidence_level < 1.0:
        raise ValueError(f"confidence_level must be in (0, 1), got {confidence_level}")
    if method not in ("fixed-sequence", "naive"):
        raise ValueError(f"unknown method {method!r}: use 'fixed-sequence' or 'naive'")
    if c.size == 0:
        return _empty(n_val, target, confidence_level, method)
    thresholds, counts, sums, sq_sums, _ = _sorted_prefix_stats(c, v)
    # Items selected in earlier iterations always count (see choose_threshold).
    counts = counts + prior_count
    sums = sums + prior_sum
    sq_sums = sq_sums + prior_sq_sum
    point = sums / counts

    def bound(level: float) -> NDArray[np.float64]:
        if kind == "accuracy":
            return clopper_pearson_lower(sums, counts, level)
        return mean_lower_bound(sums, sq_sums, counts, level)

    if method == "naive":
        lower = bound(confidence_level)
        ok = np.flatnonzero(point >= target)
        if ok.size == 0:
            return _empty(n_val, target, confidence_level, method)
        best = int(ok[-1])  # lowest threshold, largest coverage
    else:
        alpha = 1.0 - confidence_level
        starts = _chain_starts(n_val, target, alpha, kind)
        if not starts:
            return _empty(n_val, target, confidence_level, method)
        lower = bound(1.0 - alpha / len(starts))
        best = -1
        for n_start in starts:
            step = max(1, math.ceil((n_val - n_start) / max(1, max_tests - 1)))
            wanted = np.minimum(np.arange(n_start, n_val + step, step), n_val)
            # First distinct threshold whose count reaches each wanted count.
            pos = np.unique(np.searchsorted(counts, wanted, side="left"))
            for p in pos[pos < counts.size]:
                if lower[p] < target:
                    break
                best = max(best, int(p))
        if best < 0:
            return _empty(n_val, target, confidence_level, method)
    return ThresholdResult(
        threshold=float(thresholds[best]),
        coverage=float(counts[best] / n_val),
        accuracy=float(point[best]),
        lower_bound=float(lower[best]),
        n_selected=int(counts[best]),
        n_validation=n_val,
        target=target,
        confidence_level=confidence_level,
        method=method,
    )


def choose_threshold(
    confidence: ArrayLike,
    correct: ArrayLike,
    *,
    target_accuracy: float = 0.95,
    confidence_level: float = 0.95,
    method: ThresholdMethod = "fixed-sequence",
    max_tests: int = 200,
    prior_correct: int = 0,
    prior_count: int = 0,
) -> ThresholdResult:
    """Lowest confidence threshold whose accuracy provably reaches ``target_accuracy``.

    ``confidence``: model confidence per validation item (e.g. top class probability);
    ``correct``: 1 where the model's label equals the consolidated human label.

    ``prior_count`` / ``prior_correct``: validation items that earlier iterations would
    already have labelled automatically (and how many of those labels were right). They
    are left out of ``confidence``/``correct`` and always count as selected, so that the
    bound covers *all* automatic labels of the job, not only this iteration's: the items
    that cross a lowered threshold later are the harder ones, and judged alone against the
    whole validation set they would look better than they are.
    """
    c, v = _validate(confidence, correct)
    if v.size and not np.all((v == 0) | (v == 1)):
        raise ValueError("correct must contain only 0/1 or booleans")
    return _scan(
        c,
        v,
        target=target_accuracy,
        confidence_level=confidence_level,
        method=method,
        kind="accuracy",
        max_tests=max_tests,
        prior_count=prior_count,
        prior_sum=float(prior_correct),
        prior_sq_sum=float(prior_correct),
    )


def choose_threshold_naive(
    confidence: ArrayLike, correct: ArrayLike, *, target_accuracy: float = 0.95
) -> ThresholdResult:
    """Point-estimate rule: largest coverage whose observed accuracy reaches the target."""
    return choose_threshold(confidence, correct, target_accuracy=target_accuracy, method="naive")


def choose_iou_threshold(
    confidence: ArrayLike,
    iou: ArrayLike,
    *,
    target_iou: float = 0.6,
    confidence_level: float = 0.95,
    method: ThresholdMethod = "fixed-sequence",
    max_tests: int = 200,
) -> ThresholdResult:
    """Bounding boxes: per-image confidence and per-image mean IoU against the human boxes.

    Returns the lowest threshold at which the mean IoU of the images above it provably
    reaches ``target_iou`` (``accuracy`` and ``lower_bound`` then hold mean IoU).
    """
    c, v = _validate(confidence, iou)
    if v.size and (np.any(v < 0) or np.any(v > 1) or not np.all(np.isfinite(v))):
        raise ValueError("iou values must lie in [0, 1]")
    return _scan(
        c,
        v,
        target=target_iou,
        confidence_level=confidence_level,
        method=method,
        kind="iou",
        max_tests=max_tests,
    )


class ConfidenceThreshold:
    """Estimator form of :func:`choose_threshold` (scikit-learn conventions).

    ``fit(confidence, correct)`` sets ``threshold_`` (None when infeasible), ``coverage_``,
    ``accuracy_``, ``lower_bound_`` and ``result_``; ``predict(confidence)`` is the mask of
    items to label automatically.
    """

    def __init__(
        self,
        *,
        target_accuracy: float = 0.95,
        confidence_level: float = 0.95,
        method: ThresholdMethod = "fixed-sequence",
        max_tests: int = 200,
    ) -> None:
        self.target_accuracy = target_accuracy
        self.confidence_level = confidence_level
        self.method = method
        self.max_tests = max_tests

    def fit(self, confidence: ArrayLike, correct: ArrayLike) -> ConfidenceThreshold:
        result = choose_threshold(
            confidence,
            correct,
            target_accuracy=self.target_accuracy,
            confidence_level=self.confidence_level,
            method=self.method,
            max_tests=self.max_tests,
        )
        self.result_ = result
        self.threshold_ = result.threshold
        self.coverage_ = result.coverage
        self.accuracy_ = result.accuracy
        self.lower_bound_ = result.lower_bound
        return self

    def predict(self, confidence: ArrayLike) -> NDArray[np.bool_]:
        return self.result_.select(confidence)
