"""Model-assisted consensus and label-issue flagging.

``ModelAssistedConsensus`` follows CROWDLAB (Goh, Tkachenko and Mueller 2022): the model's
out-of-sample probabilities count as one more annotator whose weight depends on how well
it agrees with the crowd, next to each worker's weight from how often the worker agrees
with the others. It helps most for items with one or two answers, where majority vote
has little to go on.

``find_label_issues`` is confident learning (Northcutt, Jiang and Chuang 2021) for a
finished dataset: per-class thresholds t_k = mean predicted probability of class k over
the items labelled k; an item is flagged when some other class k clears its threshold
t_k and beats the given label. Use out-of-sample probabilities (``out_of_sample_proba``).

Everything works on integer codes: item index 0..n-1, class id 0..K-1, any worker ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

_EPS = 1e-3


def vote_counts(items: ArrayLike, labels: ArrayLike, n_items: int, n_classes: int) -> NDArray:
    """(n_items, n_classes) matrix of answer counts."""
    it = np.asarray(items, dtype=np.intp)
    lab = np.asarray(labels, dtype=np.intp)
    if it.shape != lab.shape:
        raise ValueError("items and labels must have the same length")
    if lab.size and (lab.min() < 0 or lab.max() >= n_classes):
        raise ValueError(f"labels must be class ids in [0, {n_classes})")
    counts = np.zeros((n_items, n_classes))
    np.add.at(counts, (it, lab), 1.0)
    return counts


def majority_vote(
    items: ArrayLike,
    labels: ArrayLike,
    n_items: int,
    n_classes: int,
    random_state: int | np.random.Generator | None = None,
) -> NDArray[np.intp]:
    """Majority label per item, ties broken at random; -1 for items without answers."""
    counts = vote_counts(items, labels, n_items, n_classes)
    rng = np.random.default_rng(random_state)
    jitter = rng.uniform(0.0, 0.5, size=counts.shape)
    out = np.argmax(counts + jitter * (counts == counts.max(axis=1, keepdims=True)), axis=1)
    out[counts.sum(axis=1) == 0] = -1
    return out.astype(np.intp)


class ModelAssistedConsensus:
    """CROWDLAB-style consensus of worker answers and model probabilities.

    ``fit(proba, items, workers, labels)`` sets ``labels_`` (consensus class per item; the
    model's argmax where an item has no answers), ``proba_`` (consensus distribution),
    ``confidence_``, ``answered_``, ``model_weight_``, ``workers_`` (worker ids),
    ``worker_weights_``, ``worker_agreement_`` and ``worker_index_`` (row -> worker).
    """

    def __init__(self, *, use_model: bool = True) -> None:
        self.use_model = use_model

    def fit(
        self,
        proba: ArrayLike,
        items: ArrayLike,
        workers: ArrayLike,
        labels: ArrayLike,
        *,
        n_items: int | None = None,
    ) -> ModelAssistedConsensus:
        p = np.asarray(proba, dtype=float)
        if p.ndim != 2:
            raise ValueError("proba must be a 2-D array (items x classes)")
        n, k = p.shape
        if n_items is not None and n_items != n:
            raise ValueError(f"proba has {n} rows but n_items is {n_items}")
        it = np.asarray(items, dtype=np.intp)
        lab = np.asarray(labels, dtype=np.intp)
        wk = np.asarray(workers)
        if not (it.shape == lab.shape == wk.shape):
            raise ValueError("items, workers and labels must have the same length")
        if it.size and (it.min() < 0 or it.max() >= n):
            raise ValueError(f"item indices must be in [0, {n})")
        counts = vote_counts(it, lab, n, k)
        n_ans = counts.sum(axis=1)
        answered = n_ans > 0
        # Majority vote, ties broken by the model.
        mv = np.argmax(counts + 1e-6 * p, axis=1)
        workers_, w_idx = np.unique(wk, return_inverse=True)
        n_workers = workers_.size

        # Leave-one-out agreement of each worker with the others on the same item.
        multi = n_ans[it] >= 2
        agree_num = np.bincount(
            w_idx[multi], weights=counts[it[multi], lab[multi]] - 1.0, minlength=n_workers
        )
        agree_den = np.bincount(w_idx[multi], weights=n_ans[it[multi]] - 1.0, minlength=n_workers)
        overall = agree_num.sum() / agree_den.sum() if agree_den.sum() > 0 else np.nan
        # Workers who never shared an item: agreement with the consensus, else the average.
        fallback = np.bincount(
            w_idx, weights=(lab == mv[it]).astype(float), minlength=n_workers
        ) / np.maximum(np.bincount(w_idx, minlength=n_workers), 1)
        agreement = np.where(agree_den > 0, agree_num / np.maximum(agree_den, 1e-12), fallback)
        if np.isnan(overall):
            overall = float(np.mean(agreement)) if n_workers else 1.0 / k

        cons_classes = mv[answered]
        if cons_classes.size:
            freq = np.bincount(cons_classes, minlength=k) / cons_classes.size
            baseline_err = max(1.0 - float(freq.max()), _EPS)
        else:
            baseline_err = 1.0 - 1.0 / k
        worker_w = np.maximum(1.0 - (1.0 - agreement) / baseline_err, _EPS)
        if self.use_model and answered.any():
            model_err = float(np.mean(np.argmax(p[answered], axis=1) != mv[answered]))
            mean_answers = float(n_ans[answered].mean())
            model_w = max(1.0 - model_err / baseline_err, _EPS) * np.sqrt(mean_answers)
        else:
            model_w = 0.0 if not self.use_model else 1.0

        # Each answer is a noisy vote: its class gets P, the others (1 - P) / (K - 1).
        p_agree = float(np.clip(overall, 1.0 / k, 1.0 - 1e-6))
        off = (1.0 - p_agree) / max(k - 1, 1)
        w_rows = worker_w[w_idx]
        weighted = np.zeros((n, k))
        np.add.at(weighted, (it, lab), w_rows * (p_agree - off))
        w_sum = np.bincount(it, weights=w_rows, minlength=n)
        post = model_w * p + weighted + (w_sum * off)[:, None]
        post /= np.maximum(model_w + w_sum, 1e-12)[:, None]
        post /= post.sum(axis=1, keepdims=True)

        self.labels_ = np.argmax(post, axis=1).astype(np.intp)
        self.proba_ = post
        self.confidence_ = post.max(axis=1)
        self.answered_ = answered
        self.model_weight_ = float(model_w)
        self.workers_ = workers_
        self.worker_weights_ = worker_w
        self.worker_agreement_ = agreement
        self.worker_index_ = w_idx
        return self

    def fit_predict(
        self, proba: ArrayLike, items: ArrayLike, workers: ArrayLike, labels: ArrayLike
    ) -> NDArray[np.intp]:
        return self.fit(proba, items, workers, labels).labels_


@dataclass(frozen=True)
class LabelIssues:
    """``is_issue`` per item; ``suggested`` class (the confident class, else the label);
    ``self_confidence`` = p(given label) (lower = more suspicious); ``ranking`` = flagged
    items, most suspicious first; ``thresholds`` = per-class t_k."""

    is_issue: NDArray[np.bool_]
    suggested: NDArray[np.intp]
    self_confidence: NDArray[np.float64]
    ranking: NDArray[np.intp]
    thresholds: NDArray[np.float64]


def find_label_issues(proba: ArrayLike, labels: ArrayLike) -> LabelIssues:
    """Confident-learning label issues from out-of-sample ``proba`` and given ``labels``."""
    p = np.asarray(proba, dtype=float)
    y = np.asarray(labels, dtype=np.intp)
    if p.ndim != 2 or p.shape[0] != y.size:
        raise ValueError("proba must be (n_items, n_classes) with one label per item")
    n, k = p.shape
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels must be class ids in [0, {k})")
    sums = np.zeros(k)
    np.add.at(sums, y, p[np.arange(n), y] if n else 0.0)
    counts = np.bincount(y, minlength=k)
    # t_k: average self-confidence of the items labelled k (1.0 where no item has label k,
    # so that an unused class is never "confidently" suggested).
    thresholds = np.ones(k)
    seen = counts > 0
    class_sums = np.zeros(k)
    for c in np.flatnonzero(seen):
        class_sums[c] = p[y == c, c].mean()
    thresholds[seen] = class_sums[seen]
    above = p >= thresholds[None, :] - 1e-12
    masked = np.where(above, p, -np.inf)
    confident = np.argmax(masked, axis=1)
    has_conf = above.any(axis=1)
    self_conf = p[np.arange(n), y]
    is_issue = has_conf & (confident != y) & (p[np.arange(n), confident] > self_conf)
    suggested = np.where(is_issue, confident, y).astype(np.intp)
    flagged = np.flatnonzero(is_issue)
    ranking = flagged[np.argsort(self_conf[flagged], kind="stable")]
    return LabelIssues(is_issue, suggested, self_conf, ranking, thresholds)


def out_of_sample_proba(
    model: object,
    X: ArrayLike,
    y: ArrayLike,
    *,
    n_classes: int | None = None,
    n_splits: int = 5,
    random_state: int | None = 0,
) -> NDArray[np.float64]:
    """Cross-validated predicted probabilities (n_items, K), columns in class-id order.

    ``model`` is any estimator with ``fit``/``predict_proba``/``classes_``; it is cloned
    (sklearn.base.clone, or copy.deepcopy when clone does not apply) for every fold.
    """
    import copy

    yy = np.asarray(y, dtype=np.intp)
    k = int(n_classes if n_classes is not None else yy.max() + 1)
    min_count = np.bincount(yy, minlength=k)[np.bincount(yy, minlength=k) > 0].min()
    splits = max(2, min(n_splits, int(min_count)))
    skf = StratifiedKFold(n_splits=splits, shuffle=True, random_state=random_state)
    out = np.zeros((yy.size, k))
    Xa = X
    for train, test in skf.split(np.zeros(yy.size), yy):
        try:
            m: Any = clone(model)
        except TypeError:
            m = copy.deepcopy(model)
        m.fit(_take(Xa, train), yy[train])
        pr = np.asarray(m.predict_proba(_take(Xa, test)))
        cols = np.asarray(m.classes_, dtype=np.intp)
        out[np.ix_(test, cols)] = pr
    return out


def _take(X: ArrayLike, idx: NDArray[np.intp]) -> object:
    if hasattr(X, "shape") and hasattr(X, "__getitem__") and not isinstance(X, list):
        return X[idx]  # type: ignore[index]
    return [X[i] for i in idx]  # type: ignore[index]
