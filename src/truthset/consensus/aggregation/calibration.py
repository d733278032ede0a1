"""Calibrated confidences: expected calibration error, and a temperature learnt without
gold (from held-out answers) or with it (from the gold labels).

A posterior is calibrated when, of the tasks given confidence 0.8, 80% are right. EM
posteriors are usually over-confident (they treat estimated worker parameters as known).
One temperature ``T`` rescales the log posterior, ``p^(1/T)`` renormalised: it keeps every
label and changes only how sure the model claims to be. Without gold, ``T`` is chosen so
that the posteriors of the folds best predict the answers held out of them (the same
held-out likelihood the method choice uses; a posterior that claims too much predicts a
new worker's answer badly); with enough gold, ``T`` minimises the gold labels' log loss.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize_scalar

from truthset.consensus.aggregation.base import EPS
from truthset.consensus.aggregation.encoding import FloatArray, IntArray

MIN_GOLD_FOR_TEMPERATURE = 30


def expected_calibration_error(
    confidences: FloatArray, correct: np.ndarray, n_bins: int = 10
) -> float:
    """ECE over equal-width bins of confidence: sum over bins of (share of tasks) times
    |accuracy - mean confidence|."""
    conf = np.asarray(confidences, dtype=np.float64)
    right = np.asarray(correct, dtype=np.float64)
    if conf.size == 0:
        return float("nan")
    bins = np.minimum((conf * n_bins).astype(np.int64), n_bins - 1)
    gap = np.bincount(bins, right - conf, minlength=n_bins)
    return float(np.abs(gap).sum() / conf.size)


def tempered(posteriors: FloatArray, temperature: float) -> FloatArray:
    """``p^(1/T)`` renormalised per row (T = 1 leaves the posteriors as they are)."""
    if temperature == 1.0:
        return posteriors
    logs = np.log(np.maximum(posteriors, EPS)) / temperature
    logs -= logs.max(axis=1, keepdims=True)
    out = np.exp(logs)
    out /= out.sum(axis=1, keepdims=True)
    return out


def _fit_temperature(loss: Callable[[float], float]) -> float:
    result = minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded")  # over log T
    return float(np.exp(result.x))


def temperature_from_answers(
    posteriors: np.ndarray, likelihoods: np.ndarray, min_z: float = 2.0
) -> float:
    """T maximising sum_a log sum_t tempered(post)[a, t] * P(label_a | t) over held-out
    answers (``posteriors``: their tasks' fold posteriors). T stays 1 unless it predicts
    the held-out answers better by more than ``min_z`` standard errors of the per-answer
    difference: a temperature learnt on noise would only move calibrated posteriors."""
    post = np.asarray(posteriors, dtype=np.float64)
    lik = np.asarray(likelihoods, dtype=np.float64)
    if post.shape[1] < 2 or post.shape[0] < 2:
        return 1.0

    def per_answer(t: float) -> FloatArray:
        return np.log(np.maximum(np.einsum("at,at->a", tempered(post, t), lik), EPS))

    temperature = _fit_temperature(lambda log_t: -float(per_answer(np.exp(log_t)).sum()))
    gain = per_answer(temperature) - per_answer(1.0)
    if gain.mean() <= min_z * gain.std(ddof=1) / np.sqrt(len(gain)):
        return 1.0
    return temperature


def temperature_from_gold(posteriors: FloatArray, gold_tasks: IntArray, gold: IntArray) -> float:
    """T minimising the log loss of the gold labels (1.0 with fewer than 30 gold tasks)."""
    if len(gold_tasks) < MIN_GOLD_FOR_TEMPERATURE or posteriors.shape[1] < 2:
        return 1.0
    post = posteriors[gold_tasks]

    def loss(log_t: float) -> float:
        p = tempered(post, float(np.exp(log_t)))
        return -float(np.log(np.maximum(p[np.arange(len(gold)), gold], EPS)).sum())

    return _fit_temperature(loss)
