"""Active-learning selection: which items people should label next.

Every strategy returns a **priority per candidate item, higher = label first**; the
platform writes it to the work queue. Scores are computed from the model's predicted
probabilities on the candidates (``proba``, shape (n, K)) and, for diversity, from a
feature embedding of the candidates.

- ``random``: uniform random priorities (the baseline).
- ``least-confidence``: 1 - max p.
- ``margin``: 1 - (p1 - p2), the gap between the two most likely classes.
- ``entropy``: Shannon entropy of p, divided by log K.
- ``k-center``: k-center greedy (Sener & Savarese 2018) on the embedding, seeded with the
  already-labelled items: each pick is the candidate farthest from everything chosen so far.
- ``margin-diversity`` (mix): the ``pool_factor * batch_size`` most uncertain candidates by
  margin, then k-center greedy inside that pool, so that one batch is not many copies of
  the same confusing item.

``activelab_scores`` (Goh & Mueller 2023, "ActiveLab") ranks labelled *and* unlabelled
items together when several people answer each item, so the platform can choose between
asking for a new item and asking for one more answer on an item whose answers disagree
with each other or with the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from truthset.learning.consensus import ModelAssistedConsensus


def _proba(proba: ArrayLike) -> NDArray[np.float64]:
    p = np.asarray(proba, dtype=float)
    if p.ndim != 2:
        raise ValueError(f"proba must be a 2-D array (items x classes), got shape {p.shape}")
    return p


def least_confidence(proba: ArrayLike) -> NDArray[np.float64]:
    """1 - max probability."""
    p = _proba(proba)
    return 1.0 - p.max(axis=1) if p.shape[0] else np.zeros(0)


def margin(proba: ArrayLike) -> NDArray[np.float64]:
    """1 - (top-1 - top-2 probability); 1 means a tie between the two best classes."""
    p = _proba(proba)
    if p.shape[0] == 0:
        return np.zeros(0)
    if p.shape[1] < 2:
        return np.zeros(p.shape[0])
    top2 = np.partition(p, -2, axis=1)[:, -2:]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def entropy(proba: ArrayLike) -> NDArray[np.float64]:
    """Entropy of the predicted distribution, scaled to [0, 1]."""
    p = _proba(proba)
    if p.shape[0] == 0:
        return np.zeros(0)
    if p.shape[1] < 2:
        return np.zeros(p.shape[0])
    q = np.clip(p, 1e-12, 1.0)
    return np.asarray(-(q * np.log(q)).sum(axis=1) / np.log(p.shape[1]), dtype=float)


def random_priority(n: int, random_state: int | np.random.Generator | None = None) -> NDArray:
    rng = np.random.default_rng(random_state)
    return rng.uniform(size=n)


def k_center_greedy(
    embedding: ArrayLike,
    n_select: int,
    *,
    centers: ArrayLike | None = None,
    random_state: int | np.random.Generator | None = None,
) -> NDArray[np.intp]:
    """Indices (into ``embedding``) of ``n_select`` points chosen by k-center greedy.

    ``centers`` are points already covered (e.g. labelled items' embeddings). Without them,
    the first pick is random. Euclidean distance; O(n * n_select) time, O(n) memory.
    """
    z = np.asarray(embedding, dtype=np.float64)
    n = z.shape[0]
    n_select = min(int(n_select), n)
    if n_select <= 0:
        return np.zeros(0, dtype=np.intp)
    sq = np.einsum("ij,ij->i", z, z)
    min_d = np.full(n, np.inf)
    cz = None if centers is None else np.asarray(centers, dtype=np.float64)
    if cz is not None and cz.shape[0]:
        csq = np.einsum("ij,ij->i", cz, cz)
        for s in range(0, cz.shape[0], 1024):
            d = sq[:, None] - 2.0 * z @ cz[s : s + 1024].T + csq[None, s : s + 1024]
            min_d = np.minimum(min_d, d.min(axis=1))
    chosen = np.empty(n_select, dtype=np.intp)
    if np.all(np.isinf(min_d)):
        first = int(np.random.default_rng(random_state).integers(n))
    else:
        first = int(np.argmax(min_d))
    for i in range(n_select):
        pick = first if i == 0 else int(np.argmax(min_d))
        chosen[i] = pick
        d = sq - 2.0 * z @ z[pick] + sq[pick]
        min_d = np.minimum(min_d, d)
        min_d[pick] = -np.inf
    return chosen


def _rank_priority(order: NDArray[np.intp], n: int, rest: NDArray[np.float64]) -> NDArray:
    """Priorities: picks in ``order`` rank above all others (first pick highest); the
    others keep ``rest`` (scaled into [0, 1))."""
    pr = np.zeros(n)
    if n == 0:
        return pr
    span = np.ptp(rest) if rest.size else 0.0
    pr[:] = 0.999 * (rest - rest.min()) / span if span > 0 else 0.0
    k = order.size
    pr[order] = 1.0 + (k - np.arange(k)) / max(k, 1)
    return pr


@dataclass
class SelectionContext:
    """What a strategy may look at, for the candidate items (rows of ``proba``)."""

    proba: NDArray[np.float64]
    batch_size: int
    embedding: NDArray[np.float64] | None = None
    labeled_embedding: NDArray[np.float64] | None = None
    random_state: int | np.random.Generator | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Strategy = Callable[[SelectionContext], NDArray[np.float64]]


def _need_embedding(ctx: SelectionContext, name: str) -> NDArray[np.float64]:
    if ctx.embedding is None:
        raise ValueError(f"strategy {name!r} needs an embedding of the candidate items")
    return ctx.embedding


def _random(ctx: SelectionContext) -> NDArray[np.float64]:
    return random_priority(ctx.proba.shape[0], ctx.random_state)


def _k_center(ctx: SelectionContext) -> NDArray[np.float64]:
    z = _need_embedding(ctx, "k-center")
    order = k_center_greedy(
        z, ctx.batch_size, centers=ctx.labeled_embedding, random_state=ctx.random_state
    )
    return _rank_priority(order, z.shape[0], margin(ctx.proba))


def margin_diversity(ctx: SelectionContext, pool_factor: int = 5) -> NDArray[np.float64]:
    """Top ``pool_factor * batch_size`` by margin, then k-center greedy inside that pool."""
    u = margin(ctx.proba)
    n = u.size
    if ctx.embedding is None or n <= ctx.batch_size:
        return u
    pool_n = min(n, pool_factor * ctx.batch_size)
    pool = np.argsort(-u, kind="stable")[:pool_n]
    order = k_center_greedy(
        ctx.embedding[pool],
        ctx.batch_size,
        centers=ctx.labeled_embedding,
        random_state=ctx.random_state,
    )
    return _rank_priority(pool[order], n, u)


STRATEGIES: dict[str, Strategy] = {
    "random": _random,
    "least-confidence": lambda ctx: least_confidence(ctx.proba),
    "margin": lambda ctx: margin(ctx.proba),
    "entropy": lambda ctx: entropy(ctx.proba),
    "k-center": _k_center,
    "margin-diversity": margin_diversity,
}


def priority_scores(
    strategy: str | Strategy,
    proba: ArrayLike,
    *,
    batch_size: int,
    embedding: ArrayLike | None = None,
    labeled_embedding: ArrayLike | None = None,
    random_state: int | np.random.Generator | None = None,
) -> NDArray[np.float64]:
    """Priority per candidate (higher = label first) with the named strategy."""
    if isinstance(strategy, str):
        try:
            fn = STRATEGIES[strategy]
        except KeyError:
            names = ", ".join(sorted(STRATEGIES))
            raise ValueError(f"unknown strategy {strategy!r}; choose one of: {names}") from None
    else:
        fn = strategy
    ctx = SelectionContext(
        proba=_proba(proba),
        batch_size=int(batch_size),
        embedding=None if embedding is None else np.asarray(embedding, dtype=float),
        labeled_embedding=(
            None if labeled_embedding is None else np.asarray(labeled_embedding, dtype=float)
        ),
        random_state=random_state,
    )
    return np.asarray(fn(ctx), dtype=float)


def select_batch(priority: ArrayLike, batch_size: int) -> NDArray[np.intp]:
    """Indices of the ``batch_size`` highest priorities, highest first (stable on ties)."""
    pr = np.asarray(priority, dtype=float)
    k = min(int(batch_size), pr.size)
    return np.argsort(-pr, kind="stable")[:k]


@dataclass(frozen=True)
class ActiveLabScores:
    """``priority`` per item (higher = ask people first) for all items; ``labeled`` marks
    items that already have answers (a high priority there means: get one more answer)."""

    priority: NDArray[np.float64]
    quality: NDArray[np.float64]
    labeled: NDArray[np.bool_]
    consensus: NDArray[np.intp]


def activelab_scores(
    proba: ArrayLike,
    items: ArrayLike,
    workers: ArrayLike,
    labels: ArrayLike,
) -> ActiveLabScores:
    """ActiveLab-style scores over all items.

    ``proba`` (n_items, K): out-of-sample model probabilities for every item; ``items``,
    ``workers``, ``labels``: the long table of answers (item index, worker id, class id).

    For an item with answers, quality = weighted agreement with the consensus label:
    (w_model * p_model(consensus) + sum_j w_j * [answer_j == consensus]) /
    (w_model + sum_j w_j), with the weights of :class:`ModelAssistedConsensus` (CROWDLAB).
    For an item without answers the annotators are replaced by one virtual annotator of
    average weight who agrees with probability 1/K: quality = (w_model * max p + w_avg / K)
    / (w_model + w_avg). priority = 1 - quality, so unlabelled items the model is unsure of
    and labelled items whose answers conflict both rise to the top.
    """
    p = _proba(proba)
    n, k = p.shape
    it = np.asarray(items, dtype=np.intp)
    lab = np.asarray(labels, dtype=np.intp)
    cons = ModelAssistedConsensus().fit(p, it, np.asarray(workers), lab, n_items=n)
    labeled = np.zeros(n, dtype=bool)
    labeled[it] = True
    w_model = cons.model_weight_
    w_ans = cons.worker_weights_[cons.worker_index_]
    agree = (lab == cons.labels_[it]).astype(float)
    num = np.bincount(it, weights=w_ans * agree, minlength=n)
    den = np.bincount(it, weights=w_ans, minlength=n)
    p_cons = p[np.arange(n), np.maximum(cons.labels_, 0)]
    quality = np.empty(n)
    quality[labeled] = (w_model * p_cons[labeled] + num[labeled]) / (w_model + den[labeled])
    w_avg = float(np.mean(cons.worker_weights_)) if cons.worker_weights_.size else 1.0
    quality[~labeled] = (w_model * p[~labeled].max(axis=1) + w_avg / k) / (w_model + w_avg)
    return ActiveLabScores(
        priority=1.0 - quality, quality=quality, labeled=labeled, consensus=cons.labels_
    )
