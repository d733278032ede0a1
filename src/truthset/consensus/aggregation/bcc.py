"""Bayesian classifier combination with a community prior (variational Bayes).

Kim & Ghahramani's BCC (2012) puts a Dirichlet prior on every row of every worker's
confusion matrix and integrates the matrices out by variational Bayes. We centre that
prior on the crowd's pooled confusion matrix and learn its strength from the data
(empirical Bayes: the Dirichlet-multinomial marginal likelihood of the workers' expected
counts, over a grid), as hierarchical and community BCC do. A worker with few answers is
then described by the crowd's matrix; one with many answers gets its own; how many answers
"many" is, is decided by how much the workers actually differ. That is the move between
a pooled model and full Dawid-Skene "as the data supports" that a fixed smoothing cannot
make.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from truthset.consensus.aggregation.base import (
    BaseAggregator,
    argmax_labels,
    confusion_counts,
    e_step,
    expected_accuracy,
    mv_posteriors,
)
from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray

STRENGTHS = np.geomspace(0.25, 512.0, 21)


class BCC(BaseAggregator):
    """Variational BCC; ``strength=None`` learns the prior's pseudo-answers per row.

    ``diagonal_prior`` adds pseudo-answers on the diagonal of the pooled matrix (workers are
    more often right than wrong), ``class_prior`` Dirichlet pseudo-counts on the class
    proportions. Stops when no posterior moves by more than ``tol``, when the
    log-likelihood gains less than ``tol_log_likelihood`` of itself, or after ``max_iter``.
    Fitted: ``confusion_matrices_`` (posterior means), ``pooled_confusion_``,
    ``prior_strength_`` (per true class), ``skills_`` (expected accuracy).
    """

    def __init__(
        self,
        *,
        max_iter: int = 100,
        tol: float = 1e-6,
        strength: float | None = None,
        diagonal_prior: float = 1.0,
        class_prior: float = 1.0,
        tol_log_likelihood: float | None = 1e-6,
        random_state: int = 0,
    ) -> None:
        self.tol_log_likelihood = tol_log_likelihood
        self.max_iter = max_iter
        self.tol = tol
        self.strength = strength
        self.diagonal_prior = diagonal_prior
        self.class_prior = class_prior
        self.random_state = random_state

    def _fit(self, answers: AnswerMatrix) -> None:
        posteriors = mv_posteriors(answers)
        self.n_iter_ = 0
        log_lik = previous_log_lik = -np.inf
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            alpha_post, _, _ = self._m_step(answers, posteriors)
            log_confusion = digamma(alpha_post) - digamma(alpha_post.sum(axis=2, keepdims=True))
            class_counts = posteriors.sum(axis=0) + self.class_prior
            log_prior = digamma(class_counts) - digamma(class_counts.sum())
            new_posteriors, log_lik = e_step(answers, log_confusion, log_prior)
            moved = float(np.max(np.abs(new_posteriors - posteriors)))
            posteriors = new_posteriors
            gain, previous_log_lik = log_lik - previous_log_lik, log_lik
            if moved <= self.tol or (
                self.tol_log_likelihood is not None
                and gain <= self.tol_log_likelihood * abs(log_lik)
            ):
                break
        alpha_post, pooled, strength = self._m_step(answers, posteriors)
        self.confusion_matrices_ = alpha_post / alpha_post.sum(axis=2, keepdims=True)
        self.pooled_confusion_ = pooled
        self.prior_strength_ = strength
        self.priors_ = posteriors.mean(axis=0)
        self.posteriors_ = posteriors
        self.log_likelihood_ = log_lik
        self.labels_ = argmax_labels(posteriors)
        self.skills_ = expected_accuracy(self.confusion_matrices_, self.priors_)

    def _m_step(
        self, answers: AnswerMatrix, posteriors: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        counts = confusion_counts(answers, posteriors)  # (W, K_true, K_given)
        k = answers.n_classes
        pooled = _one_coin_community(counts, self.diagonal_prior)
        if self.strength is not None:
            strength = np.full(k, float(self.strength))
        else:
            strength = _best_strength(counts, pooled)
        alpha_post = counts + strength[None, :, None] * pooled[None]
        return alpha_post, pooled, strength

    def answer_model(self, answers: AnswerMatrix) -> FloatArray:
        known = self._known_workers(answers.workers)
        rows = np.broadcast_to(
            self.pooled_confusion_, (answers.n_answers, *self.pooled_confusion_.shape)
        ).copy()
        rows[known] = self.confusion_matrices_[answers.workers[known]]
        return rows


def _one_coin_community(counts: FloatArray, diagonal_prior: float) -> FloatArray:
    """The crowd's mean accuracy on the diagonal, its errors spread evenly: the prior
    mean every worker is shrunk to, so that the prior itself cannot relabel classes."""
    k = counts.shape[1]
    if k == 1:
        return np.ones((1, 1))
    right = float(np.trace(counts.sum(axis=0))) + diagonal_prior
    total = float(counts.sum()) + 2 * diagonal_prior
    accuracy = min(max(right / total, 1.0 / k + 1e-3), 1 - 1e-3)
    eye = np.eye(k)
    return accuracy * eye + (1 - accuracy) / (k - 1) * (1 - eye)


def _best_strength(counts: FloatArray, pooled: FloatArray) -> FloatArray:
    """Per true class, the Dirichlet strength s maximising sum over workers of the
    Dirichlet-multinomial log-likelihood of their (expected) counts under s * pooled."""
    n = counts.sum(axis=2)  # (W, K_true)
    best = np.empty(pooled.shape[0])
    for t in range(pooled.shape[0]):
        rows, totals = counts[:, t, :], n[:, t]
        used = totals > 1e-9
        rows, totals = rows[used], totals[used]
        scores = []
        for s in STRENGTHS:
            a = s * pooled[t]
            scores.append(
                float(
                    np.sum(gammaln(s) - gammaln(s + totals))
                    + np.sum(gammaln(rows + a) - gammaln(a))
                )
            )
        best[t] = STRENGTHS[int(np.argmax(scores))]
    return best
