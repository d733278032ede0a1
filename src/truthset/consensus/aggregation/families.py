"""Synthetic crowds drawn from each model's own generative story, to test ``auto`` on
crowds it was not tuned on.

Each family names the method whose model generated it (``FAMILIES[name].model``): the
test of ``auto`` is that, without being told the family, it comes within 0.005 of the
accuracy of that method fitted to the same answers. Workers are drawn by popularity
(uniform, or a long Zipf tail of workers with few answers), each task gets between
``answers[0]`` and ``answers[1]`` distinct workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray, IntArray
from truthset.consensus.aggregation.simulate import SimulatedCrowd

Rng = np.random.Generator


@dataclass(frozen=True)
class Family:
    model: str
    """The aggregator whose generative story this is (a key of ``AGGREGATORS``)."""
    n_classes: int
    n_workers: int
    answers: tuple[int, int]
    long_tail: bool
    confusion: Callable[[Rng, int, int], FloatArray] | None
    """(W, K, K) P(label | truth) per worker; None for GLAD's per-item story."""
    description: str


def _one_coin(low: float, high: float) -> Callable[[Rng, int, int], FloatArray]:
    def make(rng: Rng, w: int, k: int) -> FloatArray:
        skill = 1 / k + (1 - 1 / k) * rng.uniform(low, high, w)
        eye = np.eye(k)
        return skill[:, None, None] * eye + ((1 - skill) / (k - 1))[:, None, None] * (1 - eye)

    return make


def _class_conditional(rng: Rng, w: int, k: int) -> FloatArray:
    # Each row a Dirichlet centred on the diagonal: class-specific strengths and confusions.
    alpha = np.ones((k, k)) * 0.7 + np.eye(k) * 4.0
    return np.stack([np.stack([rng.dirichlet(alpha[t]) for t in range(k)]) for _ in range(w)])


def _spammers(rng: Rng, w: int, k: int) -> FloatArray:
    # MACE: knows the answer with prob theta, else draws from its own strategy.
    spammer = rng.random(w) < 0.4
    theta = np.where(spammer, rng.uniform(0.0, 0.15, w), rng.uniform(0.5, 0.95, w))
    xi = rng.dirichlet(np.full(k, 0.3), w)
    return (1 - theta)[:, None, None] * xi[:, None, :] + theta[:, None, None] * np.eye(k)


def _adversarial(rng: Rng, w: int, k: int) -> FloatArray:
    good = _one_coin(0.4, 0.9)(rng, w, k)
    shifted = np.roll(np.eye(k), 1, axis=1) * 0.85 + 0.15 / k
    bad = rng.random(w) < 0.3
    good[bad] = shifted
    return good


FAMILIES: dict[str, Family] = {
    "one-coin": Family("onecoin", 4, 60, (3, 7), False, _one_coin(0.2, 0.8), "one-coin workers"),
    "confusion": Family(
        "ds", 4, 40, (5, 9), False, _class_conditional, "class-conditional confusion matrices"
    ),
    "spammers": Family(
        "mace", 3, 50, (3, 7), False, _spammers, "MACE: 40% spammers with a favourite label"
    ),
    "adversarial": Family(
        "ds", 3, 40, (5, 9), False, _adversarial, "30% workers answer the next class"
    ),
    "sparse": Family(
        "onecoin", 2, 1500, (1, 5), True, _one_coin(0.2, 0.9), "long tail, 1-5 answers/item"
    ),
    "many-classes": Family(
        "onecoin", 20, 80, (10, 20), False, _one_coin(0.05, 0.6), "20 classes, 10-20 answers"
    ),
    "glad": Family("glad", 2, 60, (1, 20), False, None, "GLAD: worker ability x item easiness"),
}


def simulate_family(name: str, n_tasks: int = 2000, random_state: int = 0) -> SimulatedCrowd:
    """Answers from family ``name`` (a key of ``FAMILIES``), with truth and true skills."""
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; choose from {sorted(FAMILIES)}")
    fam = FAMILIES[name]
    rng = np.random.default_rng(random_state)
    k, w = fam.n_classes, fam.n_workers
    truth = rng.integers(0, k, n_tasks)
    tasks, workers = _assignments(rng, n_tasks, w, fam.answers, fam.long_tail)
    if fam.confusion is not None:
        confusion = fam.confusion(rng, w, k)
        rows = confusion[workers, truth[tasks]]  # (n_answers, K)
        skills = np.einsum("wtt->w", confusion) / k
    else:
        alpha = np.where(rng.random(w) < 0.1, -1.0, 1.0) * rng.gamma(2.0, 0.8, w)
        easiness = np.exp(rng.normal(0.0, 0.8, n_tasks))
        right = expit(alpha[workers] * easiness[tasks])
        rows = np.repeat(((1 - right) / (k - 1))[:, None], k, axis=1)
        rows[np.arange(len(tasks)), truth[tasks]] = right
        skills = np.bincount(workers, right, w) / np.maximum(np.bincount(workers, minlength=w), 1)
    cumulative = rows.cumsum(axis=1)
    labels = (rng.random(len(tasks))[:, None] > cumulative).sum(axis=1)
    labels = np.minimum(labels, k - 1)
    answers = AnswerMatrix(tasks, workers, labels, n_tasks, w, k)
    return SimulatedCrowd(answers, truth, skills)


def _assignments(
    rng: Rng, n_tasks: int, n_workers: int, per_task: tuple[int, int], long_tail: bool
) -> tuple[IntArray, IntArray]:
    """Task and worker per answer: a random count per task, distinct workers per task,
    workers drawn uniformly or by a Zipf popularity (a few prolific, most with a handful)."""
    low, high = per_task
    counts = rng.integers(low, high + 1, n_tasks)
    weights = 1.0 / np.arange(1, n_workers + 1) ** (1.1 if long_tail else 0.0)
    weights /= weights.sum()
    chosen = rng.choice(n_workers, size=(n_tasks, high), p=weights)
    used = np.arange(high)[None, :] < counts[:, None]
    while True:
        ordered = np.sort(np.where(used, chosen, -1 - np.arange(high)[None, :]), axis=1)
        bad = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
        if bad.size == 0:
            break
        chosen[bad] = rng.choice(n_workers, size=(bad.size, high), p=weights)
    tasks = np.repeat(np.arange(n_tasks), counts)
    return tasks, chosen[used]
