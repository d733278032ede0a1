"""Keypoints: cluster points per label by distance relative to the object's size.

Scale: by default the image diagonal (``scale="diagonal"``); with ``scale="spread"`` it is
the diagonal of the box that holds every worker's keypoints of the item, which suits
keypoints on one object that fills a small part of the image (a face, a hand). Two
points match when their distance is at most ``distance_threshold x scale``.

Matching as for boxes (workers by decreasing weight, Hungarian on closeness to each
cluster's current weighted mean, one point per worker per cluster); clusters under
``min_support`` are dropped; the point is the skill-weighted mean.

Confidence per point = support share x weighted mean over members of
``exp(-d^2 / (2 sigma^2))`` with ``sigma = distance_threshold x scale / 2`` (a
COCO-OKS-like similarity: 1 for identical clicks, ~0.14 at the matching limit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._common import (
    Consolidator,
    check_label,
    class_ids,
    image_size_of,
    label_names,
    match_across_workers,
    require_answers,
    support_threshold,
    unwrap_answer,
    worker_ids_of,
    worker_order,
    worker_weights,
)


class KeypointConsolidator(Consolidator):
    """Consolidate one image's keypoints from several workers.

    Parameters: ``labels``, ``distance_threshold`` (0.05 of the scale), ``scale``
    (``"diagonal"`` or ``"spread"``), ``min_support`` (as for boxes), ``image_size``.

    ``fit(answers)``: ``{"keypoints": [{"label", "x", "y"}], "inputImageProperties"}``.

    Fitted: ``label_`` = ``{"image_size": [...], "annotations": [{"class_id", "x", "y"}]}``,
    ``metadata_`` (``objects`` confidences, ``class-map``), ``points_`` (n, 2),
    ``class_ids_``, ``confidences_``, ``support_``, ``clusters_``, ``n_dropped_``,
    ``scale_`` (pixels).
    """

    def __init__(
        self,
        *,
        labels: Sequence[Any] | None = None,
        distance_threshold: float = 0.05,
        scale: str = "diagonal",
        min_support: int | float | None = None,
        image_size: Any = None,
    ) -> None:
        self.labels = labels
        self.distance_threshold = distance_threshold
        self.scale = scale
        self.min_support = min_support
        self.image_size = image_size

    def fit(
        self,
        answers: Sequence[Any],
        worker_ids: Sequence[str] | None = None,
        skills: Mapping[str, float] | None = None,
    ) -> KeypointConsolidator:
        require_answers(answers)
        ids = worker_ids_of(answers, worker_ids)
        weights = worker_weights(ids, skills)
        payloads = [unwrap_answer(a, "keypoints") for a in answers]
        width, height = image_size_of(payloads, self.image_size)
        names = label_names(
            self.labels, [str(k["label"]) for p in payloads for k in p["keypoints"]]
        )
        cid = class_ids(names)
        pts = [
            [
                (
                    check_label(str(k["label"]), cid, f"keypoints[{j}].label"),
                    j,
                    float(k["x"]),
                    float(k["y"]),
                )
                for j, k in enumerate(p["keypoints"])
            ]
            for p in payloads
        ]
        all_xy = np.array([(x, y) for rows in pts for _, _, x, y in rows]).reshape(-1, 2)
        if self.scale == "diagonal":
            scale = float(np.hypot(width, height))
        elif self.scale == "spread":
            span = all_xy.max(axis=0) - all_xy.min(axis=0) if len(all_xy) else np.zeros(2)
            # A lone click or a flat row of points has no spread: fall back to the image.
            scale = float(np.hypot(*span)) or float(np.hypot(width, height))
        else:
            raise ValueError(f"scale: {self.scale!r} is not 'diagonal' or 'spread'")
        radius = self.distance_threshold * scale
        sigma = radius / 2
        keep = support_threshold(self.min_support, weights)
        total = float(weights.sum())
        order = worker_order(weights)

        results = []
        n_dropped = 0
        for c in sorted({r[0] for rows in pts for r in rows}):
            xy = [
                np.array([(x, y) for cc, _, x, y in rows if cc == c]).reshape(-1, 2) for rows in pts
            ]
            index = [[j for cc, j, _, _ in rows if cc == c] for rows in pts]

            def represent(members: list[tuple[int, int]], xy: list[np.ndarray] = xy) -> np.ndarray:
                mw = weights[[w for w, _ in members]]
                m = np.array([xy[w][k] for w, k in members])
                return (m * mw[:, None]).sum(axis=0) / mw.sum()

            def similarity(w: int, reps: list[np.ndarray], xy: list[np.ndarray] = xy) -> np.ndarray:
                d = np.linalg.norm(xy[w][:, None, :] - np.array(reps)[None, :, :], axis=2)
                # closeness in [0, 1]: 1 at the same spot, 0 at the matching radius.
                return 1.0 - d / radius if radius > 0 else (d == 0).astype(float)

            clusters = match_across_workers([len(v) for v in xy], order, similarity, represent, 0.0)
            for members in clusters:
                workers = [w for w, _ in members]
                if not keep(workers):
                    n_dropped += 1
                    continue
                p = represent(members)
                mw = weights[workers]
                d = np.array([np.linalg.norm(xy[w][k] - p) for w, k in members])
                sim = np.exp(-(d**2) / (2 * sigma**2)) if sigma > 0 else (d == 0).astype(float)
                share = float(mw.sum()) / total
                conf = 0.0 if len(answers) == 1 else share * float((sim * mw).sum() / mw.sum())
                results.append((c, p, conf, share, [(ids[w], index[w][k]) for w, k in members]))

        results.sort(key=lambda r: (r[0], r[1][1], r[1][0]))
        self.points_ = np.array([r[1] for r in results]).reshape(-1, 2)
        self.class_ids_ = np.array([r[0] for r in results], dtype=int)
        self.confidences_ = np.array([r[2] for r in results], dtype=float)
        self.support_ = np.array([r[3] for r in results], dtype=float)
        self.clusters_ = [r[4] for r in results]
        self.n_dropped_ = n_dropped
        self.scale_ = scale
        self.label_names_ = names
        self.label_ = {
            "image_size": [{"width": width, "height": height, "depth": 3}],
            "annotations": [
                {"class_id": int(c), "x": round(float(p[0]), 2), "y": round(float(p[1]), 2)}
                for c, p in zip(self.class_ids_, self.points_, strict=True)
            ],
        }
        self.metadata_ = {
            "objects": [{"confidence": round(float(x), 4)} for x in self.confidences_],
            "class-map": {str(c): names[c] for c in sorted(set(self.class_ids_.tolist()))},
        }
        return self
