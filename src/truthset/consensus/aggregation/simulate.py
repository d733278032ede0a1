"""Synthetic crowds with known truth and known worker skill, for tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray, IntArray


@dataclass(frozen=True)
class SimulatedCrowd:
    answers: AnswerMatrix
    truth: IntArray
    skills: FloatArray
    """Probability that each worker answers correctly (1/K for spammers)."""


def simulate_crowd(
    n_tasks: int = 300,
    n_workers: int = 30,
    n_classes: int = 3,
    answers_per_task: int = 7,
    skill_range: tuple[float, float] = (0.55, 0.95),
    spammer_fraction: float = 0.0,
    random_state: int = 0,
) -> SimulatedCrowd:
    """Each task gets ``answers_per_task`` distinct workers; a worker is right with its
    skill, otherwise picks one of the other classes uniformly. Spammers answer uniformly."""
    if answers_per_task > n_workers:
        raise ValueError("answers_per_task cannot exceed n_workers")
    rng = np.random.default_rng(random_state)
    truth = rng.integers(0, n_classes, n_tasks)
    skills = rng.uniform(*skill_range, n_workers)
    spammers = rng.random(n_workers) < spammer_fraction
    skills[spammers] = 1.0 / n_classes
    workers = _distinct_workers(rng, n_tasks, n_workers, answers_per_task)
    tasks = np.repeat(np.arange(n_tasks), answers_per_task)
    workers = workers.ravel()
    right = rng.random(tasks.shape[0]) < skills[workers]
    shift = rng.integers(1, max(n_classes, 2), tasks.shape[0])
    labels = np.where(right, truth[tasks], (truth[tasks] + shift) % n_classes)
    uniform = rng.integers(0, n_classes, tasks.shape[0])
    labels = np.where(spammers[workers], uniform, labels)
    answers = AnswerMatrix(tasks, workers, labels, n_tasks, n_workers, n_classes)
    return SimulatedCrowd(answers, truth, skills)


def _distinct_workers(
    rng: np.random.Generator, n_tasks: int, n_workers: int, per_task: int
) -> IntArray:
    """(n_tasks, per_task) worker ids, distinct within a row, without an n_tasks x n_workers
    matrix: draw, then redraw the rows that repeat a worker until none does."""
    chosen = rng.integers(0, n_workers, (n_tasks, per_task))
    while True:
        ordered = np.sort(chosen, axis=1)
        bad = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
        if bad.size == 0:
            return chosen
        chosen[bad] = rng.integers(0, n_workers, (bad.size, per_task))
