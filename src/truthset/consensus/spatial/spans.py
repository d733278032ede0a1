"""Named entities: Ground Truth's span rule, with skill weights.

1. Spans are clustered across workers by the Jaccard similarity of their character
   ranges, whatever their label (workers by decreasing weight; Hungarian on Jaccard with
   each cluster's current consolidated span; at most one span per worker per cluster;
   pairs under ``jaccard_threshold`` never match).
2. A cluster is kept under ``min_support`` (default: more than half the worker weight).
3. Each boundary is the weighted mode of the members' offsets when the mode is clear
   (its weight is greater than any other offset's), else the weighted (lower) median.
4. The label is the weighted majority of the members' labels (ties: the label of the
   highest-weighted member).
5. Confidence per entity = (weight of members that gave the winning label / weight of
   all workers) x weighted mean Jaccard of the members with the consolidated span; 0.0
   with a single worker, as in Ground Truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._common import (
    Consolidator,
    check_label,
    class_ids,
    label_names,
    match_across_workers,
    require_answers,
    support_threshold,
    unwrap_answer,
    weighted_median,
    worker_ids_of,
    worker_order,
    worker_weights,
)
from .overlap import span_jaccard


def weighted_mode_or_median(values: np.ndarray, weights: np.ndarray) -> int:
    """The value with the most weight if it is unique, else the lower weighted median."""
    uniq = np.unique(values)
    mass = np.array([weights[values == u].sum() for u in uniq])
    best = mass.max()
    if np.count_nonzero(np.isclose(mass, best)) == 1:
        return int(uniq[int(np.argmax(mass))])
    return int(weighted_median(values.astype(float), weights))


class NamedEntityConsolidator(Consolidator):
    """Consolidate one text's entity spans from several workers.

    Parameters: ``labels`` (the label config: strings or ``{"label", "shortDisplayName"}``
    dicts, echoed in the output), ``jaccard_threshold`` (0.5), ``min_support``.

    ``fit(answers)``: ``{"entities": [{"label", "startOffset", "endOffset"}]}``.

    Fitted: ``label_`` = ``{"annotations": {"labels": [...], "entities": [{"label",
    "startOffset", "endOffset"}]}}``, ``metadata_`` = ``{"entities": [{"confidence"}]}``,
    ``spans_`` (n, 2), ``confidences_``, ``support_``, ``clusters_``, ``n_dropped_``.
    """

    def __init__(
        self,
        *,
        labels: Sequence[Any] | None = None,
        jaccard_threshold: float = 0.5,
        min_support: int | float | None = None,
    ) -> None:
        self.labels = labels
        self.jaccard_threshold = jaccard_threshold
        self.min_support = min_support

    def fit(
        self,
        answers: Sequence[Any],
        worker_ids: Sequence[str] | None = None,
        skills: Mapping[str, float] | None = None,
    ) -> NamedEntityConsolidator:
        require_answers(answers)
        ids = worker_ids_of(answers, worker_ids)
        weights = worker_weights(ids, skills)
        payloads = [unwrap_answer(a, "entities") for a in answers]
        names = label_names(self.labels, [str(e["label"]) for p in payloads for e in p["entities"]])
        cid = class_ids(names)
        spans: list[np.ndarray] = []
        labs: list[list[int]] = []
        for p in payloads:
            rows, ls = [], []
            for j, e in enumerate(p["entities"]):
                ls.append(check_label(str(e["label"]), cid, f"entities[{j}].label"))
                rows.append((int(e["startOffset"]), int(e["endOffset"])))
            spans.append(np.array(rows, dtype=int).reshape(-1, 2))
            labs.append(ls)
        keep = support_threshold(self.min_support, weights)
        total = float(weights.sum())
        order = worker_order(weights)
        rank = {w: i for i, w in enumerate(order)}

        def represent(members: list[tuple[int, int]]) -> tuple[int, int]:
            mw = weights[[w for w, _ in members]]
            s = np.array([spans[w][k] for w, k in members])
            start = weighted_mode_or_median(s[:, 0], mw)
            end = weighted_mode_or_median(s[:, 1], mw)
            if end <= start:  # modes from different members can cross: trust the best member
                best = min(members, key=lambda m: rank[m[0]])
                start, end = (int(v) for v in spans[best[0]][best[1]])
            return start, end

        def similarity(w: int, reps: list[tuple[int, int]]) -> np.ndarray:
            return np.array([[span_jaccard(s, r) for r in reps] for s in spans[w]])

        clusters = match_across_workers(
            [len(s) for s in spans], order, similarity, represent, self.jaccard_threshold
        )
        results = []
        n_dropped = 0
        for members in clusters:
            workers = [w for w, _ in members]
            if not keep(workers):
                n_dropped += 1
                continue
            start, end = represent(members)
            mw = weights[workers]
            votes: dict[int, float] = {}
            for (w, k), wt in zip(members, mw, strict=True):
                votes[labs[w][k]] = votes.get(labs[w][k], 0.0) + float(wt)
            top = max(votes.values())
            tied = [lab for lab, v in votes.items() if np.isclose(v, top)]
            label = next(
                labs[w][k]
                for w, k in sorted(members, key=lambda m: rank[m[0]])
                if labs[w][k] in tied
            )
            jac = np.array([span_jaccard(spans[w][k], (start, end)) for w, k in members])
            conf = (
                0.0
                if len(answers) == 1
                else votes[label] / total * float((jac * mw).sum() / mw.sum())
            )
            results.append(
                (
                    start,
                    end,
                    label,
                    conf,
                    float(mw.sum()) / total,
                    [(ids[w], k) for w, k in members],
                )
            )

        results.sort(key=lambda r: (r[0], r[1], r[2]))
        self.spans_ = np.array([(r[0], r[1]) for r in results], dtype=int).reshape(-1, 2)
        self.class_ids_ = np.array([r[2] for r in results], dtype=int)
        self.confidences_ = np.array([r[3] for r in results], dtype=float)
        self.support_ = np.array([r[4] for r in results], dtype=float)
        self.clusters_ = [r[5] for r in results]
        self.n_dropped_ = n_dropped
        self.label_names_ = names
        label_list = (
            [dict(e) if isinstance(e, Mapping) else {"label": str(e)} for e in self.labels]
            if self.labels is not None
            else [{"label": n} for n in names]
        )
        self.label_ = {
            "annotations": {
                "labels": label_list,
                "entities": [
                    {"label": names[r[2]], "startOffset": r[0], "endOffset": r[1]} for r in results
                ],
            }
        }
        self.metadata_ = {
            "entities": [{"confidence": round(float(x), 4)} for x in self.confidences_]
        }
        return self
