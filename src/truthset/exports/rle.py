"""COCO's run-length encoding of a binary mask, as pycocotools writes it
(`pycocotools.mask.encode`), without pycocotools: exports carry no C extension.

A mask is read in column-major order (down each column, then the next column); the
counts alternate background and foreground runs, starting with background (a mask whose
first pixel is set starts with a run of 0). The compressed form is COCO's `counts`
string (maskApi.c `rleToString`): each count, less the count two places before it from
the third on, in 5-bit groups, low group first, each group plus 48 as one character, 0x20
set on every group but the last, 0x10 the sign of the last.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


def run_lengths(mask: np.ndarray) -> list[int]:
    """The uncompressed counts of a 2-d mask (non-zero = foreground)."""
    flat = np.asarray(mask).astype(bool).ravel(order="F")
    if flat.size == 0:
        return []
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], changes, [flat.size])))
    if flat[0]:
        runs = np.concatenate(([0], runs))
    return [int(r) for r in runs]


def compress(counts: list[int]) -> str:
    """COCO's counts string of uncompressed counts."""
    if not counts:
        return ""
    values = np.asarray(counts, dtype=np.int64)
    x = values.copy()
    x[3:] -= values[1:-2]
    # Every count's 5-bit groups at once: row g holds each count's g-th group (or -1 once
    # the count has none left); read column by column, they are the string.
    groups = []
    active = np.ones(x.size, dtype=bool)
    while active.any():
        c = x & 0x1F
        x >>= 5  # arithmetic: a negative difference keeps its sign bits
        more = np.where(c & 0x10, x != -1, x != 0)
        groups.append(np.where(active, c | np.where(more, 0x20, 0), -1))
        active &= more
    table = np.stack(groups).T.ravel()
    return (table[table >= 0] + 48).astype(np.uint8).tobytes().decode("ascii")


def encode(mask: np.ndarray) -> dict[str, Any]:
    """`{"counts": <string>, "size": [height, width]}`: COCO's compressed RLE."""
    height, width = np.asarray(mask).shape
    return {"counts": compress(run_lengths(mask)), "size": [int(height), int(width)]}


def bbox(mask: np.ndarray) -> list[float]:
    """[x, y, width, height] of the set pixels (whole pixels, as `mask.toBbox`); zeros for
    an empty mask."""
    m = np.asarray(mask).astype(bool)
    cols = np.flatnonzero(m.any(axis=0))
    rows = np.flatnonzero(m.any(axis=1))
    if cols.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    x, y = int(cols[0]), int(rows[0])
    return [float(x), float(y), float(cols[-1] - x + 1), float(rows[-1] - y + 1)]


def encode_classes(classes: np.ndarray) -> Iterator[tuple[int, dict[str, Any], int, list[float]]]:
    """(class id, RLE, area, bbox) of each class but 0 present in a class-id mask, in
    class order: the runs of all classes found in one pass over the pixels, each class's
    counts, area and extent made from its runs alone (what `encode`, a pixel count and
    `bbox` of `classes == k` give, without a pass over the pixels per class)."""
    height, width = classes.shape
    flat = np.asarray(classes).ravel(order="F")
    if flat.size == 0:
        return
    starts = np.concatenate(([0], np.flatnonzero(flat[1:] != flat[:-1]) + 1))
    ends = np.concatenate((starts[1:], [flat.size]))
    values = flat[starts]
    for class_id in np.unique(values).tolist():
        if class_id == 0:
            continue
        pick = values == class_id
        s, e = starts[pick], ends[pick]
        counts = np.empty(2 * s.size, dtype=np.int64)
        counts[0::2] = s - np.concatenate(([0], e[:-1]))  # the gap before each run
        counts[1::2] = e - s
        tail = int(flat.size - e[-1])
        listed = counts.tolist() + ([tail] if tail else [])
        first_col, last_col = s // height, (e - 1) // height
        # A run that goes on into the next column covers the last row and the first.
        crossing = first_col != last_col
        top = 0 if crossing.any() else int((s % height).min())
        bottom = height - 1 if crossing.any() else int(((e - 1) % height).max())
        left, right = int(first_col.min()), int(last_col.max())
        box = [float(left), float(top), float(right - left + 1), float(bottom - top + 1)]
        rle = {"counts": compress(listed), "size": [int(height), int(width)]}
        yield int(class_id), rle, int((e - s).sum()), box
