"""Polygons and instance segmentation: match instances by mask IoU, vote pixels, trace.

Per class, workers' instances are rasterised (in a crop around each instance, so large
images stay cheap) and matched across workers by Hungarian assignment on mask IoU with
each cluster's current consolidated mask (see ``_common.match_across_workers``). A kept
cluster (``min_support``, as for boxes) becomes the pixel-wise skill-weighted vote of its
members: a pixel is in when the members covering it hold at least ``vote_threshold`` of
the members' weight. The consolidated polygon is the outer contour of the largest
connected part of that mask (``skimage.measure.find_contours`` then
``approximate_polygon`` with ``tolerance`` pixels).

Confidence per instance = support share x weighted mean IoU of the members' masks with
the consolidated mask (0.0 with a single worker on the item).

Ground Truth publishes no image-level output for polygons; the label mirrors its
object-detection output: ``{"image_size": [...], "annotations": [{"class_id",
"vertices": [{"x", "y"}, ...]}]}`` with ``objects`` confidences in the metadata.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.draw import polygon as draw_polygon
from skimage.measure import approximate_polygon, find_contours

from ._common import (
    Consolidator,
    check_label,
    class_ids,
    image_size_of,
    label_names,
    match_across_workers,
    require_answers,
    support_threshold,
    worker_ids_of,
    worker_order,
    worker_weights,
)
from .masks import hex_to_rgb


@dataclass(frozen=True)
class Crop:
    """A boolean mask placed at ``(top, left)`` in the image."""

    top: int
    left: int
    mask: np.ndarray

    @property
    def bottom(self) -> int:
        return self.top + self.mask.shape[0]

    @property
    def right(self) -> int:
        return self.left + self.mask.shape[1]

    def paste(self, shape: tuple[int, int]) -> np.ndarray:
        """The full-image boolean mask of the given (height, width)."""
        out = np.zeros(shape, dtype=bool)
        h, w = shape
        t, b = max(self.top, 0), min(self.bottom, h)
        lft, r = max(self.left, 0), min(self.right, w)
        if t < b and lft < r:
            out[t:b, lft:r] = self.mask[
                t - self.top : b - self.top, lft - self.left : r - self.left
            ]
        return out

    def area(self) -> int:
        return int(np.count_nonzero(self.mask))


def _frame(crops: Sequence[Crop]) -> tuple[int, int, int, int]:
    return (
        min(c.top for c in crops),
        min(c.left for c in crops),
        max(c.bottom for c in crops),
        max(c.right for c in crops),
    )


def _in_frame(crop: Crop, frame: tuple[int, int, int, int]) -> np.ndarray:
    top, left, bottom, right = frame
    out = np.zeros((bottom - top, right - left), dtype=bool)
    out[crop.top - top : crop.bottom - top, crop.left - left : crop.right - left] = crop.mask
    return out


def crop_iou(a: Crop, b: Crop) -> float:
    """Mask IoU of two crops, computed in their common frame."""
    if a.bottom <= b.top or b.bottom <= a.top or a.right <= b.left or b.right <= a.left:
        return 0.0
    frame = _frame([a, b])
    ma, mb = _in_frame(a, frame), _in_frame(b, frame)
    union = np.count_nonzero(ma | mb)
    return float(np.count_nonzero(ma & mb) / union) if union else 0.0


def rasterize_polygon(vertices: Sequence[Mapping[str, float]], width: int, height: int) -> Crop:
    """Crop mask of a polygon given as ``[{"x", "y"}, ...]`` (pixel centres inside)."""
    xs = np.array([float(v["x"]) for v in vertices])
    ys = np.array([float(v["y"]) for v in vertices])
    left = int(np.clip(np.floor(xs.min()), 0, max(width - 1, 0)))
    top = int(np.clip(np.floor(ys.min()), 0, max(height - 1, 0)))
    right = int(np.clip(np.ceil(xs.max()) + 1, left + 1, width))
    bottom = int(np.clip(np.ceil(ys.max()) + 1, top + 1, height))
    mask = np.zeros((bottom - top, right - left), dtype=bool)
    rr, cc = draw_polygon(ys - top, xs - left, shape=mask.shape)
    mask[rr, cc] = True
    return Crop(top, left, mask)


def vote_crop(crops: Sequence[Crop], weights: np.ndarray, vote_threshold: float) -> Crop:
    """Pixel-wise weighted vote of crops: in where covering weight >= threshold x total."""
    frame = _frame(crops)
    acc = np.zeros((frame[2] - frame[0], frame[3] - frame[1]), dtype=float)
    for c, w in zip(crops, weights, strict=True):
        acc += w * _in_frame(c, frame)
    mask = acc >= vote_threshold * float(np.sum(weights)) - 1e-9
    return Crop(frame[0], frame[1], mask)


def largest_component(mask: np.ndarray) -> np.ndarray:
    labelled, n = ndimage.label(mask)
    if n <= 1:
        return mask.copy()
    sizes = ndimage.sum(mask, labelled, index=np.arange(1, n + 1))
    return labelled == (int(np.argmax(sizes)) + 1)


def mask_to_polygon(crop: Crop, tolerance: float = 1.0) -> list[dict[str, float]]:
    """Outer contour of the crop's largest connected part as ``[{"x", "y"}, ...]``."""
    mask = largest_component(crop.mask)
    if not mask.any():
        return []
    filled = ndimage.binary_fill_holes(mask)
    contours = find_contours(np.pad(filled, 1).astype(float), 0.5)
    contour = max(contours, key=len)
    if tolerance > 0:
        contour = approximate_polygon(contour, tolerance=tolerance)
    if len(contour) > 3 and np.allclose(contour[0], contour[-1]):
        contour = contour[:-1]
    return [
        {"x": round(float(c) - 1 + crop.left, 2), "y": round(float(r) - 1 + crop.top, 2)}
        for r, c in contour
    ]


def instance_crops(payload: Mapping[str, Any]) -> list[tuple[str, Crop]]:
    """(label, crop) per instance of an instance-segmentation answer (colour per instance)."""
    png = payload["labeledImage"]["pngImageData"]
    data = base64.b64decode(png.split(",", 1)[1] if png.startswith("data:") else png)
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
    out = []
    for j, inst in enumerate(payload.get("instances", [])):
        r, g, b = hex_to_rgb(inst["color"])
        mask = (rgb[..., 0] == r) & (rgb[..., 1] == g) & (rgb[..., 2] == b) & (rgb[..., 3] > 0)
        if not mask.any():
            raise ValueError(f"instances[{j}].color: {inst['color']} is not painted in the image")
        rows, cols = np.nonzero(mask)
        t, lft = int(rows.min()), int(cols.min())
        out.append(
            (str(inst["label"]), Crop(t, lft, mask[t : rows.max() + 1, lft : cols.max() + 1]))
        )
    return out


def _payload(answer: Any) -> Mapping[str, Any]:
    if not isinstance(answer, Mapping):
        raise ValueError(f"answer: expected an object, got {type(answer).__name__}")
    for key in ("polygons", "instances"):
        if key in answer:
            return answer
    if "answerContent" in answer:
        return _payload(answer["answerContent"])
    if len(answer) == 1:
        inner = next(iter(answer.values()))
        if isinstance(inner, Mapping):
            return _payload(inner)
    raise ValueError(f"answer: no 'polygons' or 'instances' field (keys: {sorted(answer)})")


class PolygonConsolidator(Consolidator):
    """Consolidate polygon (or instance-segmentation) answers for one image.

    Parameters: ``labels``, ``iou_threshold`` (0.5), ``min_support`` (as for boxes),
    ``vote_threshold`` (0.5: share of the cluster's weight a pixel needs), ``tolerance``
    (1.0 px, polygon simplification), ``image_size``.

    ``fit(answers)``: Ground Truth polygon answers ``{"polygons": [{"label", "vertices":
    [{"x", "y"}]}], "inputImageProperties"}`` or instance-segmentation answers
    ``{"labeledImage": {"pngImageData"}, "instances": [{"color", "label"}]}``.

    Fitted: ``label_``, ``metadata_`` (``objects``, ``class-map``), ``crops_`` (one
    :class:`Crop` per instance; ``crop.paste((h, w))`` gives the full mask),
    ``class_ids_``, ``confidences_``, ``support_``, ``clusters_``, ``n_dropped_``.
    """

    def __init__(
        self,
        *,
        labels: Sequence[Any] | None = None,
        iou_threshold: float = 0.5,
        min_support: int | float | None = None,
        vote_threshold: float = 0.5,
        tolerance: float = 1.0,
        image_size: Any = None,
    ) -> None:
        self.labels = labels
        self.iou_threshold = iou_threshold
        self.min_support = min_support
        self.vote_threshold = vote_threshold
        self.tolerance = tolerance
        self.image_size = image_size

    def fit(
        self,
        answers: Sequence[Any],
        worker_ids: Sequence[str] | None = None,
        skills: Mapping[str, float] | None = None,
    ) -> PolygonConsolidator:
        require_answers(answers)
        ids = worker_ids_of(answers, worker_ids)
        weights = worker_weights(ids, skills)
        payloads = [_payload(a) for a in answers]
        if self.image_size is None and not any("inputImageProperties" in p for p in payloads):
            shapes = set()
            for p in payloads:
                if "instances" in p:
                    png = p["labeledImage"]["pngImageData"]
                    data = base64.b64decode(
                        png.split(",", 1)[1] if png.startswith("data:") else png
                    )
                    shapes.add(Image.open(io.BytesIO(data)).size)
            width, height = image_size_of([], shapes.pop() if len(shapes) == 1 else None)
        else:
            width, height = image_size_of(payloads, self.image_size)

        objects: list[list[tuple[str, Crop]]] = []
        for p in payloads:
            if "polygons" in p:
                rows = []
                for j, poly in enumerate(p["polygons"]):
                    if len(poly["vertices"]) < 3:
                        raise ValueError(
                            f"polygons[{j}].vertices: {len(poly['vertices'])} vertices, need 3"
                        )
                    rows.append(
                        (str(poly["label"]), rasterize_polygon(poly["vertices"], width, height))
                    )
                objects.append(rows)
            else:
                objects.append(instance_crops(p))
        names = label_names(self.labels, [lab for rows in objects for lab, _ in rows])
        cid = class_ids(names)
        keep = support_threshold(self.min_support, weights)
        total = float(weights.sum())
        order = worker_order(weights)

        results: list[tuple[int, Crop, float, float, list[tuple[str, int]]]] = []
        n_dropped = 0
        per_class: dict[int, list[list[tuple[int, Crop]]]] = {}
        for w, rows in enumerate(objects):
            for j, (lab, crop) in enumerate(rows):
                c = check_label(lab, cid, f"answers[{w}] object {j} label")
                per_class.setdefault(c, [[] for _ in objects])[w].append((j, crop))
        for c in sorted(per_class):
            crops = per_class[c]

            def represent(members: list[tuple[int, int]], crops: list = crops) -> Crop:
                cs = [crops[w][k][1] for w, k in members]
                return vote_crop(cs, weights[[w for w, _ in members]], self.vote_threshold)

            def similarity(w: int, reps: list[Crop], crops: list = crops) -> np.ndarray:
                return np.array([[crop_iou(cr, rep) for rep in reps] for _, cr in crops[w]])

            clusters = match_across_workers(
                [len(x) for x in crops], order, similarity, represent, self.iou_threshold
            )
            for members in clusters:
                workers = [w for w, _ in members]
                if not keep(workers):
                    n_dropped += 1
                    continue
                voted = represent(members)
                main = Crop(voted.top, voted.left, largest_component(voted.mask))
                if not main.mask.any():
                    n_dropped += 1
                    continue
                mw = weights[workers]
                ious = np.array([crop_iou(crops[w][k][1], main) for w, k in members])
                share = float(mw.sum()) / total
                conf = 0.0 if len(answers) == 1 else share * float((ious * mw).sum() / mw.sum())
                results.append(
                    (c, main, conf, share, [(ids[w], crops[w][k][0]) for w, k in members])
                )

        results.sort(key=lambda r: (r[0], r[1].top, r[1].left))
        self.crops_ = [r[1] for r in results]
        self.class_ids_ = np.array([r[0] for r in results], dtype=int)
        self.confidences_ = np.array([r[2] for r in results], dtype=float)
        self.support_ = np.array([r[3] for r in results], dtype=float)
        self.clusters_ = [r[4] for r in results]
        self.n_dropped_ = n_dropped
        self.label_names_ = names
        self.image_size_ = (width, height)
        self.label_ = {
            "image_size": [{"width": width, "height": height, "depth": 3}],
            "annotations": [
                {"class_id": int(c), "vertices": mask_to_polygon(crop, self.tolerance)}
                for c, crop in zip(self.class_ids_, self.crops_, strict=True)
            ],
        }
        self.metadata_ = {
            "objects": [{"confidence": round(float(x), 4)} for x in self.confidences_],
            "class-map": {str(c): names[c] for c in sorted(set(self.class_ids_.tolist()))},
        }
        return self


def instances_to_png(
    crops: Sequence[Crop], labels: Sequence[str], image_size: tuple[int, int]
) -> tuple[bytes, list[dict[str, str]]]:
    """Instance-segmentation label: an RGB PNG with one colour per instance, plus the
    ``instances`` list ``[{"color", "label"}]`` in the worker tool's shape.

    Later instances paint over earlier ones where they overlap. White is the background.
    """
    from .masks import default_color

    width, height = image_size
    rgb = np.full((height, width, 3), 255, dtype=np.uint8)
    instances = []
    for i, (crop, label) in enumerate(zip(crops, labels, strict=True)):
        color = default_color(i + 1)
        rgb[crop.paste((height, width))] = hex_to_rgb(color)
        instances.append({"color": color, "label": str(label)})
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue(), instances
