"""Video tracks from several workers: match tracks, then consolidate them frame by frame.

Each answer is a validated video answer (``{"tracks": [{"object-id", "label", "number",
"label-category-attributes"?, "keyframes": [...]}]}``, see ``truthset.geometry.tracks``),
expanded here into one shape per frame (tracking interpolates, detection does not).

Algorithm, per label:

1. Similarity of two tracks = the mean per-frame similarity over the frames both are
   present on (0 when they share none): boxes by IoU; polygons by mask IoU on a 64-cell
   grid over the pair's extent (``polygon_iou``), on at most ``max_sampled_frames``
   shared frames evenly spread; polylines ``1 - d / r`` (d: mean distance of
   the lines resampled to 32 points, r: 3% of the frame diagonal); keypoints a gaussian of
   their distance (sigma 2.5% of the diagonal), as the image agreement measures do.
2. Workers are taken by decreasing skill; each one's tracks are matched to the clusters
   so far by Hungarian assignment on similarity with each cluster's first (highest-skill)
   track, pairs under ``iou_threshold`` never matching; unmatched tracks open clusters.
3. A cluster is kept when its support passes ``min_support`` (default: more than half
   of all workers' weight), as for image objects.
4. The consolidated track is present on a frame when members holding at least half of
   the cluster's weight are present there; its shape there is the skill-weighted merge of
   the present members' (boxes: mean edges, as ``boxes.combine_boxes``; keypoints:
   mean; polygons and polylines: mean of the outlines, those of another vertex count
   resampled by arc length to the largest, aligned to the first member's (winding and
   best cyclic shift; a line's direction)), all frames of a run at once, and each
   attribute the present members' weighted majority. (The image polygon consolidator's
   pixel vote and contour tracing cost about 12 ms a polygon here, minutes for a long
   video of three workers.)
5. Confidence per track = support share x the members' skill-weighted mean similarity
   with the consolidated track. Agreement per worker = soft F1 of its tracks against the
   consolidated ones (summed similarity over ``(own + consolidated) / 2``).

With one worker its tracks are the label as drawn, each with ``single_confidence`` (the
worker's skill or the job's prior, which the task type passes) as confidence: never 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from truthset.geometry.tracks import (
    BOX_KEYS,
    expand_track,
    number_of_frames,
    resample_closed,
    resample_open,
    signed_area,
)

from ._common import (
    Consolidator,
    match_across_workers,
    require_answers,
    support_threshold,
    worker_ids_of,
    worker_order,
    worker_weights,
)
from .polylines import line_distance, resample

LINE_SAMPLES = 32


@dataclass
class WorkerTrack:
    """One worker's track expanded: the frames it is on, a shape and attributes each."""

    worker: int
    index: int
    label: str
    object_id: str
    number: int
    frames: np.ndarray
    geometries: list[dict[str, Any]]
    attributes: list[dict[str, Any]]
    # Boxes and keypoints as an (n, 4) / (n, 2) array, for the vectorised paths.
    values: np.ndarray | None = None

    def at(self) -> dict[int, int]:
        return {int(f): i for i, f in enumerate(self.frames)}


@dataclass
class ConsolidatedTrack:
    label: str
    object_id: str
    number: int
    frames: list[int]
    geometries: list[dict[str, Any]]
    attributes: list[dict[str, Any]]
    confidence: float
    support: float
    members: list[tuple[int, int]]


# The shapes whose geometry is a few numbers, merged and compared as arrays.
NUMERIC = {"box": BOX_KEYS, "keypoint": ("x", "y")}


def _rows(geometries: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> np.ndarray:
    return np.array([[float(g[k]) for k in keys] for g in geometries], dtype=float).reshape(
        -1, len(keys)
    )


def paired_box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ``a[i]`` with ``b[i]`` for (n, 4) arrays of ``(left, top, width, height)``."""
    iw = np.clip(
        np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None
    )
    ih = np.clip(
        np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None
    )
    inter = iw * ih
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


# Cells along the longer side of the grid two polygons are compared on.
POLYGON_GRID = 64


def polygon_iou(a: np.ndarray, b: np.ndarray, grid: int = POLYGON_GRID) -> float:
    """Mask IoU of two polygons ((k, 2) points), both filled on one grid of ``grid``
    cells along the longer side of their common extent (OpenCV's ``fillPoly``, 1/16-cell
    vertex precision): within a few per cent of the pixel IoU, and the same cost whatever
    the polygons' size."""
    a_lo, a_hi, b_lo, b_hi = a.min(axis=0), a.max(axis=0), b.min(axis=0), b.max(axis=0)
    if np.any(a_hi <= b_lo) or np.any(b_hi <= a_lo):
        return 0.0
    lo, hi = np.minimum(a_lo, b_lo), np.maximum(a_hi, b_hi)
    scale = grid / float(max(hi - lo))
    shape = (int(np.ceil((hi[1] - lo[1]) * scale)) + 1, int(np.ceil((hi[0] - lo[0]) * scale)) + 1)
    masks = []
    for p in (a, b):
        mask = np.zeros(shape, dtype=np.uint8)
        fixed = np.round((p - lo) * scale * 16).astype(np.int32)
        cv2.fillPoly(mask, [fixed], 1, lineType=cv2.LINE_8, shift=4)
        masks.append(mask.astype(bool))
    union = int(np.count_nonzero(masks[0] | masks[1]))
    return int(np.count_nonzero(masks[0] & masks[1])) / union if union else 0.0


def align_stack(reference: np.ndarray, stack: np.ndarray, *, closed: bool) -> np.ndarray:
    """One member's outlines over a run of frames ((F, n, 2)), turned to match the
    reference member's ((F, n, 2)) as decided on the run's first frame: a polygon walked
    the same way round (signed area) and started at the best cyclic shift, a polyline
    drawn in the same direction."""
    ref0, first = reference[0], stack[0]
    if not closed:
        forward = float(((first - ref0) ** 2).sum())
        backward = float(((first[::-1] - ref0) ** 2).sum())
        return stack[:, ::-1] if backward < forward else stack
    if (signed_area(first) > 0) != (signed_area(ref0) > 0):
        stack = stack[:, ::-1]
        first = stack[0]
    n = len(first)
    shifts = np.arange(n)
    # cost[s] = sum_k |first[(k + s) % n] - ref0[k]|^2
    rolled = first[(shifts[:, None] + shifts[None, :]) % n]
    best = int(np.argmin(((rolled - ref0[None]) ** 2).sum(axis=(1, 2))))
    return np.roll(stack, -best, axis=1)


def _majority(votes: list[tuple[Any, float]]) -> Any:
    totals: dict[Any, float] = {}
    for value, weight in votes:
        totals[value] = totals.get(value, 0.0) + weight
    return max(totals, key=lambda v: totals[v])


class TrackConsolidator(Consolidator):
    """Consolidate the video tracks of one sequence from several workers.

    Parameters: ``shape`` ("box" | "polygon" | "polyline" | "keypoint"), ``interpolate``
    (tracking; False for detection), ``iou_threshold`` (0.5: least track similarity to
    match), ``min_support`` (None: a majority of worker weight; a count; a share),
    ``frame_size`` ((width, height) of the frames, for the polygon masks and the
    distance scales; default: the extent of the shapes), ``single_confidence`` (0.5),
    ``max_sampled_frames`` (16).

    Fitted: ``tracks_`` (list of :class:`ConsolidatedTrack`), ``clusters_`` (per output
    track, its ``(worker position, track index)`` members), ``agreement_`` (worker id ->
    soft F1), ``n_dropped_``.
    """

    def __init__(
        self,
        *,
        shape: str = "box",
        interpolate: bool = True,
        iou_threshold: float = 0.5,
        min_support: int | float | None = None,
        frame_size: tuple[int, int] | None = None,
        single_confidence: float = 0.5,
        max_sampled_frames: int = 16,
    ):
        self.shape = shape
        self.interpolate = interpolate
        self.iou_threshold = iou_threshold
        self.min_support = min_support
        self.frame_size = frame_size
        self.single_confidence = single_confidence
        self.max_sampled_frames = max_sampled_frames

    # -- expansion ------------------------------------------------------------------------

    def expand(
        self, track: Mapping[str, Any], frames: int, worker: int = 0, index: int = 0
    ) -> WorkerTrack:
        """One (validated) answer track expanded per frame (``frames``: the sequence's
        number of frames, to which a tracked shape is held after its last keyframe)."""
        shapes = expand_track(
            track["keyframes"],
            self.shape,
            interpolate=self.interpolate,
            frames=frames,
            track_attributes=track.get("label-category-attributes"),
        )
        return self._worker_track(
            worker,
            index,
            str(track["label"]),
            str(track["object-id"]),
            int(track["number"]),
            [s.frame for s in shapes],
            [s.geometry for s in shapes],
            [s.attributes for s in shapes],
        )

    def _worker_track(
        self,
        worker: int,
        index: int,
        label: str,
        object_id: str,
        number: int,
        frames: Sequence[int],
        geometries: list[dict[str, Any]],
        attributes: list[dict[str, Any]],
    ) -> WorkerTrack:
        keys = NUMERIC.get(self.shape)
        return WorkerTrack(
            worker=worker,
            index=index,
            label=label,
            object_id=object_id,
            number=number,
            frames=np.asarray(frames, dtype=np.int64),
            geometries=geometries,
            attributes=attributes,
            values=_rows(geometries, keys) if keys else None,
        )

    def _expand(self, answers: Sequence[Mapping[str, Any]]) -> list[list[WorkerTrack]]:
        return [
            [
                self.expand(track, number_of_frames(answer), w, i)
                for i, track in enumerate(answer.get("tracks") or [])
            ]
            for w, answer in enumerate(answers)
        ]

    def frame_extent(self, shapes: Sequence[Sequence[Mapping[str, Any]]]) -> tuple[int, int]:
        """``frame_size``, else the extent of the shapes (lists of geometries)."""
        if self.frame_size is not None:
            return int(self.frame_size[0]), int(self.frame_size[1])
        right, bottom = 1.0, 1.0
        for geometries in shapes:
            for g in geometries:
                if "points" in g:
                    pts = np.asarray(g["points"], dtype=float)
                    right, bottom = max(right, pts[:, 0].max()), max(bottom, pts[:, 1].max())
                elif "width" in g:
                    right = max(right, float(g["left"]) + float(g["width"]))
                    bottom = max(bottom, float(g["top"]) + float(g["height"]))
                else:
                    right, bottom = max(right, float(g["x"])), max(bottom, float(g["y"]))
        return int(np.ceil(right)) + 1, int(np.ceil(bottom)) + 1

    # -- similarity ------------------------------------------------------------------------

    def _frame_similarity(
        self, a: WorkerTrack, ia: np.ndarray, b: WorkerTrack, ib: np.ndarray
    ) -> np.ndarray:
        """Per-frame similarity of ``a``'s shapes ``ia`` with ``b``'s shapes ``ib``."""
        width, height = self.size_
        diagonal = float(np.hypot(width, height))
        if self.shape == "box":
            assert a.values is not None and b.values is not None
            return paired_box_iou(a.values[ia], b.values[ib])
        if self.shape == "keypoint":
            assert a.values is not None and b.values is not None
            sigma = 0.025 * diagonal
            d2 = ((a.values[ia] - b.values[ib]) ** 2).sum(axis=1)
            return np.exp(-d2 / (2 * sigma**2)) if sigma > 0 else (d2 == 0).astype(float)
        pairs = [(a.geometries[i], b.geometries[j]) for i, j in zip(ia, ib, strict=True)]
        if self.shape == "polyline":
            radius = 0.03 * diagonal
            out = []
            for ga, gb in pairs:
                la = resample(np.asarray(ga["points"], dtype=float), LINE_SAMPLES)
                lb = resample(np.asarray(gb["points"], dtype=float), LINE_SAMPLES)
                out.append(max(0.0, 1.0 - line_distance(la, lb)[0] / radius) if radius else 0.0)
            return np.array(out)
        return np.array(
            [
                polygon_iou(np.asarray(ga["points"], float), np.asarray(gb["points"], float))
                for ga, gb in pairs
            ]
        )

    def _sampled(self, n: int) -> np.ndarray:
        if self.shape in NUMERIC or n <= self.max_sampled_frames:
            return np.arange(n)
        return np.unique(np.linspace(0, n - 1, self.max_sampled_frames).round().astype(int))

    def track_similarity(self, a: WorkerTrack, b: WorkerTrack) -> float:
        """Mean per-frame similarity over the frames both tracks are on (0 if none)."""
        _, ia, ib = np.intersect1d(a.frames, b.frames, assume_unique=True, return_indices=True)
        if len(ia) == 0:
            return 0.0
        pick = self._sampled(len(ia))
        return float(self._frame_similarity(a, ia[pick], b, ib[pick]).mean())

    # -- merging ------------------------------------------------------------------------------

    def _numeric_cluster(
        self, members: list[WorkerTrack], member_weight: np.ndarray
    ) -> tuple[list[int], list[dict]]:
        """Boxes and keypoints merged for all frames at once: the same weighted means as
        ``boxes.combine_boxes`` (box edges) and the mean of keypoints."""
        keys = NUMERIC[self.shape]
        all_frames = np.unique(np.concatenate([m.frames for m in members]))
        stack = np.zeros((len(members), len(all_frames), len(keys)))
        present = np.zeros((len(members), len(all_frames)), dtype=bool)
        for k, m in enumerate(members):
            at = np.searchsorted(all_frames, m.frames)
            assert m.values is not None
            stack[k, at] = m.values
            present[k, at] = True
        w = member_weight[:, None] * present
        total = w.sum(axis=0)
        kept = total >= 0.5 * float(member_weight.sum()) - 1e-12
        if self.shape == "box":
            stack[..., 2] += stack[..., 0]  # right, bottom: the edges are averaged
            stack[..., 3] += stack[..., 1]
        mean = (stack * w[..., None]).sum(axis=0)[kept] / total[kept][:, None]
        if self.shape == "box":
            mean[:, 2] -= mean[:, 0]
            mean[:, 3] -= mean[:, 1]
        frames = all_frames[kept].tolist()
        return frames, [dict(zip(keys, row, strict=True)) for row in mean.tolist()]

    def _consolidate_cluster(
        self, members: list[WorkerTrack], weights: np.ndarray
    ) -> tuple[list[int], list[dict], list[dict]]:
        member_weight = np.array([weights[m.worker] for m in members])
        lookups = [m.at() for m in members]
        if self.shape in NUMERIC:
            frames, geometries = self._numeric_cluster(members, member_weight)
        else:
            frames, geometries = self._shape_cluster(members, member_weight, lookups)
        if not any(any(a) for m in members for a in m.attributes):
            return frames, geometries, [{} for _ in frames]
        attributes = []
        for f in frames:
            votes: dict[str, list[tuple[Any, float]]] = {}
            for k, lookup in enumerate(lookups):
                if f in lookup:
                    for name, value in members[k].attributes[lookup[f]].items():
                        votes.setdefault(name, []).append((value, float(member_weight[k])))
            attributes.append({name: _majority(v) for name, v in votes.items()})
        return frames, geometries, attributes

    def _shape_cluster(
        self, members: list[WorkerTrack], member_weight: np.ndarray, lookups: list[dict[int, int]]
    ) -> tuple[list[int], list[dict]]:
        """Polygons and polylines: the frames are cut into runs with the same members
        present and the same vertex counts; in each run every member's outlines are
        resampled by arc length to the largest count (only those of another count, so
        that an outline keeps its own vertices), aligned to the first member's
        (``align_stack``), and averaged with the members' weights, all frames at once."""
        closed = self.shape == "polygon"
        resampled = resample_closed if closed else resample_open
        half = 0.5 * float(member_weight.sum()) - 1e-12
        runs: list[tuple[tuple[int, ...], tuple[int, ...], list[int]]] = []
        for f in sorted(set().union(*(lk.keys() for lk in lookups))):
            present = tuple(k for k, lk in enumerate(lookups) if f in lk)
            if float(member_weight[list(present)].sum()) < half:
                continue
            counts = tuple(len(members[k].geometries[lookups[k][f]]["points"]) for k in present)
            if runs and runs[-1][0] == present and runs[-1][1] == counts:
                runs[-1][2].append(f)
            else:
                runs.append((present, counts, [f]))
        frames: list[int] = []
        geometries: list[dict] = []
        for present, counts, run in runs:
            n = max(counts)
            stacks = []
            for k, count in zip(present, counts, strict=True):
                points = np.array(
                    [members[k].geometries[lookups[k][f]]["points"] for f in run], dtype=float
                )
                if count != n:
                    points = np.stack([resampled(p, n) for p in points])
                stacks.append(points)
            if len(stacks) == 1:
                mean = stacks[0]
            else:
                aligned = [stacks[0]] + [
                    align_stack(stacks[0], st, closed=closed) for st in stacks[1:]
                ]
                w = member_weight[list(present)]
                mean = np.tensordot(w, np.stack(aligned), axes=1) / float(w.sum())
            frames.extend(run)
            geometries.extend({"points": m} for m in mean.tolist())
        return frames, geometries

    # -- fit ----------------------------------------------------------------------------------

    def fit(self, answers, worker_ids=None, skills=None) -> TrackConsolidator:
        require_answers(answers)
        ids = worker_ids_of(answers, worker_ids)
        weights = worker_weights(ids, skills)
        per_worker = self._expand(answers)
        self.size_ = self.frame_extent([t.geometries for ts in per_worker for t in ts])
        keep = support_threshold(self.min_support, weights)
        total = float(weights.sum())
        labels = sorted({t.label for ts in per_worker for t in ts})
        results: list[ConsolidatedTrack] = []
        clusters_out: list[list[tuple[str, int]]] = []
        dropped = 0
        similarity_to_output: dict[tuple[int, int], float] = {}
        for label in labels:
            own = [[t for t in ts if t.label == label] for ts in per_worker]

            def similarity(w: int, reps: list[WorkerTrack], own=own) -> np.ndarray:
                return np.array(
                    [[self.track_similarity(t, r) for r in reps] for t in own[w]]
                ).reshape(len(own[w]), len(reps))

            def represent(
                members: list[tuple[int, int]], own: list[list[WorkerTrack]] = own
            ) -> WorkerTrack:
                return own[members[0][0]][members[0][1]]

            clusters = match_across_workers(
                [len(x) for x in own],
                worker_order(weights),
                similarity,
                represent,
                self.iou_threshold,
            )
            for cluster in clusters:
                workers = [w for w, _ in cluster]
                if len(answers) > 1 and not keep(workers):
                    dropped += 1
                    continue
                members = [own[w][r] for w, r in cluster]
                frames, geometries, attributes = self._consolidate_cluster(members, weights)
                if not frames:
                    dropped += 1
                    continue
                output = self._worker_track(-1, -1, label, "", 0, frames, geometries, attributes)
                sims = np.array([self.track_similarity(m, output) for m in members])
                w = np.array([weights[m.worker] for m in members])
                for m, s in zip(members, sims, strict=True):
                    similarity_to_output[(m.worker, m.index)] = float(s)
                support = float(w.sum()) / total if total > 0 else 0.0
                if len(answers) == 1:
                    confidence = float(self.single_confidence)
                else:
                    confidence = support * float((sims * w).sum() / w.sum())
                top = members[0]
                results.append(
                    ConsolidatedTrack(
                        label=label,
                        object_id=top.object_id,
                        number=top.number,
                        frames=frames,
                        geometries=geometries,
                        attributes=attributes,
                        confidence=round(confidence, 4),
                        support=round(support, 4),
                        members=[(m.worker, m.index) for m in members],
                    )
                )
                clusters_out.append([(str(m.worker), m.index) for m in members])
        _unique_numbers(results)
        self.tracks_ = results
        self.clusters_ = clusters_out
        self.n_dropped_ = dropped
        self.agreement_ = {
            ids[w]: _soft_f1(
                sum(similarity_to_output.get((w, t.index), 0.0) for t in per_worker[w]),
                len(per_worker[w]),
                len(results),
            )
            for w in range(len(answers))
        }
        self.label_ = results
        return self


def _soft_f1(matched: float, own: int, consolidated: int) -> float:
    if own == 0 and consolidated == 0:
        return 1.0
    return round(2.0 * matched / (own + consolidated), 4)


def _unique_numbers(tracks: list[ConsolidatedTrack]) -> None:
    """Keep each track's number unless another of its label has it; then the next free."""
    taken: dict[str, set[int]] = {}
    for track in tracks:
        used = taken.setdefault(track.label, set())
        if track.number in used:
            track.number = max(used) + 1
        used.add(track.number)
