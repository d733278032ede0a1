"""COCO's compressed RLE as pycocotools writes it: the same counts strings, areas and
boxes for random masks, blocks, full and empty ones, one class or several at once."""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask

from truthset.exports import rle


def theirs(binary: np.ndarray) -> dict:
    return coco_mask.encode(np.asfortranarray(binary.astype(np.uint8)))


def test_one_mask_as_pycocotools_encodes_it():
    rng = np.random.default_rng(7)
    for trial in range(300):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        mask = rng.random((h, w)) < [0.0, 1.0, 0.05, 0.5, 0.95][trial % 5]
        ref = theirs(mask)
        ours = rle.encode(mask)
        assert ours == {"counts": ref["counts"].decode(), "size": [h, w]}
        if mask.any():
            assert rle.bbox(mask) == [float(v) for v in coco_mask.toBbox(ref)]
        assert (coco_mask.decode({**ours, "counts": ours["counts"].encode()}) == mask).all()
    # Long runs (counts past 5-bit groups, differences of either sign) in a large mask.
    big = np.zeros((3000, 2000), dtype=bool)
    big[100:2900, 7:1990] = True
    big[1500, :] = False
    assert rle.encode(big)["counts"] == theirs(big)["counts"].decode()


def test_every_class_of_a_class_mask_from_one_pass():
    rng = np.random.default_rng(1)
    for trial in range(300):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        if trial % 4 == 0:
            classes = rng.integers(0, 4, (h, w)).astype(np.uint8)
        elif trial % 4 == 1:
            classes = np.zeros((h, w), dtype=np.uint8)
            for _ in range(3):
                y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
                dy, dx = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
                classes[y : y + dy, x : x + dx] = rng.integers(1, 5)
        elif trial % 4 == 2:
            classes = np.full((h, w), rng.integers(0, 3), dtype=np.uint8)
        else:
            classes = (rng.random((h, w)) < 0.1).astype(np.uint8) * 7
        found = list(rle.encode_classes(classes))
        assert [k for k, *_ in found] == [int(k) for k in np.unique(classes) if k]
        for class_id, segmentation, area, box in found:
            ref = theirs(classes == class_id)
            assert segmentation == {"counts": ref["counts"].decode(), "size": [h, w]}
            assert area == int(coco_mask.area(ref))
            assert box == [float(v) for v in coco_mask.toBbox(ref)]
