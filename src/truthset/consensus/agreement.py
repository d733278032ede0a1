"""Inter-annotator agreement on classification answers (numpy only).

All functions read an :class:`~truthset.consensus.aggregation.encoding.AnswerMatrix`
(integer codes); a task's answers are its units' values, one per answer row.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp

from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray


def coincidence_matrix(answers: AnswerMatrix) -> FloatArray:
    """Krippendorff's coincidence matrix o[c, k] over tasks with at least two answers."""
    counts = answers.vote_counts
    m = counts.sum(axis=1)
    pairable = m >= 2
    counts, m = counts[pairable], m[pairable]
    weighted = counts / (m - 1)[:, None]
    return weighted.T @ counts - np.diag(weighted.sum(axis=0))


def krippendorff_alpha(
    answers: AnswerMatrix,
    level: Literal["nominal", "interval"] = "nominal",
    values: FloatArray | None = None,
) -> float:
    """Krippendorff's alpha; ``values[c]`` is class c's number for ``interval`` (default c).

    alpha = 1 - D_o / D_e with the squared difference metric for interval data.
    """
    o = coincidence_matrix(answers)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        raise ValueError("Krippendorff's alpha needs at least one task with two answers")
    k = answers.n_classes
    if level == "nominal":
        delta2 = 1.0 - np.eye(k)
    elif level == "interval":
        v = np.arange(k, dtype=np.float64) if values is None else np.asarray(values, float)
        if v.shape != (k,):
            raise ValueError(f"values must give one number per class ({k})")
        delta2 = (v[:, None] - v[None, :]) ** 2
    else:
        raise ValueError(f"level must be 'nominal' or 'interval', got {level!r}")
    observed = float((o * delta2).sum() / n)
    expected = float((np.outer(n_c, n_c) * delta2).sum() / (n * (n - 1)))
    if expected == 0:
        return 1.0 if observed == 0 else float("nan")
    return 1.0 - observed / expected


def fleiss_kappa(answers: AnswerMatrix) -> float:
    """Fleiss' kappa, allowing a different number of raters per task.

    Only tasks with at least two answers count. Per task
    P_i = sum_c n_ic (n_ic - 1) / (n_i (n_i - 1)); P_e = sum_c p_c^2 with p_c the share of
    all (counted) answers in class c. With a constant number of raters this is Fleiss (1971).
    """
    counts = answers.vote_counts
    n_i = counts.sum(axis=1)
    counts, n_i = counts[n_i >= 2], n_i[n_i >= 2]
    if counts.shape[0] == 0:
        raise ValueError("Fleiss' kappa needs at least one task with two answers")
    p_i = (counts * (counts - 1)).sum(axis=1) / (n_i * (n_i - 1))
    p_bar = float(p_i.mean())
    p_c = counts.sum(axis=0) / counts.sum()
    p_e = float((p_c**2).sum())
    if p_e == 1.0:
        return 1.0 if p_bar == 1.0 else float("nan")
    return (p_bar - p_e) / (1.0 - p_e)


def pairwise_cohen_kappa(answers: AnswerMatrix, min_shared: int = 10) -> FloatArray:
    """(n_workers, n_workers) Cohen's kappa per pair of workers on their shared tasks.

    NaN where a pair shares fewer than ``min_shared`` tasks, and on the diagonal. A worker
    who answered a task twice counts with the first answer.
    """
    first = _first_answer_mask(answers)
    t, w, lab = answers.tasks[first], answers.workers[first], answers.labels[first]
    shape = (answers.n_workers, answers.n_tasks)
    answered = sp.csr_matrix((np.ones(len(t)), (w, t)), shape=shape)
    shared = (answered @ answered.T).toarray()
    agree = np.zeros_like(shared)
    # margins[c][a, b]: tasks shared by a and b on which a answered c
    margins = []
    for c in range(answers.n_classes):
        sel = lab == c
        gave_c = sp.csr_matrix((np.ones(int(sel.sum())), (w[sel], t[sel])), shape=shape)
        agree += (gave_c @ gave_c.T).toarray()
        margins.append((gave_c @ answered.T).toarray())
    with np.errstate(invalid="ignore", divide="ignore"):
        p_o = agree / shared
        p_e = sum(m * m.T for m in margins) / shared**2
        kappa = (p_o - p_e) / (1.0 - p_e)
    kappa = np.where(np.isclose(p_e, 1.0), np.where(np.isclose(p_o, 1.0), 1.0, np.nan), kappa)
    kappa[shared < max(min_shared, 1)] = np.nan
    np.fill_diagonal(kappa, np.nan)
    return kappa


def per_label_agreement(answers: AnswerMatrix) -> FloatArray:
    """Specific agreement per class: of the answer pairs on one task that involve class c,
    the share where both answers are c. NaN for a class nobody used on a shared task."""
    counts = answers.vote_counts
    m = counts.sum(axis=1)
    keep = m >= 2
    counts, m = counts[keep], m[keep]
    agreeing = (counts * (counts - 1)).sum(axis=0)
    involving = (counts * (m[:, None] - 1)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(involving > 0, agreeing / involving, np.nan)


def _first_answer_mask(answers: AnswerMatrix) -> np.ndarray:
    pair = answers.tasks * max(answers.n_workers, 1) + answers.workers
    _, first = np.unique(pair, return_index=True)
    mask = np.zeros(answers.n_answers, dtype=bool)
    mask[first] = True
    return mask
