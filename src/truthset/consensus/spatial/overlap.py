"""Overlap measures shared by the consolidators and the agreement metrics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def box_iou(boxes_a: Sequence | np.ndarray, boxes_b: Sequence | np.ndarray) -> np.ndarray:
    """Intersection over union of boxes given as ``(left, top, width, height)`` in pixels.

    Two arrays of shape (n, 4) and (m, 4) give an (n, m) matrix; two single boxes of
    shape (4,) give a 0-d array (use ``float(...)``). Degenerate boxes have IoU 0.
    """
    a = np.asarray(boxes_a, dtype=float)
    b = np.asarray(boxes_b, dtype=float)
    single = a.ndim == 1 and b.ndim == 1
    a = np.atleast_2d(a)
    b = np.atleast_2d(b)
    if a.shape[-1] != 4 or b.shape[-1] != 4:
        raise ValueError(
            f"boxes: expected (left, top, width, height), got shapes {a.shape}, {b.shape}"
        )
    ax0, ay0 = a[:, 0:1], a[:, 1:2]
    ax1, ay1 = ax0 + a[:, 2:3], ay0 + a[:, 3:4]
    bx0, by0 = b[:, 0], b[:, 1]
    bx1, by1 = bx0 + b[:, 2], by0 + b[:, 3]
    iw = np.clip(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0, None)
    ih = np.clip(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0, None)
    inter = iw * ih
    area_a = np.clip(a[:, 2:3], 0, None) * np.clip(a[:, 3:4], 0, None)
    area_b = np.clip(b[:, 2], 0, None) * np.clip(b[:, 3], 0, None)
    union = area_a + area_b - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou[0, 0] if single else iou


def mask_iou(mask_a: np.ndarray, mask_b: np.ndarray) -> float:
    """IoU of two boolean masks of the same shape; two empty masks agree fully (1.0)."""
    a = np.asarray(mask_a, dtype=bool)
    b = np.asarray(mask_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"masks: shapes differ {a.shape} vs {b.shape}")
    union = int(np.count_nonzero(a | b))
    if union == 0:
        return 1.0
    return int(np.count_nonzero(a & b)) / union


def span_jaccard(span_a: Sequence[int], span_b: Sequence[int]) -> float:
    """Jaccard similarity of two character ranges ``(start, end)``, ``end`` exclusive."""
    a0, a1 = int(span_a[0]), int(span_a[1])
    b0, b1 = int(span_b[0]), int(span_b[1])
    inter = max(0, min(a1, b1) - max(a0, b0))
    union = (a1 - a0) + (b1 - b0) - inter
    if union <= 0:
        return 1.0 if (a0, a1) == (b0, b1) else 0.0
    return inter / union


def class_mask_iou(
    mask_a: np.ndarray, mask_b: np.ndarray, n_classes: int | None = None
) -> np.ndarray:
    """Per-class IoU of two class-index masks; classes absent from both get NaN."""
    a = np.asarray(mask_a)
    b = np.asarray(mask_b)
    if a.shape != b.shape:
        raise ValueError(f"masks: shapes differ {a.shape} vs {b.shape}")
    k = int(n_classes if n_classes is not None else max(a.max(initial=0), b.max(initial=0)) + 1)
    out = np.full(k, np.nan)
    for c in range(k):
        ia, ib = a == c, b == c
        union = np.count_nonzero(ia | ib)
        if union:
            out[c] = np.count_nonzero(ia & ib) / union
    return out
