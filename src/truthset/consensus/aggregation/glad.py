"""GLAD (Whitehill et al., NIPS 2009): worker ability and item difficulty.

P(worker j gives the true label of item i) = sigmoid(alpha_j * beta_i), beta_i = exp(b_i) > 0;
wrong answers are spread evenly over the other classes. EM: the E-step is exact; the
M-step takes a few diagonal Newton steps on the expected log-likelihood (plus Gaussian
priors on alpha and b), all with ``np.bincount`` over the answer rows, so one iteration
on a million answers costs a handful of vector passes.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

from truthset.consensus.aggregation.base import (
    EPS,
    BaseAggregator,
    argmax_labels,
    as_worker_skills,
    mv_posteriors,
    normalize_log_scores,
    one_coin_rows,
)
from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray


class GLAD(BaseAggregator):
    """GLAD with priors alpha ~ N(alpha_prior_mean, 1), log beta ~ N(0, 1).

    Stops when the log-likelihood of the answers changes by less than ``tol`` (relative)
    or after ``max_iter`` EM iterations; each M-step takes ``newton_steps`` diagonal Newton
    steps (one is enough for a generalised EM that still increases the objective).

    ``alphas_`` (worker ability; negative = adversarial), ``betas_`` (item easiness
    1/difficulty), ``skills_`` = mean P(correct) over each worker's answers. ``init_skills``
    warm-starts alphas from earlier batches (the ability, not a probability; NaN = unknown).
    """

    def __init__(
        self,
        *,
        max_iter: int = 100,
        tol: float = 1e-6,
        newton_steps: int = 2,
        alpha_prior_mean: float = 1.0,
        prior_weight: float = 1.0,
        init_skills: FloatArray | None = None,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.newton_steps = newton_steps
        self.alpha_prior_mean = alpha_prior_mean
        self.prior_weight = prior_weight
        self.init_skills = init_skills
        self.random_state = random_state

    def _fit(self, answers: AnswerMatrix) -> None:
        tasks, workers = answers.tasks, answers.workers
        alpha = as_worker_skills(self.init_skills, answers.n_workers, self.alpha_prior_mean)
        log_beta = np.zeros(answers.n_tasks)
        posteriors = mv_posteriors(answers)
        if self.init_skills is None:
            # Start abilities from agreement with the majority so EM begins near a good mode.
            alpha = self._m_step(answers, posteriors, alpha, log_beta)[0]
        self.n_iter_ = 0
        log_lik = previous = -np.inf
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            alpha, log_beta = self._m_step(answers, posteriors, alpha, log_beta)
            prior = posteriors.mean(axis=0)
            x = alpha[workers] * np.exp(log_beta[tasks])
            new_posteriors, log_lik = self._e_step(answers, x, prior)
            posteriors = new_posteriors
            if abs(log_lik - previous) <= self.tol * abs(log_lik):
                break
            previous = log_lik
        x = alpha[workers] * np.exp(log_beta[tasks])
        self.alphas_ = alpha
        self.betas_ = np.exp(log_beta)
        self.priors_ = posteriors.mean(axis=0)
        self.posteriors_ = posteriors
        self.log_likelihood_ = log_lik
        self.labels_ = argmax_labels(posteriors)
        n = np.maximum(answers.answers_per_worker, 1)
        self.skills_ = np.bincount(workers, expit(x), answers.n_workers) / n

    @staticmethod
    def _e_step(
        answers: AnswerMatrix, x: FloatArray, prior: FloatArray
    ) -> tuple[FloatArray, float]:
        k = answers.n_classes
        log_right = log_expit(x)
        # log sigmoid(-x) = log sigmoid(x) - x: one transcendental pass instead of two.
        log_wrong = log_right - x - (np.log(k - 1) if k > 1 else 0.0)
        base = np.bincount(answers.tasks, log_wrong, answers.n_tasks)
        bonus = np.bincount(
            answers.tasks * k + answers.labels, log_right - log_wrong, answers.n_tasks * k
        ).reshape(answers.n_tasks, k)
        return normalize_log_scores(base[:, None] + bonus + np.log(prior + EPS)[None, :])

    def _m_step(
        self,
        answers: AnswerMatrix,
        posteriors: FloatArray,
        alpha: FloatArray,
        log_beta: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        tasks, workers = answers.tasks, answers.workers
        p_right = posteriors[tasks, answers.labels]
        lam = self.prior_weight
        alpha = alpha.copy()
        log_beta = log_beta.copy()
        for _ in range(self.newton_steps):
            beta = np.exp(log_beta)[tasks]
            s = expit(alpha[workers] * beta)
            residual = p_right - s
            curvature = s * (1 - s)
            grad = np.bincount(workers, residual * beta, answers.n_workers) - lam * (
                alpha - self.alpha_prior_mean
            )
            hess = np.bincount(workers, curvature * beta**2, answers.n_workers)
            alpha += np.clip(grad / (hess + lam), -2.0, 2.0)

            ab = alpha[workers] * beta  # log_beta has not moved yet
            s = expit(ab)
            grad_b = np.bincount(tasks, (p_right - s) * ab, answers.n_tasks) - lam * log_beta
            hess_b = np.bincount(tasks, s * (1 - s) * ab**2, answers.n_tasks) + lam
            log_beta = np.clip(log_beta + np.clip(grad_b / hess_b, -1.0, 1.0), -5.0, 5.0)
        return alpha, log_beta

    def answer_model(self, answers: AnswerMatrix) -> FloatArray:
        known = self._known_workers(answers.workers)
        seen = self.worker_answer_counts_ > 0
        alpha = np.full(answers.n_answers, float(np.mean(self.alphas_[seen])))
        alpha[known] = self.alphas_[answers.workers[known]]
        beta = self.betas_[answers.tasks]
        return one_coin_rows(expit(alpha * beta), answers.n_classes)
