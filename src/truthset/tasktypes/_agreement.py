"""How far one answer agrees with another (a gold answer, or the consolidated label
turned back into an answer): a number in [0, 1], 1 for the same annotation.

Object answers are scored as a soft F1: objects of the same label are paired one to one
by Hungarian assignment on their similarity (IoU for boxes, polygons and spans, a
closeness for points and lines); pairs under the matching threshold count as misses; the
score is the sum of the paired similarities over the mean object count, so a missed or
an extra object costs as much as a wrong one. Two empty answers agree fully.

For gold items (qualification, spot checks) and per-worker skill estimates on task
types whose answers are never exactly equal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment


def soft_f1(
    answer: Sequence[Any],
    reference: Sequence[Any],
    label_of: Callable[[Any], str],
    similarity: Callable[[Any, Any], float],
    threshold: float,
) -> float:
    if not answer and not reference:
        return 1.0
    if not answer or not reference:
        return 0.0
    sim = np.zeros((len(answer), len(reference)))
    for i, a in enumerate(answer):
        for j, r in enumerate(reference):
            if label_of(a) == label_of(r):
                sim[i, j] = similarity(a, r)
    rows, cols = linear_sum_assignment(-sim)
    matched = sum(
        float(sim[r, c]) for r, c in zip(rows, cols, strict=True) if sim[r, c] >= threshold
    )
    return float(np.clip(matched / ((len(answer) + len(reference)) / 2), 0.0, 1.0))


def word_agreement(answer: str, reference: str) -> float:
    """1 - word error rate of ``answer`` against ``reference`` (case-insensitive), in [0, 1]."""
    a, r = answer.lower().split(), reference.lower().split()
    if not r:
        return 1.0 if not a else 0.0
    prev = list(range(len(a) + 1))
    for i, rw in enumerate(r, start=1):
        cur = [i] + [0] * len(a)
        for j, aw in enumerate(a, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (aw != rw))
        prev = cur
    return float(max(0.0, 1.0 - prev[-1] / len(r)))
