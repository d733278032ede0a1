"""Multi-label consolidation with Ground Truth's output semantics.

Ground Truth's multi-label output lists every class chosen by at least one worker and a
``confidence-map`` with one confidence per listed class. We keep that output, and make
the confidences mean something: each class is a binary question ("is class c present?")
consolidated by Dawid-Skene with a 2x2 confusion matrix per worker and class, so a worker
who ticks a class indiscriminately counts for less on that class only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from truthset.consensus.aggregation.dawid_skene import DawidSkene
from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray, IntArray


@dataclass(frozen=True)
class MultiLabelAnswers:
    """One row per (task, worker) response; ``chosen[r, c]`` is True if class c was ticked."""

    tasks: IntArray
    workers: IntArray
    chosen: np.ndarray
    n_tasks: int
    n_workers: int
    n_classes: int

    @classmethod
    def from_sets(
        cls,
        tasks: Sequence[int] | IntArray,
        workers: Sequence[int] | IntArray,
        label_sets: Iterable[Iterable[int]],
        n_tasks: int | None = None,
        n_workers: int | None = None,
        n_classes: int | None = None,
    ) -> MultiLabelAnswers:
        t = np.asarray(tasks, dtype=np.int64)
        w = np.asarray(workers, dtype=np.int64)
        sets = [sorted(set(s)) for s in label_sets]
        if not (len(t) == len(w) == len(sets)):
            raise ValueError("tasks, workers and label_sets must have the same length")
        top = max((max(s) for s in sets if s), default=-1)
        k = int(n_classes if n_classes is not None else top + 1)
        if top >= k or any(c < 0 for s in sets for c in s):
            raise ValueError(f"label codes must lie in [0, {k})")
        chosen = np.zeros((len(sets), k), dtype=bool)
        for row, s in enumerate(sets):
            chosen[row, s] = True
        return cls(
            t,
            w,
            chosen,
            int(n_tasks if n_tasks is not None else (t.max() + 1 if t.size else 0)),
            int(n_workers if n_workers is not None else (w.max() + 1 if w.size else 0)),
            k,
        )


class MultiLabelAggregator:
    """Per-class binary Dawid-Skene over multi-label answers.

    Fitted: ``posteriors_`` (n_tasks, n_classes) P(class present); ``chosen_by_any_``
    (n_tasks, n_classes) Ground Truth's label set; ``skills_`` (n_workers, n_classes)
    per-class accuracy; ``confidence_maps_`` one ``{class: round(p, 2)}`` per task for the
    classes in its Ground Truth label set.
    """

    def __init__(self, *, smoothing: float = 1.0, max_iter: int = 100, random_state: int = 0):
        self.smoothing = smoothing
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, answers: MultiLabelAnswers) -> MultiLabelAggregator:
        if len(answers.tasks) == 0:
            raise ValueError("no answers to aggregate: the answer table is empty")
        n_tasks, k = answers.n_tasks, answers.n_classes
        posteriors = np.zeros((n_tasks, k))
        skills = np.zeros((answers.n_workers, k))
        for c in range(k):
            binary = AnswerMatrix(
                answers.tasks,
                answers.workers,
                answers.chosen[:, c].astype(np.int64),
                n_tasks,
                answers.n_workers,
                2,
            )
            model = DawidSkene(smoothing=self.smoothing, max_iter=self.max_iter).fit(binary)
            posteriors[:, c] = model.posteriors_[:, 1]
            skills[:, c] = model.skills_
        chosen_by_any = np.zeros((n_tasks, k), dtype=bool)
        np.logical_or.at(chosen_by_any, answers.tasks, answers.chosen)
        self.posteriors_ = posteriors
        self.chosen_by_any_ = chosen_by_any
        self.skills_ = skills
        self.confidence_maps_ = [
            {int(c): round(float(posteriors[i, c]), 2) for c in np.flatnonzero(chosen_by_any[i])}
            for i in range(n_tasks)
        ]
        return self

    def predict(self, threshold: float | None = None) -> list[list[int]]:
        """Label set per task: Ground Truth's (chosen by anyone), or P(present) >= threshold."""
        mask = self.chosen_by_any_ if threshold is None else self.posteriors_ >= threshold
        return [np.flatnonzero(row).tolist() for row in mask]

    def fit_predict(self, answers: MultiLabelAnswers) -> list[list[int]]:
        return self.fit(answers).predict()

    def fit_predict_proba(self, answers: MultiLabelAnswers) -> FloatArray:
        return self.fit(answers).posteriors_
