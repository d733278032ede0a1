"""3D point cloud answers of several workers: cuboids, cuboid tracks and point labels.

**Cuboids** (one frame), per class:

1. Workers by decreasing skill; each worker's cuboids are matched to the clusters so far
   by Hungarian assignment on 3D IoU with each cluster's current consolidated cuboid
   (pairs under ``iou_threshold`` never match; when either cuboid is flatter than
   ``min_height`` the bird's-eye-view IoU stands in), one cuboid per worker a cluster.
2. A cluster is kept when its support passes ``min_support`` (default: more than half of
   the total worker weight).
3. The consolidated cuboid: the skill-weighted mean of centres and sizes, each angle the
   weighted circular mean (the direction of the weighted sum of unit vectors).
4. Confidence = support share x the weighted mean IoU of the members with the result.

**Tracks** (a sequence): tracks matched across workers the same way, the similarity of
two tracks being their mean IoU over the frames both are present on (0 without one; at
most :data:`MATCH_FRAMES` of them, evenly spread, for long tracks);
per frame where most of a kept track's members' weight is present, its cuboid is the
consolidation of theirs. Confidence per track = support share x the mean over its frames
of the members' weighted mean IoU with the consolidated cuboid.

**Point labels**: a weighted vote per point over the classes (0 = unlabeled); ties go to
the lowest class id. Per class, a confidence: the mean winning vote share over the points
that got it.

Inputs are numpy arrays, not answers: the task types (tasktypes/point_clouds.py) turn
validated answers into them and the results back into Ground Truth's labels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from truthset.geometry.cuboids import bev_iou, iou_3d, wrap_angle

from ._common import match_across_workers, support_threshold, worker_order


def _apart(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the cuboids' bounding spheres are disjoint: no overlap, no clipping needed
    (most pairs a matcher looks at are different objects metres apart)."""
    reach = 0.5 * (math.hypot(a[3], a[4], a[5]) + math.hypot(b[3], b[4], b[5]))
    return math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]) >= reach


def cuboid_similarity(a: np.ndarray, b: np.ndarray, min_height: float = 0.05) -> float:
    """3D IoU; the bird's-eye-view IoU when either cuboid is flatter than ``min_height``
    (a sign, a road marking: the volume says nothing)."""
    if _apart(a, b):
        return 0.0
    if min(float(a[5]), float(b[5])) < min_height:
        return bev_iou(a, b)
    return iou_3d(a, b)


def similarity_matrix(a: np.ndarray, b: np.ndarray, min_height: float = 0.05) -> np.ndarray:
    """:func:`cuboid_similarity` of every row of ``a`` with every row of ``b``, computed
    only for the pairs whose bounding spheres meet (a scene's cuboids are mostly metres
    apart: thousands of cuboids stay cheap)."""
    from scipy.spatial import cKDTree

    out = np.zeros((len(a), len(b)))
    if not len(a) or not len(b):
        return out
    radius_a = 0.5 * np.linalg.norm(a[:, 3:6], axis=1)
    radius_b = 0.5 * np.linalg.norm(b[:, 3:6], axis=1)
    # Candidates by a k-d tree of the centres (a dense distance matrix of thousands of
    # cuboids cost seconds), then the exact sphere test.
    near = cKDTree(b[:, :3]).query_ball_point(a[:, :3], r=radius_a + float(radius_b.max()))
    for i, candidates in enumerate(near):
        for j in candidates:
            if float(np.linalg.norm(a[i, :3] - b[j, :3])) < radius_a[i] + radius_b[j]:
                out[i, j] = cuboid_similarity(a[i], b[j], min_height)
    return out


def combine_cuboids(cuboids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """One cuboid from several (rows of nine): weighted mean centre and size, weighted
    circular mean of each angle."""
    c = np.asarray(cuboids, dtype=np.float64).reshape(-1, 9)
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    out = np.empty(9)
    out[:6] = w @ c[:, :6]
    for j in (6, 7, 8):
        s, co = float(w @ np.sin(c[:, j])), float(w @ np.cos(c[:, j]))
        out[j] = float(np.arctan2(s, co)) if abs(s) + abs(co) > 1e-12 else float(c[0, j])
    out[6:9] = wrap_angle(out[6:9])
    return out


@dataclass(frozen=True)
class ConsolidatedCuboid:
    label: str
    cuboid: np.ndarray
    confidence: float
    # (worker position, index of the cuboid in that worker's list)
    members: list[tuple[int, int]]


class CuboidConsolidator:
    """Cuboids of one frame across workers (see the module doc). ``fit(per_worker,
    weights)`` with ``per_worker[w]`` = list of ``(label, nine numbers)``."""

    def __init__(
        self,
        *,
        iou_threshold: float = 0.3,
        min_support: int | float | None = None,
        min_height: float = 0.05,
    ):
        self.iou_threshold = iou_threshold
        self.min_support = min_support
        self.min_height = min_height

    def fit(
        self,
        per_worker: Sequence[Sequence[tuple[str, np.ndarray]]],
        weights: Sequence[float] | np.ndarray,
    ) -> CuboidConsolidator:
        w = np.asarray(weights, dtype=np.float64)
        if len(per_worker) == 0 or len(w) != len(per_worker):
            raise ValueError("per_worker: one list of cuboids per worker, and one weight each")
        keep = support_threshold(self.min_support, w)
        order = worker_order(w)
        labels = sorted({label for objects in per_worker for label, _ in objects})
        results: list[ConsolidatedCuboid] = []
        for label in labels:
            # Per worker, the positions of this label's cuboids in its list.
            own = [[i for i, (lab, _) in enumerate(objs) if lab == label] for objs in per_worker]

            def arr(worker: int, k: int, own: list[list[int]] = own) -> np.ndarray:
                return np.asarray(per_worker[worker][own[worker][k]][1], dtype=np.float64)

            def represent(members: list[tuple[int, int]], arr=arr) -> np.ndarray:
                return combine_cuboids(
                    np.array([arr(m, k) for m, k in members]), w[[m for m, _ in members]]
                )

            def similarity(worker: int, reps: list[np.ndarray], arr=arr, own=own) -> np.ndarray:
                mine = np.array([arr(worker, k) for k in range(len(own[worker]))])
                return similarity_matrix(mine, np.array(reps), self.min_height)

            clusters = match_across_workers(
                [len(o) for o in own], order, similarity, represent, self.iou_threshold
            )
            for members in clusters:
                workers = [m for m, _ in members]
                if not keep(workers):
                    continue
                result = represent(members)
                ious = np.array(
                    [cuboid_similarity(arr(m, k), result, self.min_height) for m, k in members]
                )
                share = float(w[workers].sum() / w.sum())
                mean_iou = float((w[workers] * ious).sum() / w[workers].sum())
                results.append(
                    ConsolidatedCuboid(
                        label=label,
                        cuboid=result,
                        confidence=round(share * mean_iou, 4),
                        members=[(m, own[m][k]) for m, k in members],
                    )
                )
        self.cuboids_ = _in_answer_order(results, order)
        return self


def _in_answer_order(results: list[Any], order: list[int]) -> list[Any]:
    """Results in the order of their best member's worker (matching order), then of its
    object in that worker's answer: one worker's answer comes back in its own order."""
    rank = {w: i for i, w in enumerate(order)}
    return sorted(results, key=lambda r: (rank[r.members[0][0]], r.members[0][1]))


@dataclass(frozen=True)
class TrackInput:
    """One worker's track, expanded: its cuboid on each frame it is present on."""

    label: str
    frames: Mapping[int, np.ndarray]


@dataclass(frozen=True)
class ConsolidatedTrack:
    label: str
    frames: dict[int, np.ndarray]
    confidence: float
    members: list[tuple[int, int]]  # (worker position, track index)


# Two tracks are compared on at most this many of their shared frames, evenly spread: a
# match needs an estimate, and the IoUs of every frame of long tracks cost seconds.
MATCH_FRAMES = 64


def track_similarity(
    a: TrackInput, b: TrackInput, min_height: float = 0.05, max_frames: int | None = None
) -> float:
    """Mean IoU over the frames both tracks are on (0 without one), over ``max_frames`` of
    them evenly spread when given; frames where the two cuboids' bounding spheres are
    apart count 0 without an IoU computed."""
    shared = sorted(set(a.frames) & set(b.frames))
    if not shared:
        return 0.0
    if max_frames is not None and len(shared) > max_frames:
        shared = [
            shared[i] for i in np.linspace(0, len(shared) - 1, max_frames).round().astype(int)
        ]
    ca = np.array([a.frames[f] for f in shared])
    cb = np.array([b.frames[f] for f in shared])
    reach = 0.5 * (np.linalg.norm(ca[:, 3:6], axis=1) + np.linalg.norm(cb[:, 3:6], axis=1))
    near = np.flatnonzero(np.linalg.norm(ca[:, :3] - cb[:, :3], axis=1) < reach)
    total = sum(cuboid_similarity(ca[i], cb[i], min_height) for i in near)
    return float(total) / len(shared)


class CuboidTrackConsolidator:
    """Cuboid tracks of one sequence across workers (see the module doc)."""

    def __init__(
        self,
        *,
        iou_threshold: float = 0.3,
        min_support: int | float | None = None,
        min_height: float = 0.05,
    ):
        self.iou_threshold = iou_threshold
        self.min_support = min_support
        self.min_height = min_height

    def _combine(
        self, tracks: list[TrackInput], weights: np.ndarray, *, with_quality: bool = True
    ) -> tuple[dict[int, np.ndarray], list[float]]:
        """Per frame where most of the members' weight is present, their consolidated
        cuboid (combine_cuboids, for every frame at once); and each such frame's weighted
        mean IoU of the members present."""
        order = sorted({f for t in tracks for f in t.frames})
        if not order:
            return {}, []
        index = {f: k for k, f in enumerate(order)}
        cubes = np.zeros((len(tracks), len(order), 9))
        present = np.zeros((len(tracks), len(order)), dtype=bool)
        for i, t in enumerate(tracks):
            for f, c in t.frames.items():
                cubes[i, index[f]] = c
                present[i, index[f]] = True
        w = present * weights[:, None]  # (members, frames): a member's weight where present
        kept = w.sum(axis=0) * 2 >= float(weights.sum()) - 1e-12
        cubes, present, w = cubes[:, kept], present[:, kept], w[:, kept]
        share = w / w.sum(axis=0)
        out = np.einsum("mf,mfk->fk", share, cubes)
        for j in (6, 7, 8):
            sin = np.einsum("mf,mf->f", share, np.sin(cubes[:, :, j]))
            cos = np.einsum("mf,mf->f", share, np.cos(cubes[:, :, j]))
            out[:, j] = np.where(
                np.abs(sin) + np.abs(cos) > 1e-12, np.arctan2(sin, cos), cubes[0, :, j]
            )
        out[:, 6:9] = wrap_angle(out[:, 6:9])
        kept_frames = [f for f, k in zip(order, kept, strict=True) if k]
        frames = {f: out[k] for k, f in enumerate(kept_frames)}
        quality: list[float] = []
        if with_quality:
            for k in range(len(kept_frames)):
                members = np.flatnonzero(present[:, k])
                ious = [cuboid_similarity(cubes[i, k], out[k], self.min_height) for i in members]
                quality.append(float(np.dot(w[members, k], ious) / w[members, k].sum()))
        return frames, quality

    def fit(
        self,
        per_worker: Sequence[Sequence[TrackInput]],
        weights: Sequence[float] | np.ndarray,
    ) -> CuboidTrackConsolidator:
        w = np.asarray(weights, dtype=np.float64)
        if len(per_worker) == 0 or len(w) != len(per_worker):
            raise ValueError("per_worker: one list of tracks per worker, and one weight each")
        keep = support_threshold(self.min_support, w)
        order = worker_order(w)
        results: list[ConsolidatedTrack] = []
        for label in sorted({t.label for tracks in per_worker for t in tracks}):
            own = [[i for i, t in enumerate(tracks) if t.label == label] for tracks in per_worker]

            def track(worker: int, k: int, own: list[list[int]] = own) -> TrackInput:
                return per_worker[worker][own[worker][k]]

            def represent(
                members: list[tuple[int, int]], track=track, label: str = label
            ) -> TrackInput:
                frames, _ = self._combine(
                    [track(m, k) for m, k in members],
                    w[[m for m, _ in members]],
                    with_quality=False,
                )
                return TrackInput(label=label, frames=frames)

            def similarity(worker: int, reps: list[TrackInput], track=track, own=own) -> np.ndarray:
                return np.array(
                    [
                        [
                            track_similarity(track(worker, k), rep, self.min_height, MATCH_FRAMES)
                            for rep in reps
                        ]
                        for k in range(len(own[worker]))
                    ]
                ).reshape(len(own[worker]), len(reps))

            clusters = match_across_workers(
                [len(o) for o in own], order, similarity, represent, self.iou_threshold
            )
            for members in clusters:
                workers = [m for m, _ in members]
                if not keep(workers):
                    continue
                frames, quality = self._combine([track(m, k) for m, k in members], w[workers])
                if not frames:
                    continue
                share = float(w[workers].sum() / w.sum())
                results.append(
                    ConsolidatedTrack(
                        label=label,
                        frames=frames,
                        confidence=round(share * float(np.mean(quality)), 4),
                        members=[(m, own[m][k]) for m, k in members],
                    )
                )
        self.tracks_ = _in_answer_order(results, order)
        return self


class PointLabelConsolidator:
    """Per-point class ids (uint8, 0 = unlabeled) across workers by weighted vote."""

    def __init__(self, *, n_classes: int):
        self.n_classes = n_classes

    def fit(
        self, labels: Sequence[np.ndarray], weights: Sequence[float] | np.ndarray
    ) -> PointLabelConsolidator:
        w = np.asarray(weights, dtype=np.float64)
        if not labels or len(w) != len(labels):
            raise ValueError("labels: one array per worker, and one weight each")
        n = len(labels[0])
        if any(len(x) != n for x in labels):
            raise ValueError(f"labels: every worker must label the same {n} points")
        k = self.n_classes + 1
        votes = np.zeros((k, n), dtype=np.float64)
        for x, weight in zip(labels, w, strict=True):
            votes[np.asarray(x, dtype=np.intp), np.arange(n)] += weight
        # argmax takes the first of equal maxima: ties go to the lowest class id.
        winner = votes.argmax(axis=0)
        share = votes[winner, np.arange(n)] / float(w.sum())
        self.labels_ = winner.astype(np.uint8)
        self.vote_share_ = share
        counts = np.bincount(winner, minlength=k)
        sums = np.bincount(winner, weights=share, minlength=k)
        self.class_confidence_ = {
            c: round(float(sums[c] / counts[c]), 4) for c in range(k) if counts[c]
        }
        self.confidence_ = round(float(share.mean()), 4) if n else 1.0
        return self
