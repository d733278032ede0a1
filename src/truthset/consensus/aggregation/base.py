"""What every aggregator shares: the fit/predict contract and the EM building blocks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import scipy.sparse as sp

from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray, IntArray

EPS = 1e-12


class BaseAggregator(ABC):
    """scikit-learn style: ``__init__`` stores keyword parameters, ``fit`` returns self.

    Fitted attributes: ``posteriors_`` (n_tasks, n_classes), ``labels_`` (n_tasks,),
    ``skills_`` (n_workers,, estimated probability that the worker answers correctly).
    """

    posteriors_: FloatArray
    labels_: IntArray
    skills_: FloatArray
    worker_answer_counts_: FloatArray

    def get_params(self) -> dict[str, Any]:
        """The keyword parameters given to ``__init__`` (fitted attributes end in ``_``)."""
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def fit(self, answers: AnswerMatrix) -> BaseAggregator:
        check_answers(answers)
        self._fit(answers)
        self.worker_answer_counts_ = answers.answers_per_worker.copy()
        return self

    @abstractmethod
    def _fit(self, answers: AnswerMatrix) -> None:
        """Set ``posteriors_``, ``labels_`` and ``skills_``."""

    def predict(self) -> IntArray:
        """Label code per task of the last fit."""
        return self.labels_

    def predict_proba(self) -> FloatArray:
        return self.posteriors_

    def fit_predict(self, answers: AnswerMatrix) -> IntArray:
        return self.fit(answers).predict()

    def fit_predict_proba(self, answers: AnswerMatrix) -> FloatArray:
        return self.fit(answers).predict_proba()

    def answer_model(self, answers: AnswerMatrix) -> FloatArray:
        """(n_answers, n_classes, n_classes): P(given label | true class) for each answer row.

        Used to score held-out answers: P(label) = sum_t posterior[task, t] * model[t, label].
        The default is a one-coin model from ``skills_``; workers never seen get the mean skill.
        """
        return one_coin_rows(self._skills_for(answers.workers), answers.n_classes)

    def _known_workers(self, workers: IntArray) -> np.ndarray:
        """True for answer rows whose worker had answers in the last fit."""
        counts = self.worker_answer_counts_
        known = workers < counts.shape[0]
        known[known] = counts[workers[known]] > 0
        return known

    def _skills_for(self, workers: IntArray) -> FloatArray:
        skills = self.skills_
        seen = self.worker_answer_counts_ > 0
        mean_skill = float(np.mean(skills[seen])) if seen.any() else 0.5
        out = np.full(workers.shape[0], mean_skill)
        known = self._known_workers(workers)
        out[known] = skills[workers[known]]
        return out

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def check_answers(answers: AnswerMatrix) -> None:
    if not isinstance(answers, AnswerMatrix):
        raise TypeError(
            f"fit expects an AnswerMatrix (see truthset.consensus.aggregation.encoding), "
            f"got {type(answers).__name__}"
        )
    if answers.n_answers == 0:
        raise ValueError("no answers to aggregate: the answer table is empty")
    if answers.n_classes < 1:
        raise ValueError("n_classes must be at least 1")


def argmax_labels(
    scores: FloatArray, random_state: int | np.random.Generator | None = None
) -> IntArray:
    """Argmax per row; ties go to a random winner when a seed is given, else the smallest code."""
    if random_state is None:
        return np.asarray(np.argmax(scores, axis=1), dtype=np.int64)
    rng = np.random.default_rng(random_state)
    top = scores.max(axis=1, keepdims=True)
    is_top = np.isclose(scores, top, rtol=1e-12, atol=1e-12)
    jitter = rng.random(scores.shape)
    return np.asarray(np.argmax(np.where(is_top, jitter, -1.0), axis=1), dtype=np.int64)


def task_worker_label_counts(answers: AnswerMatrix) -> sp.csr_matrix:
    """(n_tasks, n_workers * n_classes) answer counts, the one matrix both EM steps use."""
    key = "_task_worker_label"
    cached = answers.__dict__.get(key)
    if cached is None:
        cols = answers.workers * answers.n_classes + answers.labels
        cached = sp.csr_matrix(
            (np.ones(answers.n_answers), (answers.tasks, cols)),
            shape=(answers.n_tasks, answers.n_workers * answers.n_classes),
        )
        cached.sum_duplicates()
        answers.__dict__[key] = cached
    return cached


def e_step(
    answers: AnswerMatrix, log_confusion: FloatArray, log_prior: FloatArray
) -> tuple[FloatArray, float]:
    """Posteriors over true classes given per-worker log confusion matrices (W, K, K).

    Returns (posteriors, log-likelihood of the answers).
    """
    n_workers, k, _ = log_confusion.shape
    # rows (worker, given label), columns true class
    by_worker_label = log_confusion.transpose(0, 2, 1).reshape(n_workers * k, k)
    log_scores = task_worker_label_counts(answers) @ by_worker_label + log_prior[None, :]
    return normalize_log_scores(log_scores)


def normalize_log_scores(log_scores: FloatArray) -> tuple[FloatArray, float]:
    # A hand-rolled logsumexp in (K, n_tasks) layout: numpy reduces over a short last axis
    # slowly, and scipy's logsumexp is slower still; this is ~4x faster on (100k, 4).
    by_class = np.array(log_scores.T, dtype=np.float64, order="C")
    top = by_class.max(axis=0)
    by_class -= top
    np.exp(by_class, out=by_class)
    total = by_class.sum(axis=0)
    by_class /= total
    return np.ascontiguousarray(by_class.T), float((np.log(total) + top).sum())


def confusion_counts(answers: AnswerMatrix, posteriors: FloatArray) -> FloatArray:
    """(W, K_true, K_given): expected number of times each worker gave each label per class."""
    k = answers.n_classes
    counts = task_worker_label_counts(answers).T @ posteriors  # (W*K_given, K_true)
    return np.asarray(counts).reshape(answers.n_workers, k, k).transpose(0, 2, 1)


def symmetric_confusion(accuracy: FloatArray | float, n_classes: int) -> FloatArray:
    """(..., K, K) matrices with ``accuracy`` on the diagonal, the rest spread evenly."""
    acc = np.asarray(accuracy, dtype=np.float64)[..., None, None]
    if n_classes == 1:
        return np.ones((*acc.shape[:-2], 1, 1))
    eye = np.eye(n_classes)
    return acc * eye + (1.0 - acc) / (n_classes - 1) * (1.0 - eye)


def one_coin_rows(skills: FloatArray, n_classes: int) -> FloatArray:
    return symmetric_confusion(np.clip(skills, EPS, 1 - EPS), n_classes)


def mv_posteriors(answers: AnswerMatrix) -> FloatArray:
    counts = answers.vote_counts
    totals = counts.sum(axis=1, keepdims=True)
    uniform = np.full_like(counts, 1.0 / answers.n_classes)
    return np.divide(counts, totals, out=uniform, where=totals > 0)


def expected_accuracy(confusion: FloatArray, prior: FloatArray) -> FloatArray:
    """Per worker: sum_t prior[t] * C[t, t]."""
    return np.einsum("wtt,t->w", confusion, prior)


def as_worker_matrices(
    init: FloatArray | None, n_workers: int, n_classes: int, default: FloatArray
) -> FloatArray:
    """Warm-start confusion matrices: rows of NaN (unknown workers) get ``default``."""
    out = np.broadcast_to(default, (n_workers, n_classes, n_classes)).copy()
    if init is None:
        return out
    given = np.asarray(init, dtype=np.float64)
    if given.ndim != 3 or given.shape[1:] != (n_classes, n_classes):
        raise ValueError(f"init confusion matrices must be (n_workers, {n_classes}, {n_classes})")
    n = min(given.shape[0], n_workers)
    known = ~np.isnan(given[:n]).any(axis=(1, 2))
    out[:n][known] = given[:n][known]
    return out


def as_worker_skills(init: FloatArray | None, n_workers: int, default: float) -> FloatArray:
    """Warm-start skills: NaN (or workers beyond the array) get ``default``."""
    out = np.full(n_workers, default, dtype=np.float64)
    if init is None:
        return out
    given = np.asarray(init, dtype=np.float64).ravel()
    n = min(given.shape[0], n_workers)
    known = ~np.isnan(given[:n])
    out[:n][known] = given[:n][known]
    return out
