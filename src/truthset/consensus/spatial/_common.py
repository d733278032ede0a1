"""Shared plumbing for the spatial consolidators: answers, worker weights, matching.

Every consolidator takes the answers for ONE item. An answer may be given as the tool's
payload (``{"boundingBoxes": [...], ...}``), as Ground Truth's answer content keyed by the
template element name (``{"box": {"boundingBoxes": [...]}}``), or as a worker-response
record (``{"workerId": ..., "answerContent": {...}}``); :func:`unwrap_answer` accepts all
three so that the task-type plugins can pass whatever they stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

Answer = Mapping[str, Any]


def unwrap_answer(answer: Any, key: str) -> Mapping[str, Any]:
    """Return the tool payload that holds ``key`` from any of the accepted answer shapes."""
    if not isinstance(answer, Mapping):
        raise ValueError(f"answer: expected an object with {key!r}, got {type(answer).__name__}")
    if key in answer:
        return answer
    if "answerContent" in answer:
        return unwrap_answer(answer["answerContent"], key)
    if len(answer) == 1:
        (inner,) = answer.values()
        if isinstance(inner, Mapping) and key in inner:
            return inner
    raise ValueError(f"answer: no {key!r} field (keys: {sorted(answer)})")


def worker_ids_of(answers: Sequence[Any], worker_ids: Sequence[str] | None) -> list[str]:
    """Worker ids for the answers: given, else each record's ``workerId``, else positions."""
    if worker_ids is not None:
        ids = [str(w) for w in worker_ids]
        if len(ids) != len(answers):
            raise ValueError(
                f"worker_ids: {len(ids)} ids for {len(answers)} answers; give one id per answer"
            )
    else:
        ids = [
            str(a["workerId"]) if isinstance(a, Mapping) and "workerId" in a else str(i)
            for i, a in enumerate(answers)
        ]
    if len(set(ids)) != len(ids):
        raise ValueError(f"worker_ids: duplicate ids {sorted(ids)}; one answer per worker")
    return ids


def worker_weights(ids: Sequence[str], skills: Mapping[str, float] | None) -> np.ndarray:
    """Skill weight per worker, in (0, 1]; a worker without an estimate counts 1.0.

    Unknown workers get full weight so that a job without skill estimates behaves as an
    unweighted vote; the skill estimator is expected to cover every worker once it runs.
    """
    out = np.ones(len(ids), dtype=float)
    if skills is None:
        return out
    for i, w in enumerate(ids):
        if w in skills:
            value = float(skills[w])
            if not (0.0 < value <= 1.0) or not np.isfinite(value):
                raise ValueError(f"skills[{w!r}]: {value} is not a weight in (0, 1]")
            out[i] = value
    return out


def require_answers(answers: Sequence[Any]) -> None:
    if len(answers) == 0:
        raise ValueError("answers: empty; consolidation needs at least one worker answer")


def support_threshold(min_support: int | float | None, weights: np.ndarray) -> Callable:
    """Return ``keep(member_worker_indices) -> bool`` for the ``min_support`` rule.

    * ``None``: a strict majority of the total worker weight (with equal weights: more
      than half of the workers);
    * ``int`` k: at least k distinct workers;
    * ``float`` f in (0, 1]: at least share f of the total worker weight.
    """
    total = float(weights.sum())
    if min_support is None:
        return lambda members: float(weights[list(members)].sum()) > total / 2 + 1e-12
    if isinstance(min_support, bool):
        raise ValueError(f"min_support: {min_support!r} is not a count or a share")
    if isinstance(min_support, int | np.integer):
        if min_support < 1:
            raise ValueError(f"min_support: {min_support} must be at least 1 worker")
        k = int(min_support)
        return lambda members: len(set(members)) >= k
    share = float(min_support)
    if not 0.0 < share <= 1.0:
        raise ValueError(f"min_support: {share} is not a share in (0, 1]")
    return lambda members: float(weights[list(members)].sum()) >= share * total - 1e-12


def worker_order(weights: np.ndarray) -> list[int]:
    """Workers by decreasing weight, ties by input position: the matching order."""
    return sorted(range(len(weights)), key=lambda i: (-weights[i], i))


def assign(similarity: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Maximum-similarity one-to-one assignment keeping pairs with similarity >= threshold.

    Rows are one worker's objects, columns the current clusters. Hungarian on the
    similarity, pairs under the threshold made impossible, so that one worker never puts
    two objects in one cluster.
    """
    if similarity.size == 0:
        return []
    ok = similarity >= threshold
    cost = np.where(ok, -similarity, 1e6)
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if ok[r, c]]


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Lower weighted median: the smallest value whose cumulative weight reaches half."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    idx = int(np.searchsorted(cum, 0.5 * cum[-1] - 1e-12))
    return float(v[min(idx, len(v) - 1)])


def image_size_of(payloads: Sequence[Mapping[str, Any]], image_size: Any) -> tuple[int, int]:
    """(width, height) from the parameter or the answers' ``inputImageProperties``."""
    if image_size is not None:
        if isinstance(image_size, Mapping):
            return int(image_size["width"]), int(image_size["height"])
        w, h = image_size
        return int(w), int(h)
    sizes = {
        (int(p["inputImageProperties"]["width"]), int(p["inputImageProperties"]["height"]))
        for p in payloads
        if "inputImageProperties" in p
    }
    if not sizes:
        raise ValueError("inputImageProperties: missing from every answer; pass image_size")
    if len(sizes) > 1:
        raise ValueError(
            f"inputImageProperties: answers disagree on the image size {sorted(sizes)}"
        )
    return sizes.pop()


def label_names(labels: Sequence[Any] | None, seen: Sequence[str]) -> list[str]:
    """Label names in class-id order: the label config's order, else sorted names seen."""
    if labels is None:
        return sorted(set(seen))
    names = []
    for entry in labels:
        names.append(str(entry["label"]) if isinstance(entry, Mapping) else str(entry))
    return names


def class_ids(names: Sequence[str]) -> dict[str, int]:
    return {name: i for i, name in enumerate(names)}


def check_label(name: str, ids: Mapping[str, int], field: str) -> int:
    if name not in ids:
        raise ValueError(f"{field}: label {name!r} is not in the label list {list(ids)}")
    return ids[name]


def match_across_workers(
    n_objects: Sequence[int],
    order: Sequence[int],
    similarity: Callable[[int, list[Any]], np.ndarray],
    represent: Callable[[list[tuple[int, int]]], Any],
    threshold: float,
) -> list[list[tuple[int, int]]]:
    """Greedy cross-worker matching: clusters of ``(worker, object)`` with one object per worker.

    Workers are taken in ``order`` (highest weight first). Each worker's objects are
    assigned to the current clusters by Hungarian on ``similarity(worker, representatives)``
    (pairs below ``threshold`` are never matched); a matched cluster's representative is
    recomputed with ``represent(members)``; unmatched objects open new clusters.
    """
    clusters: list[list[tuple[int, int]]] = []
    reps: list[Any] = []
    for w in order:
        n = int(n_objects[w])
        if n == 0:
            continue
        pairs = assign(np.asarray(similarity(w, reps)), threshold) if clusters else []
        matched = set()
        for r, c in pairs:
            clusters[c].append((w, r))
            reps[c] = represent(clusters[c])
            matched.add(r)
        for r in range(n):
            if r not in matched:
                clusters.append([(w, r)])
                reps.append(represent(clusters[-1]))
    return clusters


class Consolidator:
    """Common conveniences: ``fit_predict`` and scikit-learn style ``get_params``."""

    label_: Any

    def fit(self, answers: Sequence[Any], worker_ids=None, skills=None) -> Consolidator:
        raise NotImplementedError

    def fit_predict(
        self,
        answers: Sequence[Any],
        worker_ids: Sequence[str] | None = None,
        skills: Mapping[str, float] | None = None,
    ) -> Any:
        """Fit and return the consolidated label (``label_``)."""
        return self.fit(answers, worker_ids=worker_ids, skills=skills).label_

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        import inspect

        names = [
            p.name
            for p in inspect.signature(type(self).__init__).parameters.values()
            if p.name != "self" and p.kind == p.KEYWORD_ONLY
        ]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"
