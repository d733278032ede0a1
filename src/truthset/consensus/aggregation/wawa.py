"""Wawa: worker agreement with aggregate, then a vote weighted by that agreement."""

from __future__ import annotations

import numpy as np

from truthset.consensus.aggregation.base import (
    BaseAggregator,
    argmax_labels,
    as_worker_skills,
    mv_posteriors,
)
from truthset.consensus.aggregation.encoding import AnswerMatrix


class Wawa(BaseAggregator):
    """Weight each worker by how often they agree with the majority, then vote again.

    ``init_skills`` (per worker, NaN for unknown) replaces the majority-vote agreement for
    the workers it names, so skill learnt on earlier batches carries over.
    """

    def __init__(self, *, init_skills: np.ndarray | None = None, random_state: int = 0) -> None:
        self.init_skills = init_skills
        self.random_state = random_state

    def _fit(self, answers: AnswerMatrix) -> None:
        mv_labels = argmax_labels(mv_posteriors(answers), self.random_state)
        agree = (mv_labels[answers.tasks] == answers.labels).astype(np.float64)
        n = np.maximum(answers.answers_per_worker, 1)
        agreement = np.bincount(answers.workers, agree, answers.n_workers) / n
        if self.init_skills is not None:
            prior = as_worker_skills(self.init_skills, answers.n_workers, np.nan)
            agreement = np.where(np.isnan(prior), agreement, prior)
        weights = agreement[answers.workers]
        scores = np.zeros((answers.n_tasks, answers.n_classes))
        np.add.at(scores, (answers.tasks, answers.labels), weights)
        totals = scores.sum(axis=1, keepdims=True)
        uniform = np.full_like(scores, 1.0 / answers.n_classes)
        self.posteriors_ = np.divide(scores, totals, out=uniform, where=totals > 0)
        self.labels_ = argmax_labels(self.posteriors_, self.random_state)
        self.skills_ = agreement
