"""MACE (Hovy et al., NAACL 2013): each worker either knows the answer or spams.

A worker with competence ``theta`` gives the true label with probability ``theta``; otherwise
(probability ``1 - theta``) it draws a label from its own spamming strategy ``xi`` (a
distribution over labels), whatever the truth. So P(label l | truth t) =
``theta * [l == t] + (1 - theta) * xi[l]``: a confusion matrix with one free row, which
is what lets MACE spot workers who always answer the same label, and tell them from
workers who are merely noisy. Fitted by variational Bayes as in the paper (Beta prior on
competence, symmetric Dirichlet prior on the strategy), on the shared sparse structures.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma

from truthset.consensus.aggregation.base import (
    EPS,
    BaseAggregator,
    argmax_labels,
    confusion_counts,
    e_step,
    mv_posteriors,
)
from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray


class MACE(BaseAggregator):
    """Multi-Annotator Competence Estimation.

    ``alpha``, ``beta``: Beta prior on each worker's competence (pseudo-answers "knew it"
    and "spammed"); ``strategy_prior``: Dirichlet pseudo-counts per label of the spamming
    strategy. The class prior is uniform, as in the paper, unless ``learn_class_prior``.
    ``variational=True`` uses the expectations of the log-parameters under their
    posteriors (the paper's VB), ``False`` plain EM with the priors as smoothing. Starts
    from majority-vote shares; stops when no posterior moves by more than ``tol``, when the
    log-likelihood gains less than ``tol_log_likelihood`` of itself, or after ``max_iter``.
    Fitted: ``competences_`` (theta), ``strategies_`` (W, K),
    ``confusion_matrices_`` (the implied W x K x K), ``skills_`` (expected accuracy).
    """

    def __init__(
        self,
        *,
        max_iter: int = 100,
        tol: float = 1e-6,
        alpha: float = 0.5,
        beta: float = 0.5,
        strategy_prior: float = 10.0,
        variational: bool = True,
        learn_class_prior: bool = False,
        tol_log_likelihood: float | None = 1e-6,
        random_state: int = 0,
    ) -> None:
        self.learn_class_prior = learn_class_prior
        self.tol_log_likelihood = tol_log_likelihood
        self.max_iter = max_iter
        self.tol = tol
        self.alpha = alpha
        self.beta = beta
        self.strategy_prior = strategy_prior
        self.variational = variational
        self.random_state = random_state

    def _fit(self, answers: AnswerMatrix) -> None:
        posteriors = mv_posteriors(answers)
        log_prior = np.full(answers.n_classes, -np.log(answers.n_classes))
        theta = np.full(answers.n_workers, 0.5)
        xi = np.full((answers.n_workers, answers.n_classes), 1.0 / answers.n_classes)
        self.n_iter_ = 0
        log_lik = previous_log_lik = -np.inf
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            theta, xi = self._m_step(answers, posteriors, theta, xi, self.variational)
            if self.learn_class_prior:
                log_prior = np.log(posteriors.mean(axis=0) + EPS)
            new_posteriors, log_lik = e_step(answers, np.log(_confusion(theta, xi)), log_prior)
            moved = float(np.max(np.abs(new_posteriors - posteriors)))
            posteriors = new_posteriors
            gain, previous_log_lik = log_lik - previous_log_lik, log_lik
            if moved <= self.tol or (
                self.tol_log_likelihood is not None
                and gain <= self.tol_log_likelihood * abs(log_lik)
            ):
                break
        theta, xi = self._m_step(answers, posteriors, theta, xi, variational=False)
        self.competences_ = theta
        self.strategies_ = xi
        self.confusion_matrices_ = _confusion(theta, xi)
        self.priors_ = posteriors.mean(axis=0)
        self.posteriors_ = posteriors
        self.log_likelihood_ = log_lik
        self.labels_ = argmax_labels(posteriors)
        self.skills_ = np.einsum("wtt,t->w", self.confusion_matrices_, self.priors_)

    def _m_step(
        self,
        answers: AnswerMatrix,
        posteriors: FloatArray,
        theta: FloatArray,
        xi: FloatArray,
        variational: bool,
    ) -> tuple[FloatArray, FloatArray]:
        """Expected "knew it" counts and spamming counts per worker and label, from the
        current parameters' split of each answer between the two ways it can arise.

        Given truth == the label l it gave, a worker's answer came from knowing with share
        theta / (theta + (1 - theta) xi[l]), which depends on (worker, l) only; so the
        sums over answers are the diagonals of the expected confusion counts (one sparse
        product, as in Dawid-Skene's M-step).
        """
        k = answers.n_classes
        counts = confusion_counts(answers, posteriors)  # (W, K_true, K_given)
        right = np.einsum("wll->wl", counts)  # expected answers l on tasks whose truth is l
        share = theta[:, None] / np.maximum(theta[:, None] + (1.0 - theta[:, None]) * xi, EPS)
        knew = right * share
        known = knew.sum(axis=1)
        spam_counts = np.maximum(counts.sum(axis=1) - knew, 0.0)
        n = answers.answers_per_worker
        a, b, s = self.alpha, self.beta, self.strategy_prior
        if variational:
            total = digamma(n + a + b)
            theta = np.exp(digamma(known + a) - total)
            spam = np.exp(digamma(n - known + b) - total)
            theta = theta / (theta + spam)
            xi = np.exp(digamma(spam_counts + s))
            xi /= np.exp(digamma(spam_counts.sum(axis=1, keepdims=True) + k * s))
            xi /= xi.sum(axis=1, keepdims=True)
        else:
            theta = (known + a) / (n + a + b)
            xi = (spam_counts + s) / (spam_counts.sum(axis=1, keepdims=True) + k * s)
        return np.clip(theta, EPS, 1 - EPS), xi

    def answer_model(self, answers: AnswerMatrix) -> FloatArray:
        known = self._known_workers(answers.workers)
        pooled = self.confusion_matrices_[self.worker_answer_counts_ > 0].mean(axis=0)
        rows = np.broadcast_to(pooled, (answers.n_answers, *pooled.shape)).copy()
        rows[known] = self.confusion_matrices_[answers.workers[known]]
        return rows


def _confusion(theta: FloatArray, xi: FloatArray) -> FloatArray:
    k = xi.shape[1]
    spam = (1.0 - theta)[:, None, None] * xi[:, None, :]
    return spam + theta[:, None, None] * np.eye(k)[None]
