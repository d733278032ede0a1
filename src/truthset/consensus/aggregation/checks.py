"""Sanity checks on a fitted consolidation, used by ``auto`` to reject broken solutions."""

from __future__ import annotations

import numpy as np

from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray


def answer_table(answers: AnswerMatrix, posteriors: FloatArray) -> FloatArray:
    """(K_true, K_given): posterior-weighted count of each given label per inferred class."""
    table = np.zeros((answers.n_classes, answers.n_classes))
    weights = posteriors[answers.tasks]  # (n_answers, K_true)
    for given in range(answers.n_classes):
        table[:, given] = weights[answers.labels == given].sum(axis=0)
    return table


def keeps_class_meaning(
    answers: AnswerMatrix, posteriors: FloatArray, min_mass: float = 1.0
) -> bool:
    """True when, for every inferred class, workers most often answered that same class.

    EM models with a full confusion matrix per worker can "relabel" a class: the latent
    class called ``t`` becomes a cluster of tasks on which workers mostly answer something
    else (on the weather data Dawid-Skene turns "I can't tell" into a bin for ambiguous
    tweets). Such a solution may fit the answers well, but its class names no longer mean
    what the label config says. Classes holding less than ``min_mass`` tasks of posterior
    mass are not judged.
    """
    table = answer_table(answers, posteriors)
    mass = table.sum(axis=1)
    judged = mass >= min_mass * np.maximum(answers.answers_per_task.mean(), 1.0)
    return bool(np.all(table.argmax(axis=1)[judged] == np.flatnonzero(judged)))
