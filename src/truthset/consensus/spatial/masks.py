"""Semantic segmentation: class-index masks, Ground Truth's PNG colour tables, pixel voting.

Ground Truth's worker tool returns ``labeledImage.pngImageData`` (a base64 PNG painted in
the colours of ``labelMappings``); the consolidated label is a PNG whose colours map to
classes through the metadata's ``internal-color-map``, where class 0 is ``BACKGROUND``
``#ffffff`` and class i (i >= 1) is the i-th label of the label config.

Consolidation: each worker adds its skill weight to the vote map of the class it painted
at each pixel, and the class with the most weight wins. Where workers disagree, each
class's vote map is first smoothed (box or gaussian filter) so that an isolated slip
cannot beat its neighbourhood; pixels every worker agrees on are left alone, since
smoothing them would round off the corners of the shapes. Confidence per image = mean
over pixels of the chosen class's (unsmoothed) vote share (0.0 with a single worker, as
in Ground Truth), repeated for every class in ``internal-color-map``.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage

from ._common import (
    Consolidator,
    require_answers,
    worker_ids_of,
    worker_weights,
)

BACKGROUND = "BACKGROUND"
BACKGROUND_COLOR = "#ffffff"
# Ground Truth's tool assigns the matplotlib "tab10" colours in label order.
DEFAULT_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    text = str(color).strip().lstrip("#")
    if len(text) != 6:
        raise ValueError(f"color: {color!r} is not a #rrggbb colour")
    try:
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    except ValueError:
        raise ValueError(f"color: {color!r} is not a #rrggbb colour") from None


def rgb_to_hex(rgb: Sequence[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb[:3]))


def _names(labels: Sequence[Any]) -> list[str]:
    return [str(e["label"]) if isinstance(e, Mapping) else str(e) for e in labels]


def default_color(class_index: int) -> str:
    """Colour of class ``class_index`` (1-based; 0 is background) when none is configured."""
    if class_index == 0:
        return BACKGROUND_COLOR
    i = class_index - 1
    if i < len(DEFAULT_COLORS):
        return DEFAULT_COLORS[i]
    # Beyond ten classes: distinct, deterministic colours that avoid white.
    rng = np.random.default_rng(i)
    return rgb_to_hex([int(v) for v in rng.integers(0, 230, size=3)])


def class_colors(
    labels: Sequence[Any], label_mappings: Mapping[str, Any] | None = None
) -> list[str]:
    """Colours per class index: BACKGROUND first, then each label's configured colour.

    A label without a configured colour gets its default (tab10 by class index), or the
    next default colour no other class uses.
    """
    mappings = label_mappings or {}
    names = _names(labels)
    configured: dict[int, str] = {}
    for i, name in enumerate(names, start=1):
        entry = mappings.get(name)
        color = entry["color"] if isinstance(entry, Mapping) else entry
        if color:
            configured[i] = rgb_to_hex(hex_to_rgb(color))
    used = {BACKGROUND_COLOR, *configured.values()}
    colors = [BACKGROUND_COLOR]
    for i in range(1, len(names) + 1):
        if i in configured:
            colors.append(configured[i])
            continue
        k = i
        while default_color(k) in used:
            k += 1
        colors.append(default_color(k))
        used.add(colors[-1])
    if len(set(colors)) != len(colors):
        raise ValueError(f"labelMappings: two classes share a colour {colors}")
    return colors


def _png_bytes(png: str | bytes) -> bytes:
    if isinstance(png, bytes):
        return png
    text = png.split(",", 1)[1] if png.startswith("data:") else png
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise ValueError("labeledImage.pngImageData: not valid base64") from None


def decode_label_png(
    png: str | bytes,
    label_mappings: Mapping[str, Any],
    labels: Sequence[Any],
    *,
    unknown: str = "error",
) -> np.ndarray:
    """Class-index mask (H x W uint8) from a worker's ``pngImageData`` and ``labelMappings``.

    ``labels`` is the label config (its order gives class ids 1..K; 0 is background).
    White and fully transparent pixels are background. A colour that is in no mapping
    raises ``ValueError`` (``unknown="error"``) or becomes background (``"background"``).
    """
    if unknown not in ("error", "background"):
        raise ValueError(f"unknown: {unknown!r} is not 'error' or 'background'")
    names = _names(labels)
    for name in label_mappings:
        if name not in names and name != BACKGROUND:
            raise ValueError(f"labelMappings: label {name!r} is not in the label list {names}")
    try:
        image = Image.open(io.BytesIO(_png_bytes(png)))
        image.load()
    except ValueError:
        raise
    except Exception as exc:  # PIL raises several types for a bad file
        raise ValueError(f"labeledImage.pngImageData: not a readable PNG ({exc})") from None
    rgba = np.asarray(image.convert("RGBA"))
    packed = (
        rgba[..., 0].astype(np.uint32) << 16 | rgba[..., 1].astype(np.uint32) << 8 | rgba[..., 2]
    )
    table = {0xFFFFFF: 0}
    for i, name in enumerate(names, start=1):
        entry = label_mappings.get(name)
        if entry is None:
            continue
        r, g, b = hex_to_rgb(entry["color"] if isinstance(entry, Mapping) else entry)
        table[r << 16 | g << 8 | b] = i
    values, inverse = np.unique(packed, return_inverse=True)
    lut = np.zeros(len(values), dtype=np.uint8)
    transparent = rgba[..., 3] == 0
    for k, v in enumerate(values.tolist()):
        if v in table:
            lut[k] = table[v]
        elif unknown == "error" and np.any(~transparent.ravel()[inverse.ravel() == k]):
            color = rgb_to_hex(((v >> 16) & 255, (v >> 8) & 255, v & 255))
            raise ValueError(f"labeledImage.pngImageData: colour {color} is not in labelMappings")
    mask = lut[inverse.reshape(packed.shape)]
    mask[transparent] = 0
    return mask


def encode_label_png(mask: np.ndarray, colors: Sequence[str]) -> bytes:
    """PNG bytes (palette mode) of a class-index mask; ``colors[i]`` is class i's colour."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask: expected a 2-d class-index array, got shape {m.shape}")
    if m.size and int(m.max()) >= len(colors):
        raise ValueError(f"mask: class {int(m.max())} has no colour ({len(colors)} colours)")
    image = Image.fromarray(m.astype(np.uint8), mode="P")
    palette = [v for c in colors for v in hex_to_rgb(c)]
    image.putpalette(palette + [0] * (768 - len(palette)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def encode_label_png_base64(mask: np.ndarray, colors: Sequence[str]) -> str:
    return base64.b64encode(encode_label_png(mask, colors)).decode("ascii")


def internal_color_map(
    labels: Sequence[Any], colors: Sequence[str], confidence: float | None = None
) -> dict[str, dict[str, Any]]:
    """Ground Truth's ``internal-color-map``: class 0 BACKGROUND, then the labels."""
    out: dict[str, dict[str, Any]] = {}
    for i, name in enumerate([BACKGROUND, *_names(labels)]):
        entry: dict[str, Any] = {"class-name": name, "hex-color": colors[i]}
        if confidence is not None:
            entry["confidence"] = confidence
        out[str(i)] = entry
    return out


class SemanticSegmentationConsolidator(Consolidator):
    """Pixel-wise skill-weighted vote of class-index masks, with spatial smoothing.

    Parameters
    ----------
    labels : list, optional
        Label config (class i = labels[i-1]; 0 = background). Needed to decode PNG
        answers; with array answers it only names the classes. Default: the sorted
        ``labelMappings`` names, or ``class_1..K`` for arrays.
    smoothing : {"box", "gaussian", None}
        Filter applied to each class's vote map before the argmax.
    smoothing_size : float
        Box side in pixels (``"box"``) or gaussian sigma in pixels (``"gaussian"``).
    smooth_where : {"disputed", "undecided", "all"}
        Which pixels take the smoothed vote: ``"disputed"`` (default), those the workers
        do not all agree on; ``"undecided"``, those where no class has a strict majority
        of the weight; ``"all"`` (erodes shape corners even in unanimous answers).
    unknown_color : {"error", "background"}
        What a PNG colour outside ``labelMappings`` means.

    ``fit(answers)``: each answer is an (H, W) integer array or a Ground Truth answer
    ``{"labeledImage": {"pngImageData"}, "labelMappings", ...}``.

    Fitted attributes
    -----------------
    mask_ : ndarray (H, W) uint8, the consolidated class-index mask (also ``label_``).
    vote_share_ : ndarray (H, W) float32, the raw weight share of the chosen class.
    confidence_ : float, mean of ``vote_share_`` (0.0 with a single worker).
    colors_ : list of ``#rrggbb``, per class index.
    png_ : bytes, the consolidated mask as a palette PNG in ``colors_``.
    metadata_ : ``{"internal-color-map": {...}}`` with the confidence on every class.
    """

    def __init__(
        self,
        *,
        labels: Sequence[Any] | None = None,
        smoothing: str | None = "box",
        smoothing_size: float = 3,
        smooth_where: str = "disputed",
        unknown_color: str = "error",
    ) -> None:
        self.labels = labels
        self.smoothing = smoothing
        self.smoothing_size = smoothing_size
        self.smooth_where = smooth_where
        self.unknown_color = unknown_color

    def _masks(self, answers: Sequence[Any]) -> tuple[list[np.ndarray], list[str], list[str]]:
        mappings: dict[str, Any] = {}
        for a in answers:
            if isinstance(a, Mapping):
                payload = a.get("answerContent", a)
                if "labeledImage" not in payload and len(payload) == 1:
                    payload = next(iter(payload.values()))
                for name, entry in (payload.get("labelMappings") or {}).items():
                    mappings.setdefault(name, entry)
        if self.labels is not None:
            names = _names(self.labels)
        elif mappings:
            names = sorted(mappings)
        else:
            top = max(int(np.asarray(a).max(initial=0)) for a in answers)
            names = [f"class_{i}" for i in range(1, top + 1)]
        masks = []
        for j, a in enumerate(answers):
            if isinstance(a, Mapping):
                payload = a.get("answerContent", a)
                if "labeledImage" not in payload and len(payload) == 1:
                    payload = next(iter(payload.values()))
                if "labeledImage" not in payload:
                    raise ValueError(f"answers[{j}]: no 'labeledImage' field")
                masks.append(
                    decode_label_png(
                        payload["labeledImage"]["pngImageData"],
                        payload.get("labelMappings") or {},
                        names,
                        unknown=self.unknown_color,
                    )
                )
            else:
                m = np.asarray(a)
                if m.ndim != 2 or not np.issubdtype(m.dtype, np.integer):
                    raise ValueError(
                        f"answers[{j}]: expected an (H, W) integer mask, got {m.dtype} {m.shape}"
                    )
                if m.size and (m.min() < 0 or m.max() > len(names)):
                    raise ValueError(f"answers[{j}]: class {int(m.max())} outside 0..{len(names)}")
                masks.append(m)
        shapes = {m.shape for m in masks}
        if len(shapes) > 1:
            raise ValueError(f"answers: masks differ in size {sorted(shapes)}")
        return masks, names, class_colors(names, mappings)

    def fit(
        self,
        answers: Sequence[Any],
        worker_ids: Sequence[str] | None = None,
        skills: Mapping[str, float] | None = None,
    ) -> SemanticSegmentationConsolidator:
        require_answers(answers)
        if self.smoothing not in ("box", "gaussian", None):
            raise ValueError(f"smoothing: {self.smoothing!r} is not 'box', 'gaussian' or None")
        if self.smooth_where not in ("disputed", "undecided", "all"):
            raise ValueError(
                f"smooth_where: {self.smooth_where!r} is not 'disputed', 'undecided' or 'all'"
            )
        ids = worker_ids_of(answers, worker_ids)
        weights = worker_weights(ids, skills)
        masks, names, colors = self._masks(answers)
        n_classes = len(names) + 1
        votes = vote_maps(masks, weights, n_classes)
        total = votes.sum(axis=0)
        total[total <= 0] = 1.0
        decided = votes.argmax(axis=0)
        smoothed = self._smooth(votes)
        if smoothed is not None:
            # Smoothing a pixel that every worker agrees on would erode the corners of
            # the shapes (argmax of a box filter is a curvature flow), so only pixels
            # where the workers disagree take the neighbourhood's vote.
            top = votes.max(axis=0)
            if self.smooth_where == "disputed":
                where = top < total - 1e-6
            elif self.smooth_where == "undecided":
                where = top <= total / 2 + 1e-6
            else:
                where = np.ones(top.shape, dtype=bool)
            decided = np.where(where, smoothed.argmax(axis=0), decided)
        self.mask_ = decided.astype(np.uint8)
        # Confidence reports the raw (unsmoothed) weight behind each decided pixel.
        chosen = np.take_along_axis(votes, decided[None].astype(np.intp), axis=0)[0]
        self.vote_share_ = (chosen / total).astype(np.float32)
        self.confidence_ = 0.0 if len(masks) == 1 else float(self.vote_share_.mean())
        self.label_ = self.mask_
        self.label_names_ = names
        self.colors_ = colors
        self.png_ = encode_label_png(self.mask_, colors)
        self.metadata_ = {
            "internal-color-map": internal_color_map(names, colors, round(self.confidence_, 4))
        }
        return self

    def _smooth(self, votes: np.ndarray) -> np.ndarray | None:
        if self.smoothing == "box" and self.smoothing_size > 1:
            size = int(round(self.smoothing_size))
            return np.stack([ndimage.uniform_filter(v, size=size, mode="nearest") for v in votes])
        if self.smoothing == "gaussian" and self.smoothing_size > 0:
            sigma = self.smoothing_size
            return np.stack(
                [ndimage.gaussian_filter(v, sigma=sigma, mode="nearest") for v in votes]
            )
        return None


def vote_maps(masks: Sequence[np.ndarray], weights: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, H, W) float32: each class's summed worker weight at each pixel."""
    shape = np.asarray(masks[0]).shape
    votes = np.zeros((n_classes, *shape), dtype=np.float32)
    flat = votes.reshape(n_classes, -1)
    pixels = np.arange(flat.shape[1])
    for m, w in zip(masks, weights, strict=True):
        np.add.at(flat, (np.asarray(m).ravel().astype(np.intp), pixels), np.float32(w))
    return votes
