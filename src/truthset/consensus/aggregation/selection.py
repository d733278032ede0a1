"""Held-out answer likelihood: how well a fitted model predicts answers it has not seen.

The answers are split at random into folds. For each fold, a method is fitted on the other
answers and asked for the probability of every held-out answer:
``P(label | rest) = sum_t P(truth = t | the task's other answers) * P(label | t, worker)``,
the task's posterior from the fit times the worker's answer model. The mean log of that
probability is an estimate of the expected log predictive density of a new answer, the
quantity cross-validation estimates for model choice in general: a model that over-fits
its confusion matrices (full Dawid-Skene on sparse workers) predicts new answers badly,
one that is too rigid (one coin for a worker with a systematic confusion) too. Workers
that a fold's training answers never saw get the method's crowd-level answer model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from truthset.consensus.aggregation.base import EPS, BaseAggregator
from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray, IntArray

# Bound on the (answers, K, K) blocks an answer model is asked for at once.
_MODEL_CELLS = 4_000_000


@dataclass(frozen=True)
class HeldOut:
    """One method's held-out predictions: per scored answer, the log-probability of the
    given label, and (float32) the fold posterior of its task and P(given label | t)."""

    log_likelihood: FloatArray
    posteriors: np.ndarray
    likelihoods: np.ndarray

    @property
    def mean(self) -> float:
        """Mean per scored answer; -inf when no answer could be scored."""
        if self.log_likelihood.size == 0:
            return float("-inf")
        return float(self.log_likelihood.mean())


def fold_assignment(n_answers: int, n_folds: int, random_state: int) -> IntArray:
    """A random fold per answer, equal sizes up to one."""
    rng = np.random.default_rng(random_state)
    folds = np.empty(n_answers, dtype=np.int64)
    folds[rng.permutation(n_answers)] = np.arange(n_answers) % n_folds
    return folds


def folds_to_run(n_answers: int, n_folds: int, max_scored: int) -> int:
    """Enough folds to score ``max_scored`` answers (the estimate's error shrinks as one over
    the root of that), and not more: on a million answers one fold is plenty."""
    fold_size = max(n_answers // max(n_folds, 1), 1)
    return int(min(n_folds, max(1, -(-max_scored // fold_size))))


def answer_likelihoods(estimator: BaseAggregator, answers: AnswerMatrix) -> FloatArray:
    """(n_answers, K): P(the given label | true class t, the worker) under a fitted model."""
    k = answers.n_classes
    out = np.empty((answers.n_answers, k))
    step = max(1, _MODEL_CELLS // max(k * k, 1))
    for start in range(0, answers.n_answers, step):
        block = np.zeros(answers.n_answers, dtype=bool)
        block[start : start + step] = True
        part = answers.subset(block)
        model = estimator.answer_model(part)  # (n, K_true, K_given)
        out[start : start + step] = model[np.arange(part.n_answers), :, part.labels]
    return out


def held_out(
    make: Callable[[], BaseAggregator],
    answers: AnswerMatrix,
    folds: IntArray,
    n_run: int,
) -> HeldOut:
    """Fit ``make()`` without each of the first ``n_run`` folds and score that fold (a
    fold that is empty, or holds every answer, as with one or two answers, is skipped)."""
    k = answers.n_classes
    logs, posts, liks = [np.zeros(0)], [np.zeros((0, k), np.float32)], [np.zeros((0, k))]
    for fold in range(n_run):
        test = folds == fold
        if not test.any() or test.all():
            continue
        fitted = make().fit(answers.subset(~test))
        scored = answers.subset(test)
        post = fitted.posteriors_[scored.tasks]
        lik = answer_likelihoods(fitted, scored)
        logs.append(np.log(np.maximum(np.einsum("at,at->a", post, lik), EPS)))
        posts.append(post.astype(np.float32))
        liks.append(lik.astype(np.float32))
    return HeldOut(
        np.concatenate(logs),
        np.concatenate(posts).astype(np.float32),
        np.concatenate(liks).astype(np.float32),
    )


def paired_std_error(a: FloatArray, b: FloatArray) -> float:
    """Standard error of the mean per-answer difference of two methods' held-out scores
    (the same answers, so the difference is paired)."""
    diff = a - b
    return float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("inf")
