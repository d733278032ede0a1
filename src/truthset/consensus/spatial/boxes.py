"""Bounding boxes: match boxes across workers by IoU, vote on support, average edges.

Algorithm, per class:

1. Workers are taken by decreasing skill weight. Each worker's boxes are matched to the
   clusters built so far by Hungarian assignment on IoU with each cluster's current
   consolidated box (pairs under ``iou_threshold`` never match), so a cluster holds at
   most one box per worker. Unmatched boxes open new clusters.
2. A cluster is kept when its support passes ``min_support`` (default: more than half of
   the total worker weight, i.e. a majority of workers when weights are equal).
3. The consolidated box is the skill-weighted mean (or weighted median) of the members'
   edges (left, top, right, bottom), clipped to the image and rounded to pixels.
4. Confidence per box = support share x weighted mean IoU of the members with the
   consolidated box. Support share = the members' weight over all workers' weight, so a
   box only half the workers drew cannot score above 0.5. With a single worker on the
   item the confidence is 0.0, as in Ground Truth.
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
    weighted_median,
    worker_ids_of,
    worker_order,
    worker_weights,
)
from .overlap import box_iou


def _edges(boxes: np.ndarray) -> np.ndarray:
    return np.column_stack(
        [boxes[:, 0], boxes[:, 1], boxes[:, 0] + boxes[:, 2], boxes[:, 1] + boxes[:, 3]]
    )


def combine_boxes(boxes: np.ndarray, weights: np.ndarray, method: str = "mean") -> np.ndarray:
    """One box ``(left, top, width, height)`` from several, by weighted mean or median edges."""
    edges = _edges(np.asarray(boxes, dtype=float))
    w = np.asarray(weights, dtype=float)
    if method == "mean":
        e = (edges * w[:, None]).sum(axis=0) / w.sum()
    elif method == "median":
        e = np.array([weighted_median(edges[:, j], w) for j in range(4)])
    else:
        raise ValueError(f"method: {method!r} is not 'mean' or 'median'")
    return np.array([e[0], e[1], e[2] - e[0], e[3] - e[1]])


class BoundingBoxConsolidator(Consolidator):
    """Consolidate one image's bounding boxes from several workers.

    Parameters
    ----------
    labels : list of str or of ``{"label": ...}``, optional
        The label config; its order gives ``class_id``. Default: sorted labels seen.
    iou_threshold : float
        Minimum IoU between a box and a cluster's consolidated box to match (default 0.5).
    min_support : None, int or float
        None: strict majority of worker weight; int: at least that many workers;
        float: at least that share of the total worker weight.
    method : {"mean", "median"}
        How member edges are combined (both skill-weighted).
    image_size : (width, height) or mapping, optional
        Overrides the answers' ``inputImageProperties``.

    Fitted attributes
    -----------------
    label_ : dict
        ``{"image_size": [{"width", "height", "depth": 3}], "annotations": [{"class_id",
        "left", "top", "width", "height"}]}``, Ground Truth's object-detection label.
    metadata_ : dict
        ``{"objects": [{"confidence"}], "class-map": {"<id>": name}}`` (same order).
    boxes_ : ndarray (n, 4) float, unrounded ``(left, top, width, height)``.
    class_ids_, confidences_, support_ : ndarray (n,)
    clusters_ : list of list of (worker_id, box_index) for the kept boxes.
    n_dropped_ : int, clusters under ``min_support``.
    """

    def __init__(
        self,
        *,
        labels: Sequence[Any] | None = None,
        iou_threshold: float = 0.5,
        min_support: int | float | None = None,
        method: str = "mean",
        image_size: Any = None,
    ) -> None:
        self.labels = labels
        self.iou_threshold = iou_threshold
        self.min_support = min_support
        self.method = method
        self.image_size = image_size

    def fit(
        self,
        answers: Sequence[Any],
        worker_ids: Sequence[str] | None = None,
        skills: Mapping[str, float] | None = None,
    ) -> BoundingBoxConsolidator:
        require_answers(answers)
        if self.method not in ("mean", "median"):
            raise ValueError(f"method: {self.method!r} is not 'mean' or 'median'")
        ids = worker_ids_of(answers, worker_ids)
        weights = worker_weights(ids, skills)
        payloads = [unwrap_answer(a, "boundingBoxes") for a in answers]
        width, height = image_size_of(payloads, self.image_size)
        seen = [str(b["label"]) for p in payloads for b in p["boundingBoxes"]]
        names = label_names(self.labels, seen)
        cid = class_ids(names)
        keep = support_threshold(self.min_support, weights)
        total = float(weights.sum())
        order = worker_order(weights)

        per_worker: list[list[tuple[int, int, np.ndarray]]] = []  # (class, index, box)
        for p in payloads:
            rows = []
            for j, b in enumerate(p["boundingBoxes"]):
                c = check_label(str(b["label"]), cid, f"boundingBoxes[{j}].label")
                box = np.array([b["left"], b["top"], b["width"], b["height"]], dtype=float)
                rows.append((c, j, box))
            per_worker.append(rows)

        out_boxes, out_cls, out_conf, out_support, out_clusters = [], [], [], [], []
        n_dropped = 0
        for c in sorted({r[0] for rows in per_worker for r in rows}):
            boxes = [
                np.array([r[2] for r in rows if r[0] == c]).reshape(-1, 4) for rows in per_worker
            ]
            index = [[r[1] for r in rows if r[0] == c] for rows in per_worker]

            def represent(
                members: list[tuple[int, int]], boxes: list[np.ndarray] = boxes
            ) -> np.ndarray:
                mb = np.array([boxes[w][k] for w, k in members])
                return combine_boxes(mb, weights[[w for w, _ in members]], self.method)

            def similarity(
                w: int, reps: list[np.ndarray], boxes: list[np.ndarray] = boxes
            ) -> np.ndarray:
                return box_iou(boxes[w], np.array(reps))

            clusters = match_across_workers(
                [len(b) for b in boxes], order, similarity, represent, self.iou_threshold
            )
            for members in clusters:
                workers = [w for w, _ in members]
                if not keep(workers):
                    n_dropped += 1
                    continue
                box = represent(members)
                box = self._clip(box, width, height)
                mb = np.array([boxes[w][k] for w, k in members])
                ious = box_iou(mb, box[None, :])[:, 0]
                mw = weights[workers]
                share = float(mw.sum()) / total
                conf = 0.0 if len(answers) == 1 else share * float((ious * mw).sum() / mw.sum())
                out_boxes.append(box)
                out_cls.append(c)
                out_conf.append(conf)
                out_support.append(share)
                out_clusters.append([(ids[w], index[w][k]) for w, k in members])

        order_out = sorted(
            range(len(out_boxes)), key=lambda i: (out_cls[i], out_boxes[i][1], out_boxes[i][0])
        )
        self.boxes_ = np.array([out_boxes[i] for i in order_out]).reshape(-1, 4)
        self.class_ids_ = np.array([out_cls[i] for i in order_out], dtype=int)
        self.confidences_ = np.array([out_conf[i] for i in order_out], dtype=float)
        self.support_ = np.array([out_support[i] for i in order_out], dtype=float)
        self.clusters_ = [out_clusters[i] for i in order_out]
        self.n_dropped_ = n_dropped
        self.label_names_ = names
        annotations = []
        for c, box in zip(self.class_ids_, self.boxes_, strict=True):
            left, top = round(box[0]), round(box[1])
            right, bottom = round(box[0] + box[2]), round(box[1] + box[3])
            annotations.append(
                {
                    "class_id": int(c),
                    "left": left,
                    "top": top,
                    "width": max(right - left, 1),
                    "height": max(bottom - top, 1),
                }
            )
        self.label_ = {
            "image_size": [{"width": width, "height": height, "depth": 3}],
            "annotations": annotations,
        }
        self.metadata_ = {
            "objects": [{"confidence": round(float(x), 4)} for x in self.confidences_],
            "class-map": {str(c): names[c] for c in sorted(set(self.class_ids_.tolist()))},
        }
        return self

    @staticmethod
    def _clip(box: np.ndarray, width: int, height: int) -> np.ndarray:
        x0, y0 = np.clip(box[0], 0, width), np.clip(box[1], 0, height)
        x1, y1 = np.clip(box[0] + box[2], 0, width), np.clip(box[1] + box[3], 0, height)
        return np.array([x0, y0, x1 - x0, y1 - y0])
