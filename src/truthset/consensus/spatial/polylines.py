"""Polylines: match lines by mean vertex distance after resampling, average them.

Each polyline is resampled to ``n_samples`` points evenly spaced along its length. The
distance between two lines is the mean distance between corresponding samples, taking
the better of the two directions (workers may draw a line either way). Lines match when
that distance is at most ``distance_threshold x image diagonal``; matching, support and
weighting are as for boxes. The consolidated line is the weighted mean of the members'
samples (each oriented like the cluster's first member), simplified with
``approximate_polygon`` (``tolerance`` px). Confidence = support share x weighted mean
of ``max(0, 1 - d / radius)`` over the members.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from skimage.measure import approximate_polygon

from ._common import (
    Consolidator,
    check_label,
    class_ids,
    image_size_of,
    label_names,
    match_across_workers,
    require_answers,
    support_threshold,
    worker_ids_of,
    worker_order,
    worker_weights,
)


def resample(points: np.ndarray, n: int) -> np.ndarray:
    """``n`` points evenly spaced along the polyline ``points`` (k, 2)."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] == 0:
        return np.repeat(points[:1], n, axis=0)
    t = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(t, s, points[:, 0]), np.interp(t, s, points[:, 1])])


def line_distance(a: np.ndarray, b: np.ndarray) -> tuple[float, bool]:
    """Mean sample distance of two resampled lines and whether ``b`` had to be reversed."""
    fwd = float(np.linalg.norm(a - b, axis=1).mean())
    rev = float(np.linalg.norm(a - b[::-1], axis=1).mean())
    return (rev, True) if rev < fwd else (fwd, False)


def _payload(answer: Any) -> Mapping[str, Any]:
    if isinstance(answer, Mapping):
        for key in ("polylines", "lines"):
            if key in answer:
                return answer
        if "answerContent" in answer:
            return _payload(answer["answerContent"])
        if len(answer) == 1 and isinstance(next(iter(answer.values())), Mapping):
            return _payload(next(iter(answer.values())))
    raise ValueError("answer: no 'polylines' or 'lines' field")


class PolylineConsolidator(Consolidator):
    """Consolidate polyline (or line) answers for one image.

    Parameters: ``labels``, ``distance_threshold`` (0.03 of the image diagonal),
    ``min_support``, ``n_samples`` (32), ``tolerance`` (1.0 px), ``image_size``.

    ``fit(answers)``: ``{"polylines"|"lines": [{"label", "vertices": [{"x", "y"}]}], ...}``.

    Fitted: ``label_`` = ``{"image_size": [...], "annotations": [{"class_id", "vertices"}]}``,
    ``metadata_``, ``lines_`` (list of (k, 2) arrays), ``class_ids_``, ``confidences_``,
    ``support_``, ``clusters_``, ``n_dropped_``.
    """

    def __init__(
        self,
        *,
        labels: Sequence[Any] | None = None,
        distance_threshold: float = 0.03,
        min_support: int | float | None = None,
        n_samples: int = 32,
        tolerance: float = 1.0,
        image_size: Any = None,
    ) -> None:
        self.labels = labels
        self.distance_threshold = distance_threshold
        self.min_support = min_support
        self.n_samples = n_samples
        self.tolerance = tolerance
        self.image_size = image_size

    def fit(
        self,
        answers: Sequence[Any],
        worker_ids: Sequence[str] | None = None,
        skills: Mapping[str, float] | None = None,
    ) -> PolylineConsolidator:
        require_answers(answers)
        ids = worker_ids_of(answers, worker_ids)
        weights = worker_weights(ids, skills)
        payloads = [_payload(a) for a in answers]
        width, height = image_size_of(payloads, self.image_size)
        radius = self.distance_threshold * float(np.hypot(width, height))
        lists = [p.get("polylines", p.get("lines", [])) for p in payloads]
        names = label_names(self.labels, [str(x["label"]) for lines in lists for x in lines])
        cid = class_ids(names)
        per_class: dict[int, list[list[tuple[int, np.ndarray]]]] = {}
        for w, lines in enumerate(lists):
            for j, line in enumerate(lines):
                c = check_label(str(line["label"]), cid, f"polylines[{j}].label")
                if len(line["vertices"]) < 2:
                    raise ValueError(
                        f"polylines[{j}].vertices: {len(line['vertices'])} vertices, need 2"
                    )
                pts = np.array([(float(v["x"]), float(v["y"])) for v in line["vertices"]])
                per_class.setdefault(c, [[] for _ in lists])[w].append(
                    (j, resample(pts, self.n_samples))
                )
        keep = support_threshold(self.min_support, weights)
        total = float(weights.sum())
        order = worker_order(weights)
        results = []
        n_dropped = 0
        for c in sorted(per_class):
            objs = per_class[c]

            def represent(members: list[tuple[int, int]], objs: list = objs) -> np.ndarray:
                ref = objs[members[0][0]][members[0][1]][1]
                acc = np.zeros_like(ref)
                for w, k in members:
                    line = objs[w][k][1]
                    acc += weights[w] * (line[::-1] if line_distance(ref, line)[1] else line)
                return acc / weights[[w for w, _ in members]].sum()

            def similarity(w: int, reps: list[np.ndarray], objs: list = objs) -> np.ndarray:
                return np.array(
                    [
                        [1.0 - line_distance(r, line)[0] / radius for r in reps]
                        for _, line in objs[w]
                    ]
                )

            clusters = match_across_workers(
                [len(x) for x in objs], order, similarity, represent, 0.0
            )
            for members in clusters:
                workers = [w for w, _ in members]
                if not keep(workers):
                    n_dropped += 1
                    continue
                line = represent(members)
                mw = weights[workers]
                d = np.array([line_distance(line, objs[w][k][1])[0] for w, k in members])
                share = float(mw.sum()) / total
                sim = np.clip(1.0 - d / radius, 0.0, 1.0)
                conf = 0.0 if len(answers) == 1 else share * float((sim * mw).sum() / mw.sum())
                simple = (
                    approximate_polygon(line, tolerance=self.tolerance)
                    if self.tolerance > 0
                    else line
                )
                results.append(
                    (c, simple, conf, share, [(ids[w], objs[w][k][0]) for w, k in members])
                )
        results.sort(key=lambda r: (r[0], r[1][0][1], r[1][0][0]))
        self.lines_ = [r[1] for r in results]
        self.class_ids_ = np.array([r[0] for r in results], dtype=int)
        self.confidences_ = np.array([r[2] for r in results], dtype=float)
        self.support_ = np.array([r[3] for r in results], dtype=float)
        self.clusters_ = [r[4] for r in results]
        self.n_dropped_ = n_dropped
        self.label_names_ = names
        self.label_ = {
            "image_size": [{"width": width, "height": height, "depth": 3}],
            "annotations": [
                {
                    "class_id": int(c),
                    "vertices": [
                        {"x": round(float(x), 2), "y": round(float(y), 2)} for x, y in line
                    ],
                }
                for c, line in zip(self.class_ids_, self.lines_, strict=True)
            ],
        }
        self.metadata_ = {
            "objects": [{"confidence": round(float(x), 4)} for x in self.confidences_],
            "class-map": {str(c): names[c] for c in sorted(set(self.class_ids_.tolist()))},
        }
        return self
