"""Predict next: follow a box from one frame into the next ones, with no model weights.

OpenCV 4.14 (opencv-python-headless) has ``TrackerMIL`` among the classical trackers that
need no weights (KCF and CSRT live in the contrib build, which is not installed; GOTURN,
DaSiamRPN, Nano and Vit need model files). MIL gives a box but no score, so it cannot say
when it has lost the target, and on the test video of moving shapes
(tests/learning/test_tracking.py) it drifted to an IoU of 0.5 with the true box by frame
20 of 40, where template matching stayed above 0.8 throughout. So this tracker is template
matching (``cv2.matchTemplate``, normalised cross-correlation) in a search window around
the last box: the best match is the new box, its correlation the score, and a score
under ``min_score`` ends the track.

The template is the box with a margin of context (a box drawn tight around a plain
object holds no texture of its own: its edges are what can be matched), and it follows
slow changes of appearance (a blend of the first template and the latest match, so that
it never drifts far from what the worker drew). Boxes keep their size.

Pure numpy / OpenCV on frames given as (H, W, 3) uint8 RGB arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class TrackedBox:
    frame: int
    left: float
    top: float
    width: float
    height: float
    score: float


def _gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame.astype(np.float32)
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY).astype(np.float32)


class TemplateTracker:
    """Follow one box through frames.

    Parameters: ``margin`` (context around the box in the template, as a share of its
    larger side; at least 4 px), ``search`` (how far the search window reaches past the
    box, as a share of its larger side; at least 8 px), ``min_score`` (correlation under
    which the target counts as lost), ``adapt`` (weight of the latest match in the
    template).
    """

    def __init__(
        self,
        *,
        margin: float = 0.25,
        search: float = 1.0,
        min_score: float = 0.5,
        adapt: float = 0.2,
    ):
        self.margin = margin
        self.search = search
        self.min_score = min_score
        self.adapt = adapt

    def _pad(self, width: float, height: float) -> int:
        return max(4, int(round(self.margin * max(width, height))))

    def _patch(self, gray: np.ndarray, left: float, top: float, w: int, h: int, pad: int):
        """The padded template-sized patch at (left, top), or None when it leaves the frame."""
        x0, y0 = int(round(left)) - pad, int(round(top)) - pad
        x1, y1 = x0 + w + 2 * pad, y0 + h + 2 * pad
        if x0 < 0 or y0 < 0 or x1 > gray.shape[1] or y1 > gray.shape[0]:
            # Clip the context, not the box: near an edge the template is what fits.
            x0, y0 = max(x0, 0), max(y0, 0)
            x1, y1 = min(x1, gray.shape[1]), min(y1, gray.shape[0])
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None, (x0, y0)
        return gray[y0:y1, x0:x1], (x0, y0)

    def track(
        self,
        frames: Iterable[np.ndarray],
        box: tuple[float, float, float, float],
        *,
        start: int = 0,
    ) -> Iterator[TrackedBox]:
        """``frames``: the frame the box is drawn on, then the frames to follow it into
        (read lazily: the track stops reading when it loses the target). Yields a box per
        following frame, numbered from ``start + 1``."""
        left, top, width, height = (float(v) for v in box)
        if width < 2 or height < 2:
            raise ValueError(f"box: {width:g} x {height:g} is too small to track (2 x 2 at least)")
        iterator = iter(frames)
        first = next(iterator, None)
        if first is None:
            return
        gray = _gray(first)
        w, h = int(round(width)), int(round(height))
        pad = self._pad(width, height)
        patch, origin = self._patch(gray, left, top, w, h, pad)
        if patch is None or float(patch.std()) < 1e-3:
            return  # a flat patch: nothing to follow
        # Where the box sits inside its template (less than `pad` near an edge).
        offset = (left - origin[0], top - origin[1])
        anchor = patch.copy()
        template = patch.copy()
        reach = max(8, int(round(self.search * max(width, height))))
        index = start
        for frame in iterator:
            index += 1
            th, tw = template.shape
            x0 = int(round(left - offset[0])) - reach
            y0 = int(round(top - offset[1])) - reach
            x0, y0 = max(x0, 0), max(y0, 0)
            x1 = min(int(round(left - offset[0])) + tw + reach, frame.shape[1])
            y1 = min(int(round(top - offset[1])) + th + reach, frame.shape[0])
            # Only the search window is turned grey: a 1080p frame costs ms otherwise.
            window = _gray(frame[y0:y1, x0:x1])
            if window.shape[0] < th or window.shape[1] < tw:
                return
            result = cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED)
            _, best, _, at = cv2.minMaxLoc(result)
            score = float(best) if np.isfinite(best) else 0.0
            left, top = x0 + at[0] + offset[0], y0 + at[1] + offset[1]
            current = window[at[1] : at[1] + th, at[0] : at[0] + tw]
            if score < self.min_score:
                return
            if current.shape == anchor.shape:
                template = (1 - self.adapt) * anchor + self.adapt * current
            yield TrackedBox(index, float(left), float(top), width, height, round(score, 4))


def track_box(
    frames: Iterable[np.ndarray],
    box: tuple[float, float, float, float],
    *,
    start: int = 0,
    count: int | None = None,
    **params: float,
) -> list[TrackedBox]:
    """The box followed through at most ``count`` frames after ``start`` (see
    :class:`TemplateTracker`); fewer when the target is lost."""
    tracker = TemplateTracker(**params)
    out = []
    for found in tracker.track(frames, box, start=start):
        out.append(found)
        if count is not None and len(out) >= count:
            break
    return out
