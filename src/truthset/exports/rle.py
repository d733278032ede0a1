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
