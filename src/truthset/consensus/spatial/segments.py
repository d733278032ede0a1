"""Time segments of audio (speakers, sound events) from several workers, with skill weights.

1. Segments are matched across workers **per label** by temporal IoU (intersection over
   union of the ``[start, end)`` intervals): workers by decreasing weight; each worker's
   segments of a label are assigned one to one to the label's current clusters (Hungarian
   on IoU against each cluster's current consolidated segment; pairs under
   ``iou_threshold`` never match); unmatched segments open clusters.
2. A cluster is kept under ``min_support`` (default: more than half the worker weight).
3. Its boundaries are the skill-weighted medians of its members' starts and ends (the
   midpoint of the two middle values when the weight splits exactly in half, as the
   ordinary median of an even count).
4. Confidence per segment = (weight of its members / weight of all workers) x the
   weighted mean IoU of the members with the consolidated segment; 0.0 with a single
   worker, as in Ground Truth. With ``with_text``, the members' texts are consolidated by
   ROVER word voting (:class:`TranscriptionConsolidator`) and the segment's confidence is
   also multiplied by the transcript's confidence when two or more members wrote one.
5. With ``allow_overlap=False`` the consolidated segments are made disjoint, whatever
   their labels: two that overlap are cut at the middle of their overlap; one that lies
   inside another is dropped when it is the less confident, else the other ends where it
   starts (and is dropped if nothing is left).

Matching only ever compares intervals that overlap: a sweep over the sorted intervals
splits each worker's step into independent groups (usually one segment and one cluster,
compared directly; Hungarian only inside groups with more), so 10,000 segments of 5
workers consolidate in well under a second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._common import (
    Consolidator,
    check_label,
    class_ids,
    label_names,
    require_answers,
    support_threshold,
    unwrap_answer,
    worker_ids_of,
    worker_order,
    worker_weights,
)
from .transcripts import TranscriptionConsolidator

# Times are kept to the millisecond, as answers are stored.
DECIMALS = 3
_EPS = 1e-9


def temporal_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two intervals ``(start, end)`` in seconds; 0.0 when they do not overlap."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        return 0.0
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return float(inter / union) if union > 0 else 0.0


def temporal_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) IoU of intervals ``a`` (n, 2) against ``b`` (m, 2)."""
    a = np.asarray(a, dtype=float).reshape(-1, 2)
    b = np.asarray(b, dtype=float).reshape(-1, 2)
    inter = np.clip(
        np.minimum(a[:, 1:2], b[None, :, 1]) - np.maximum(a[:, 0:1], b[None, :, 0]), 0.0, None
    )
    union = (a[:, 1:2] - a[:, 0:1]) + (b[None, :, 1] - b[None, :, 0]) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match_intervals(a: np.ndarray, b: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """One-to-one pairs ``(i, j, iou)`` of intervals of ``a`` and ``b`` with the largest
    total IoU, each pair's IoU at least ``threshold`` (> 0).

    Intervals that do not overlap cannot pair, so a sweep over both sets sorted by start
    splits them into groups of chained overlaps; a group of one ``a`` and one ``b`` is
    decided directly, bigger groups by Hungarian assignment."""
    a = np.asarray(a, dtype=float).reshape(-1, 2)
    b = np.asarray(b, dtype=float).reshape(-1, 2)
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return []
    both = np.concatenate([a, b])
    order = np.argsort(both[:, 0], kind="stable")
    ends = np.maximum.accumulate(both[order, 1])
    new_group = np.empty(n + m, dtype=bool)
    new_group[0] = True
    new_group[1:] = both[order[1:], 0] >= ends[:-1]
    group_sorted = np.cumsum(new_group) - 1
    group = np.empty(n + m, dtype=int)
    group[order] = group_sorted
    n_groups = int(group_sorted[-1]) + 1
    count_a = np.bincount(group[:n], minlength=n_groups)
    count_b = np.bincount(group[n:], minlength=n_groups)
    pairs: list[tuple[int, int, float]] = []
    # Groups of exactly one interval of each side: the common case, all at once.
    simple = (count_a == 1) & (count_b == 1)
    ia = np.flatnonzero(simple[group[:n]])
    if len(ia):
        ib = np.flatnonzero(simple[group[n:]])
        # Both are listed in order of their group, one per group.
        ia = ia[np.argsort(group[ia], kind="stable")]
        ib = ib[np.argsort(group[n + ib], kind="stable")]
        inter = np.minimum(a[ia, 1], b[ib, 1]) - np.maximum(a[ia, 0], b[ib, 0])
        union = (a[ia, 1] - a[ia, 0]) + (b[ib, 1] - b[ib, 0]) - inter
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
        keep = iou >= threshold
        pairs.extend(
            (int(i), int(j), float(v))
            for i, j, v in zip(ia[keep], ib[keep], iou[keep], strict=True)
        )
    complex_groups = np.flatnonzero((count_a >= 1) & (count_b >= 1) & ~simple)
    if len(complex_groups):
        members_a = _members(group[:n], complex_groups)
        members_b = _members(group[n:], complex_groups)
        for g in complex_groups.tolist():
            rows, cols = members_a[g], members_b[g]
            sim = temporal_iou_matrix(a[rows], b[cols])
            ok = sim >= threshold
            if not ok.any():
                continue
            r, c = linear_sum_assignment(np.where(ok, -sim, 1e6))
            pairs.extend(
                (int(rows[x]), int(cols[y]), float(sim[x, y]))
                for x, y in zip(r, c, strict=True)
                if ok[x, y]
            )
    return pairs


def _members(group_of: np.ndarray, groups: np.ndarray) -> dict[int, np.ndarray]:
    wanted = np.isin(group_of, groups)
    idx = np.flatnonzero(wanted)
    by = group_of[idx]
    order = np.argsort(by, kind="stable")
    idx, by = idx[order], by[order]
    cuts = np.flatnonzero(np.diff(by)) + 1
    return {int(g[0]): i for g, i in zip(np.split(by, cuts), np.split(idx, cuts), strict=True)}


def weighted_median(values: Sequence[float], weights: Sequence[float]) -> float:
    """The weighted median; the midpoint of the two middle values when the weight below
    and above splits exactly in half (two equal workers: the mean of their values)."""
    n = len(values)
    if n == 1:
        return float(values[0])
    if all(w == weights[0] for w in weights):  # equal weights: the ordinary median
        ordered = sorted(values)
        mid = n // 2
        return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    pairs = sorted(zip(values, weights, strict=True))
    total = sum(w for _, w in pairs)
    half = total / 2
    cum = 0.0
    for i, (v, w) in enumerate(pairs):
        cum += w
        if cum >= half - _EPS * max(total, 1.0):
            if abs(cum - half) <= _EPS * max(total, 1.0) and i + 1 < len(pairs):
                return (v + pairs[i + 1][0]) / 2
            return float(v)
    return float(pairs[-1][0])


class _Cluster:
    __slots__ = ("members", "starts", "ends", "weights", "start", "end")

    def __init__(self) -> None:
        self.members: list[tuple[int, int]] = []  # (worker position, segment index)
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.weights: list[float] = []
        self.start = 0.0
        self.end = 0.0

    def add(self, worker: int, index: int, start: float, end: float, weight: float) -> None:
        self.members.append((worker, index))
        self.starts.append(start)
        self.ends.append(end)
        self.weights.append(weight)
        if len(self.members) == 1:
            self.start, self.end = start, end
            return
        lo = weighted_median(self.starts, self.weights)
        hi = weighted_median(self.ends, self.weights)
        if hi <= lo:  # cannot happen with start < end per member; keep the first member
            lo, hi = self.starts[0], self.ends[0]
        self.start, self.end = lo, hi


class SegmentConsolidator(Consolidator):
    """Consolidate one clip's time segments from several workers (see the module doc).

    Parameters: ``labels`` (the label order; strings or ``{"label": ...}``),
    ``iou_threshold`` (0.5), ``min_support`` (None: a majority of the worker weight; an
    int: that many workers; a float: that share of the weight), ``with_text`` (False),
    ``allow_overlap`` (True), and for the texts ``case_sensitive`` / ``ignore_punctuation``.

    ``fit(answers)``: ``{"segments": [{"start", "end", "label", "text"?}]}``.

    Fitted: ``label_`` = ``{"segments": [{"start", "end", "label", "text"?,
    "confidence"}]}`` sorted by (start, end, label order), ``segments_`` (n, 2),
    ``class_ids_``, ``confidences_``, ``support_`` (weight share), ``texts_`` (None
    without text), ``clusters_`` (per segment its ``(worker id, segment index)`` members),
    ``n_dropped_`` (clusters under ``min_support``), ``n_cut_`` (segments cut or dropped
    to remove overlaps), ``label_names_``.
    """

    def __init__(
        self,
        *,
        labels: Sequence[Any] | None = None,
        iou_threshold: float = 0.5,
        min_support: int | float | None = None,
        with_text: bool = False,
        allow_overlap: bool = True,
        case_sensitive: bool = False,
        ignore_punctuation: bool = False,
    ) -> None:
        self.labels = labels
        self.iou_threshold = iou_threshold
        self.min_support = min_support
        self.with_text = with_text
        self.allow_overlap = allow_overlap
        self.case_sensitive = case_sensitive
        self.ignore_punctuation = ignore_punctuation

    def fit(
        self,
        answers: Sequence[Any],
        worker_ids: Sequence[str] | None = None,
        skills: Mapping[str, float] | None = None,
    ) -> SegmentConsolidator:
        require_answers(answers)
        if not 0.0 < float(self.iou_threshold) <= 1.0:
            raise ValueError(f"iou_threshold: {self.iou_threshold!r} is not in (0, 1]")
        ids = worker_ids_of(answers, worker_ids)
        weights = worker_weights(ids, skills)
        payloads = [unwrap_answer(a, "segments") for a in answers]
        segments = [list(p["segments"]) for p in payloads]
        names = label_names(self.labels, [str(s["label"]) for ss in segments for s in ss])
        cid = class_ids(names)
        # Per label, per worker position: (segment indices, intervals) sorted by start.
        empty = (np.zeros(0, dtype=int), np.zeros((0, 2)))
        by_label: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        for w, ss in enumerate(segments):
            labs = np.array(
                [
                    check_label(str(s["label"]), cid, f"segments[{j}].label")
                    for j, s in enumerate(ss)
                ],
                dtype=int,
            )
            times = np.array([(float(s["start"]), float(s["end"])) for s in ss], dtype=float)
            times = times.reshape(-1, 2)
            bad = np.flatnonzero(~(times[:, 0] < times[:, 1]))
            if len(bad):
                raise ValueError(f"segments[{int(bad[0])}]: start must be before end")
            for k in np.unique(labs).tolist():
                idx = np.flatnonzero(labs == k)
                idx = idx[np.argsort(times[idx, 0], kind="stable")]
                by_label.setdefault(k, [empty] * len(segments))[w] = (idx, times[idx])
        keep = support_threshold(self.min_support, weights)
        total = float(weights.sum())
        order = worker_order(weights)
        results: list[dict[str, Any]] = []
        n_dropped = 0
        for k in sorted(by_label):
            for cluster in self._match_label(by_label[k], order, weights):
                workers = [w for w, _ in cluster.members]
                if not keep(workers):
                    n_dropped += 1
                    continue
                results.append(self._result(k, cluster, weights, total, len(answers), segments))
        results, n_cut = (results, 0) if self.allow_overlap else _disjoint(results)
        if self.with_text:
            for r in results:
                r["text"] = self._text(r["members"], segments, ids, weights, r)
        results.sort(key=lambda r: (r["start"], r["end"], r["class_id"]))
        self.label_names_ = names
        self.segments_ = np.array([(r["start"], r["end"]) for r in results], float).reshape(-1, 2)
        self.class_ids_ = np.array([r["class_id"] for r in results], dtype=int)
        self.confidences_ = np.array([r["confidence"] for r in results], dtype=float)
        self.support_ = np.array([r["support"] for r in results], dtype=float)
        self.texts_ = [r["text"] for r in results] if self.with_text else None
        self.clusters_ = [[(ids[w], j) for w, j in r["members"]] for r in results]
        self.n_dropped_ = n_dropped
        self.n_cut_ = n_cut
        out = []
        for r in results:
            seg: dict[str, Any] = {
                "start": _seconds(r["start"]),
                "end": _seconds(r["end"]),
                "label": names[r["class_id"]],
            }
            if self.with_text:
                seg["text"] = r["text"]
            seg["confidence"] = round(float(r["confidence"]), 4)
            out.append(seg)
        self.label_ = {"segments": out}
        present = sorted({r["class_id"] for r in results})
        self.metadata_ = {"class-map": {str(c): names[c] for c in present}}
        return self

    def _match_label(
        self, rows: list[tuple[np.ndarray, np.ndarray]], order: list[int], weights: np.ndarray
    ) -> list[_Cluster]:
        clusters: list[_Cluster] = []
        for w in order:
            idx, times = rows[w]
            if len(idx) == 0:
                continue
            wt = float(weights[w])
            matched: set[int] = set()
            if clusters:
                reps = np.array([(c.start, c.end) for c in clusters], dtype=float)
                for i, c, _iou in match_intervals(times, reps, float(self.iou_threshold)):
                    clusters[c].add(w, int(idx[i]), float(times[i, 0]), float(times[i, 1]), wt)
                    matched.add(i)
            for i in range(len(idx)):
                if i not in matched:
                    cluster = _Cluster()
                    cluster.add(w, int(idx[i]), float(times[i, 0]), float(times[i, 1]), wt)
                    clusters.append(cluster)
        return clusters

    def _result(
        self,
        class_id: int,
        cluster: _Cluster,
        weights: np.ndarray,
        total: float,
        n_answers: int,
        segments: list[list[Any]],
    ) -> dict[str, Any]:
        start, end = round(cluster.start, DECIMALS), round(cluster.end, DECIMALS)
        if end <= start:  # rounding a sub-millisecond median: keep the first member's
            start, end = cluster.starts[0], cluster.ends[0]
        mw = np.array(cluster.weights)
        ious = np.array(
            [
                temporal_iou((s, e), (start, end))
                for s, e in zip(cluster.starts, cluster.ends, strict=True)
            ]
        )
        support = float(mw.sum()) / total
        confidence = 0.0 if n_answers == 1 else support * float((ious * mw).sum() / mw.sum())
        return {
            "start": start,
            "end": end,
            "class_id": class_id,
            "confidence": confidence,
            "support": support,
            "members": list(cluster.members),
        }

    def _text(
        self,
        members: list[tuple[int, int]],
        segments: list[list[Any]],
        ids: list[str],
        weights: np.ndarray,
        result: dict[str, Any],
    ) -> str:
        texts = [str(segments[w][j].get("text") or "") for w, j in members]
        if len(texts) == 1:
            return texts[0]
        if all(t == texts[0] for t in texts):  # what ROVER gives, without aligning
            return " ".join(texts[0].split())
        fitted = TranscriptionConsolidator(
            case_sensitive=self.case_sensitive, ignore_punctuation=self.ignore_punctuation
        ).fit(
            texts,
            worker_ids=[ids[w] for w, _ in members],
            skills={ids[w]: float(weights[w]) for w, _ in members},
        )
        result["confidence"] *= float(fitted.confidence_)
        return str(fitted.label_["transcription"])


def _seconds(value: float) -> int | float:
    """Milliseconds kept; whole seconds as ints, as answers store them."""
    rounded = round(float(value), DECIMALS)
    return int(rounded) if rounded.is_integer() else rounded


def _disjoint(results: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The segments made disjoint (module doc, step 5); and how many were cut or dropped."""
    ordered = sorted(results, key=lambda r: (r["start"], -r["end"], -r["confidence"]))
    out: list[dict[str, Any]] = []
    changed = 0
    for r in ordered:
        alive = True
        while alive and out and r["start"] < out[-1]["end"]:
            prev = out[-1]
            changed += 1
            inside = r["end"] <= prev["end"]
            if inside and r["confidence"] <= prev["confidence"]:
                alive = False
            elif inside:
                prev["end"] = r["start"]
            else:
                middle = round((r["start"] + prev["end"]) / 2, DECIMALS)
                prev["end"] = r["start"] = middle
            if prev["end"] <= prev["start"]:
                out.pop()
            if r["end"] <= r["start"]:
                alive = False
        if alive:
            out.append(r)
    return out, changed
