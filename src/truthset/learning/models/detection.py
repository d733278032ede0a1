"""Box pre-labeling with OpenCV's Haar cascades (faces, cat faces), fully offline.

Needs ``opencv-python-headless<5`` (the optional extra ``vision``), which ships the cascade
files under ``cv2.data.haarcascades``. Each image gives a Ground Truth bounding-box answer:
``{"boundingBoxes": [{"label", "left", "top", "width", "height"}], "inputImageProperties":
{"height", "width"}}`` in image pixels, plus ``confidences`` (one per box, in box order)
and an image-level ``score`` (the lowest box confidence, 0 when nothing was found), which
the IoU threshold (``choose_iou_threshold``) turns into an auto-label decision.

Confidence: the cascade's final-stage weight w passed through a logistic, 1 / (1 + e^-w).
It orders detections well but is not calibrated, which is why the threshold is chosen on
human-checked images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from truthset.learning.models.base import ModelError

CASCADES = {
    "face": ("haarcascade_frontalface_default.xml", "face"),
    "cat-face": ("haarcascade_frontalcatface.xml", "cat"),
}


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise ModelError(
            "Haar-cascade detection needs opencv-python-headless<5 (pip install 'truthset[vision]')"
        ) from exc
    return cv2


class HaarCascadeDetector:
    """``predict(images)`` -> one Ground Truth bounding-box answer per image.

    ``images``: file paths, PIL images or numpy arrays (gray, RGB or RGBA).
    """

    def __init__(
        self,
        *,
        kind: Literal["face", "cat-face"] = "face",
        label: str | None = None,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: tuple[int, int] = (24, 24),
    ) -> None:
        self.kind = kind
        self.label = label
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size

    def _cascade(self) -> Any:
        cascade = getattr(self, "cascade_", None)
        if cascade is None:
            cv2 = _cv2()
            if self.kind not in CASCADES:
                raise ModelError(f"unknown cascade {self.kind!r}; use one of {sorted(CASCADES)}")
            path = Path(cv2.data.haarcascades) / CASCADES[self.kind][0]
            cascade = cv2.CascadeClassifier(str(path))
            if cascade.empty():
                raise ModelError(f"could not load the Haar cascade {path}")
            self.cascade_ = cascade
        return cascade

    def _gray(self, image: Any) -> np.ndarray:
        if isinstance(image, str | Path):
            from PIL import Image

            try:
                image = Image.open(image)
            except OSError as exc:
                raise ModelError(f"cannot read image {image}: {exc}") from exc
        arr = np.asarray(image.convert("L") if hasattr(image, "convert") else image)
        if arr.ndim == 3:
            arr = arr[..., :3].mean(axis=2)
        if arr.dtype != np.uint8:
            arr = np.clip(arr * 255.0 if arr.max(initial=0) <= 1.0 else arr, 0, 255)
            arr = arr.astype(np.uint8)
        return arr

    def predict_one(self, image: Any) -> dict[str, Any]:
        gray = self._gray(image)
        boxes, _levels, weights = self._cascade().detectMultiScale3(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=self.min_size,
            outputRejectLevels=True,
        )
        label = self.label or CASCADES[self.kind][1]
        found = []
        for (x, y, w, h), weight in zip(
            np.asarray(boxes).reshape(-1, 4), np.asarray(weights).ravel(), strict=True
        ):
            conf = 1.0 / (1.0 + math.exp(-float(weight)))
            found.append(
                (
                    {
                        "label": label,
                        "left": int(x),
                        "top": int(y),
                        "width": int(w),
                        "height": int(h),
                    },
                    conf,
                )
            )
        found.sort(key=lambda bc: -bc[1])
        confidences = [round(c, 6) for _, c in found]
        return {
            "boundingBoxes": [b for b, _ in found],
            "inputImageProperties": {"height": int(gray.shape[0]), "width": int(gray.shape[1])},
            "confidences": confidences,
            "score": min(confidences) if confidences else 0.0,
        }

    def predict(self, images: Sequence[Any]) -> list[dict[str, Any]]:
        return [self.predict_one(im) for im in images]

    def fit(self, X: Any = None, y: Any = None) -> HaarCascadeDetector:
        """Nothing to learn; loads the cascade so that errors show up early."""
        self._cascade()
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("cascade_", None)
        return state


def box_iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    """IoU of two Ground Truth boxes (left, top, width, height)."""
    ax2, ay2 = a["left"] + a["width"], a["top"] + a["height"]
    bx2, by2 = b["left"] + b["width"], b["top"] + b["height"]
    iw = max(0.0, min(ax2, bx2) - max(a["left"], b["left"]))
    ih = max(0.0, min(ay2, by2) - max(a["top"], b["top"]))
    inter = iw * ih
    union = a["width"] * a["height"] + b["width"] * b["height"] - inter
    return float(inter / union) if union > 0 else 0.0


def image_mean_iou(predicted: Sequence[dict[str, Any]], human: Sequence[dict[str, Any]]) -> float:
    """Mean IoU over predicted and missed boxes of one image (Ground Truth's measure):
    each human box is matched greedily to the best unmatched predicted box of its label;
    unmatched boxes on either side count 0. Two empty lists give 1."""
    if not predicted and not human:
        return 1.0
    pairs = []
    for i, h in enumerate(human):
        for j, p in enumerate(predicted):
            if h["label"] == p["label"]:
                pairs.append((box_iou(h, p), i, j))
    pairs.sort(reverse=True)
    used_h: set[int] = set()
    used_p: set[int] = set()
    total = 0.0
    for iou, i, j in pairs:
        if i in used_h or j in used_p or iou <= 0:
            continue
        used_h.add(i)
        used_p.add(j)
        total += iou
    n = len(human) + len(predicted) - len(used_h)
    return total / n if n else 1.0
