"""Dawid-Skene: one full confusion matrix per worker, fitted by EM."""

from __future__ import annotations

import numpy as np

from truthset.consensus.aggregation.base import (
    EPS,
    BaseAggregator,
    argmax_labels,
    as_worker_matrices,
    confusion_counts,
    e_step,
    expected_accuracy,
    mv_posteriors,
)
from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray


class DawidSkene(BaseAggregator):
    """Dawid & Skene (1979), initialised from majority-vote shares.

    ``smoothing`` is added to every confusion count before normalising (a symmetric
    Dirichlet prior); ``diagonal_prior`` adds that many extra pseudo-answers on the
    diagonal, which pulls sparse workers towards "usually right" instead of letting EM
    swap classes for them. Stops when no posterior moves by more than ``tol``, when the
    log-likelihood gains less than ``tol_log_likelihood`` times its size (``None``: never),
    or after ``max_iter`` iterations. ``init_confusion_matrices`` (W, K, K; NaN rows for unknown
    workers) warm-starts from an earlier batch: the first E-step then uses them instead
    of the majority-vote shares.
    """

    def __init__(
        self,
        *,
        max_iter: int = 100,
        tol: float = 1e-6,
        tol_log_likelihood: float | None = 1e-6,
        smoothing: float = 0.1,
        diagonal_prior: float = 0.0,
        init_confusion_matrices: FloatArray | None = None,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.tol_log_likelihood = tol_log_likelihood
        self.smoothing = smoothing
        self.diagonal_prior = diagonal_prior
        self.init_confusion_matrices = init_confusion_matrices
        self.random_state = random_state

    def _fit(self, answers: AnswerMatrix) -> None:
        k = answers.n_classes
        posteriors = mv_posteriors(answers)
        if self.init_confusion_matrices is not None:
            mv_conf = self._m_step(answers, posteriors)
            start = as_worker_matrices(self.init_confusion_matrices, answers.n_workers, k, mv_conf)
            prior = posteriors.mean(axis=0)
            posteriors, _ = e_step(answers, np.log(start + EPS), np.log(prior + EPS))
        log_lik = previous_log_lik = -np.inf
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            confusion = self._m_step(answers, posteriors)
            prior = posteriors.mean(axis=0)
            new_posteriors, log_lik = e_step(answers, np.log(confusion), np.log(prior + EPS))
            moved = float(np.max(np.abs(new_posteriors - posteriors)))
            posteriors = new_posteriors
            gain = log_lik - previous_log_lik
            previous_log_lik = log_lik
            if moved <= self.tol or (
                self.tol_log_likelihood is not None
                and gain <= self.tol_log_likelihood * abs(log_lik)
            ):
                break
        self.confusion_matrices_ = self._m_step(answers, posteriors)
        self.priors_ = posteriors.mean(axis=0)
        self.posteriors_ = posteriors
        self.log_likelihood_ = log_lik
        self.labels_ = argmax_labels(posteriors)
        self.skills_ = expected_accuracy(self.confusion_matrices_, self.priors_)

    def _m_step(self, answers: AnswerMatrix, posteriors: FloatArray) -> FloatArray:
        counts = confusion_counts(answers, posteriors) + self.smoothing
        if self.diagonal_prior:
            counts = counts + self.diagonal_prior * np.eye(answers.n_classes)
        return counts / np.maximum(counts.sum(axis=2, keepdims=True), EPS)

    def answer_model(self, answers: AnswerMatrix) -> FloatArray:
        known = self._known_workers(answers.workers)
        pooled = self.confusion_matrices_[self.worker_answer_counts_ > 0].mean(axis=0)
        rows = np.broadcast_to(pooled, (answers.n_answers, *pooled.shape)).copy()
        rows[known] = self.confusion_matrices_[answers.workers[known]]
        return rows
