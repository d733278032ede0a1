"""Majority vote: the label most workers gave; confidence is the vote share."""

from __future__ import annotations

from typing import Literal

import numpy as np

from truthset.consensus.aggregation.base import BaseAggregator, argmax_labels, mv_posteriors
from truthset.consensus.aggregation.encoding import AnswerMatrix


class MajorityVote(BaseAggregator):
    """Majority vote, as Ground Truth's baseline.

    ``tie_break="random"`` picks a random winner among tied labels (seeded by
    ``random_state``), which is unbiased on average; ``"smallest"`` picks the smallest
    class code, which is deterministic without a seed. ``skills_`` is each worker's
    agreement with the majority.
    """

    def __init__(
        self, *, tie_break: Literal["random", "smallest"] = "random", random_state: int = 0
    ) -> None:
        self.tie_break = tie_break
        self.random_state = random_state

    def _fit(self, answers: AnswerMatrix) -> None:
        if self.tie_break not in ("random", "smallest"):
            raise ValueError(f"tie_break must be 'random' or 'smallest', got {self.tie_break!r}")
        self.posteriors_ = mv_posteriors(answers)
        seed = self.random_state if self.tie_break == "random" else None
        self.labels_ = argmax_labels(self.posteriors_, seed)
        agree = (self.labels_[answers.tasks] == answers.labels).astype(np.float64)
        n = answers.answers_per_worker
        self.skills_ = np.bincount(answers.workers, agree, answers.n_workers) / np.maximum(n, 1)
