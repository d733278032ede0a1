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

``profile`` turns those joint scores into scores of each method's *truth estimate*: the
held-out answers are predicted from method m's fold posterior with every candidate's fold
answer model r (all fitted on the same training answers), and m is scored by its best r.
The answer model is a nuisance: a joint score lets a flexible one explain the answers
around a truth estimate that drifted (BCC putting neighbouring grades together); with r
profiled out, every truth estimate is scored on the same footing.
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


@dataclass(frozen=True)
class Profiled:
    """A truth estimate's held-out score under the answer model that predicts best with it."""

    answer_model: str
    """The candidate whose fold answer model gave the best score."""
    scores: HeldOut
    """Per scored answer: log P(label), the estimate's fold posterior, that model's P(label | t)."""

    @property
    def mean(self) -> float:
        return self.scores.mean


def profile(scores: dict[str, HeldOut]) -> dict[str, Profiled]:
    """Per candidate m: max over candidates r of the mean held-out log-likelihood of the
    answers under m's fold posteriors and r's fold answer models. Every ``HeldOut`` must
    score the same answers (the same folds), as ``held_out`` does given one assignment."""
    out: dict[str, Profiled] = {}
    for m, own in scores.items():
        best = Profiled(m, own)
        for r, other in scores.items():
            if r == m or other.log_likelihood.size != own.log_likelihood.size:
                continue
            logs = log_likelihood_with(own, other)
            if logs.size and logs.mean() > best.mean:
                best = Profiled(r, HeldOut(logs, own.posteriors, other.likelihoods))
        out[m] = best
    return out


def log_likelihood_with(own: HeldOut, other: HeldOut) -> FloatArray:
    """Per scored answer: log P(label) under ``own``'s fold posteriors and ``other``'s fold
    answer model (both must score the same answers)."""
    # float32 products (both are stored so) summed over K, the log in float64
    p_label = np.einsum("at,at->a", own.posteriors, other.likelihoods)
    return np.log(np.maximum(p_label.astype(np.float64), EPS))


def paired_std_error(a: FloatArray, b: FloatArray) -> float:
    """Standard error of the mean per-answer difference of two methods' held-out scores
    (the same answers, so the difference is paired)."""
    diff = a - b
    return float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("inf")
