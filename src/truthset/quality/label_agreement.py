"""Pairwise agreement per label for the spatial task types (boxes, polygons, instance and
semantic masks, keypoints, polylines, entity spans, audio segments, video tracks).

Definition. For each item and each pair of its counted answers, and for each label L that
either answer uses, the pair's agreement on L is the task type's own measure applied to
the two answers restricted to L:

- object answers (boxes, polygons, instances, keypoints, polylines) and entity spans: the
  objects of label L of one answer are paired one to one with those of the other by
  Hungarian assignment on their similarity (IoU for boxes, polygons and instance masks,
  Jaccard for spans, a closeness for points and lines); pairs under the type's matching
  threshold count as misses; the agreement is the sum of the paired similarities over the
  mean number of L objects of the two answers (a soft F1: a missed or an extra object
  costs as much as a wrong one);
- semantic segmentation: the IoU of the two answers' L pixels.

``per_label[L]`` is the mean of that agreement over the pairs where at least one answer
uses L (pairs where neither does say nothing about L and are left out); None when no pair
uses L. Example: one worker draws a car and a person, the other the same car at IoU 0.6
and no person: car 0.6, person 0.0 (the overall measure of that pair is 0.6 / 1.5 = 0.4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from truthset.consensus.spatial import class_mask_iou, decode_label_png
from truthset.tasktypes import LabelConfig

# The list of labelled objects in an answer, by task type.
OBJECT_KEYS = (
    "boundingBoxes",
    "polygons",
    "instances",
    "keypoints",
    "polylines",
    "lines",
    "segments",
    # Video (and point cloud) tracks: each track carries its label.
    "tracks",
)
SPAN_KEY = "entities"

Measure = Callable[[Any, Any, LabelConfig], float]


def _object_key(content: Any) -> str | None:
    if not isinstance(content, dict):
        return None
    for key in (*OBJECT_KEYS, SPAN_KEY):
        if isinstance(content.get(key), list):
            return key
    return None


def _is_semantic_mask(content: Any) -> bool:
    return isinstance(content, dict) and "labeledImage" in content and "instances" not in content


def restrict_to_label(content: dict[str, Any], key: str, label: str) -> dict[str, Any]:
    """The answer with only its objects of ``label`` (everything else kept as it is)."""
    return {**content, key: [o for o in content[key] if o.get("label") == label]}


def per_label_pairwise_agreement(
    answers_by_item: Iterable[Sequence[Any]], measure: Measure, config: LabelConfig
) -> dict[str, float | None]:
    """Mean pairwise agreement per label of the config (see the module doc). Task types
    whose answers carry no labelled objects (transcripts, verdicts) give ``{}``."""
    labels = [str(x) for x in config.labels]
    sums = dict.fromkeys(labels, 0.0)
    counts = dict.fromkeys(labels, 0)
    any_labelled = False
    for answers in answers_by_item:
        if len(answers) < 2:
            continue
        if _is_semantic_mask(answers[0]):
            any_labelled = True
            _add_mask_pairs(answers, labels, sums, counts)
            continue
        key = _object_key(answers[0])
        if key is None:
            continue
        any_labelled = True
        for a, b in combinations(answers, 2):
            ka, kb = _object_key(a), _object_key(b)
            if ka is None or kb is None:
                continue
            used = {str(o.get("label")) for o in (*a[ka], *b[kb])}
            for label in used:
                value = float(
                    measure(
                        restrict_to_label(a, ka, label), restrict_to_label(b, kb, label), config
                    )
                )
                sums[label] = sums.get(label, 0.0) + value
                counts[label] = counts.get(label, 0) + 1
    if not any_labelled:
        return {}
    return {
        label: (round(sums[label] / counts[label], 4) if counts[label] else None) for label in sums
    }


def _add_mask_pairs(
    answers: Sequence[Any], labels: list[str], sums: dict[str, float], counts: dict[str, int]
) -> None:
    masks = [
        decode_label_png(
            a["labeledImage"]["pngImageData"],
            a.get("labelMappings") or {},
            labels,
            unknown="background",
        )
        for a in answers
    ]
    for ma, mb in combinations(masks, 2):
        if ma.shape != mb.shape:
            # The overall measure scores such a pair 0: so does every class either uses.
            present = set(np.unique(ma).tolist()) | set(np.unique(mb).tolist())
            iou = np.array([0.0 if k in present else np.nan for k in range(len(labels) + 1)])
        else:
            iou = class_mask_iou(ma, mb, len(labels) + 1)
        for k, label in enumerate(labels, start=1):
            if not np.isnan(iou[k]):
                sums[label] += float(iou[k])
                counts[label] += 1
