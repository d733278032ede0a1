"""learning/tracking.py on rendered videos of moving shapes with known tracks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from truthset.learning.tracking import TemplateTracker, track_box

W, H = 320, 240


def render(n: int, *, vanish_at: int | None = None, seed: int = 0) -> tuple[list, list]:
    """``n`` frames: a still, lightly textured background; a red square moving right and
    down (the target), a blue disc moving left (a distractor). Returns the frames and the
    target's true box per frame."""
    rng = np.random.default_rng(seed)
    background = (rng.random((H, W, 3)) * 40 + 100).astype(np.uint8)
    frames, truth = [], []
    for i in range(n):
        frame = background.copy()
        x, y = 20 + 3 * i, 30 + 1.5 * i
        cv2.circle(frame, (int(280 - 4 * i), 160), 18, (30, 60, 220), -1)
        if vanish_at is None or i < vanish_at:
            cv2.rectangle(frame, (int(x), int(y)), (int(x) + 29, int(y) + 29), (220, 40, 30), -1)
            cv2.line(frame, (int(x) + 5, int(y) + 5), (int(x) + 24, int(y) + 24), (250, 250, 0), 3)
        frames.append(frame)
        truth.append((int(x), int(y), 30, 30))
    return frames, truth


def iou(a, b):
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_the_tracker_follows_a_moving_square():
    frames, truth = render(40)
    found = track_box(frames, truth[0], count=39)
    assert [b.frame for b in found] == list(range(1, 40))
    ious = [iou((b.left, b.top, b.width, b.height), truth[b.frame]) for b in found]
    assert min(ious) > 0.8
    assert all(b.width == 30 and b.height == 30 for b in found)
    assert all(0.5 <= b.score <= 1.0 for b in found)


def test_the_tracker_stops_when_the_target_is_gone():
    frames, truth = render(30, vanish_at=12)
    found = track_box(frames, truth[0], count=29)
    assert [b.frame for b in found] == list(range(1, 12))


def test_frames_are_read_lazily_and_count_limits_the_track():
    frames, truth = render(30)
    read = []

    def lazy():
        for i, f in enumerate(frames):
            read.append(i)
            yield f

    found = track_box(lazy(), truth[0], start=100, count=5)
    assert [b.frame for b in found] == [101, 102, 103, 104, 105]
    assert read == [0, 1, 2, 3, 4, 5]


def test_a_flat_patch_or_a_tiny_box_gives_nothing():
    flat = [np.full((H, W, 3), 128, np.uint8)] * 3
    assert track_box(flat, (10, 10, 20, 20), count=2) == []
    with pytest.raises(ValueError, match="too small"):
        track_box(flat, (10, 10, 1, 20), count=2)
    assert TemplateTracker(min_score=0.9).min_score == 0.9
