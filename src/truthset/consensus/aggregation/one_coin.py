"""One-coin Dawid-Skene: one accuracy per worker, errors spread evenly over other classes."""

from __future__ import annotations

import numpy as np

from truthset.consensus.aggregation.base import (
    EPS,
    BaseAggregator,
    argmax_labels,
    as_worker_skills,
    e_step,
    mv_posteriors,
    symmetric_confusion,
)
from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray


class OneCoinDawidSkene(BaseAggregator):
    """Dawid-Skene with a single skill per worker (far fewer parameters than full DS).

    ``smoothing`` adds pseudo-answers: ``smoothing`` correct and ``smoothing`` wrong ones per
    worker (a Beta prior), so a worker with two answers cannot reach skill 0 or 1.
    ``init_skills`` warm-starts the first E-step from earlier batches (NaN = unknown).
    """

    def __init__(
        self,
        *,
        max_iter: int = 100,
        tol: float = 1e-6,
        smoothing: float = 0.5,
        init_skills: FloatArray | None = None,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.init_skills = init_skills
        self.random_state = random_state

    def _fit(self, answers: AnswerMatrix) -> None:
        k = answers.n_classes
        posteriors = mv_posteriors(answers)
        if self.init_skills is not None:
            skills = as_worker_skills(self.init_skills, answers.n_workers, np.nan)
            unknown = np.isnan(skills)
            skills[unknown] = self._m_step(answers, posteriors)[unknown]
            posteriors, _ = e_step(
                answers,
                np.log(symmetric_confusion(skills, k) + EPS),
                np.log(posteriors.mean(axis=0) + EPS),
            )
        log_lik = -np.inf
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            skills = self._m_step(answers, posteriors)
            prior = posteriors.mean(axis=0)
            new_posteriors, log_lik = e_step(
                answers, np.log(symmetric_confusion(skills, k) + EPS), np.log(prior + EPS)
            )
            moved = float(np.max(np.abs(new_posteriors - posteriors)))
            posteriors = new_posteriors
            if moved <= self.tol:
                break
        self.skills_ = self._m_step(answers, posteriors)
        self.priors_ = posteriors.mean(axis=0)
        self.posteriors_ = posteriors
        self.log_likelihood_ = log_lik
        self.labels_ = argmax_labels(posteriors)

    def _m_step(self, answers: AnswerMatrix, posteriors: FloatArray) -> FloatArray:
        p_correct = posteriors[answers.tasks, answers.labels]
        correct = np.bincount(answers.workers, p_correct, answers.n_workers)
        n = answers.answers_per_worker
        skills = (correct + self.smoothing) / (n + 2 * self.smoothing)
        return np.clip(skills, EPS, 1 - EPS)
