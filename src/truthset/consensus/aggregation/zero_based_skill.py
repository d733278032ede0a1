"""Zero-based skill (crowd-kit's ZeroBasedSkill): a weighted vote whose weights are
relearnt by small steps towards each worker's agreement with the current vote."""

from __future__ import annotations

import numpy as np

from truthset.consensus.aggregation.base import BaseAggregator, argmax_labels
from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray, IntArray


class ZeroBasedSkill(BaseAggregator):
    """Skills start at 1/K (a random guesser's accuracy, hence "zero-based"); each of
    ``max_iter`` rounds votes with the skills as weights, then moves every skill by
    ``learning_rate`` towards the worker's accuracy against that vote; the rate is
    multiplied by ``lr_reduce_factor`` every ``lr_steps_to_reduce`` rounds (crowd-kit's
    schedule). Stops early once no skill moves by more than ``tol``. ``posteriors_``: the
    weighted vote shares.
    """

    def __init__(
        self,
        *,
        max_iter: int = 100,
        learning_rate: float = 1.0,
        lr_steps_to_reduce: int = 20,
        lr_reduce_factor: float = 0.5,
        tol: float = 1e-6,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.lr_steps_to_reduce = lr_steps_to_reduce
        self.lr_reduce_factor = lr_reduce_factor
        self.tol = tol
        self.random_state = random_state

    def _fit(self, answers: AnswerMatrix) -> None:
        n = np.maximum(answers.answers_per_worker, 1)
        skills = np.full(answers.n_workers, 1.0 / answers.n_classes + 1e-5)
        rate = self.learning_rate
        self.n_iter_ = 0
        for step in range(1, self.max_iter + 1):
            self.n_iter_ = step
            if step % self.lr_steps_to_reduce == 0:
                rate *= self.lr_reduce_factor
            labels = argmax_labels(_weighted_shares(answers, skills), self.random_state)
            agree = (labels[answers.tasks] == answers.labels).astype(np.float64)
            accuracy = np.bincount(answers.workers, agree, answers.n_workers) / n
            new_skills = skills + rate * (accuracy - skills)
            moved = float(np.max(np.abs(new_skills - skills)))
            skills = new_skills
            if moved <= self.tol:
                break
        self.posteriors_ = _weighted_shares(answers, skills)
        self.labels_ = argmax_labels(self.posteriors_, self.random_state)
        self.skills_ = skills


def _weighted_shares(answers: AnswerMatrix, weights: FloatArray) -> FloatArray:
    k = answers.n_classes
    key: IntArray = answers.tasks * k + answers.labels
    scores = np.bincount(key, weights[answers.workers], answers.n_tasks * k)
    scores = scores.reshape(answers.n_tasks, k)
    totals = scores.sum(axis=1, keepdims=True)
    uniform = np.full_like(scores, 1.0 / k)
    return np.divide(scores, totals, out=uniform, where=totals > 0)
