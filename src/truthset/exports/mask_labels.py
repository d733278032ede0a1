"""A job's label masks for the exports: the batched walk over its labels that are files
(segmentation masks, the label row's `artifact`: consolidated here or imported with a
Ground Truth manifest), each mask read back as class ids, and the check that an export
has something to write.

Like `labels.labeled_items`, the walk is the exports' streaming read (one of the
documented hot paths with raw SQL): by position, BATCH labels at a time, so memory holds
one batch of masks whatever the job's size.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy.orm import Session

from truthset.errors import BadInput
from truthset.exports import repository
from truthset.exports.labels import BATCH
from truthset.store.models import Job
from truthset.store.raw import raw, stored_json

# Masks are few per batch compared with label rows, and each may be megabytes.
MASK_BATCH = min(BATCH, 200)
WHITE = 0xFFFFFF


@dataclass(frozen=True, slots=True)
class LabeledMask:
    external_id: str
    data: dict[str, Any]
    meta: dict[str, Any]
    png: bytes


def labeled_masks(session: Session, job: Job) -> Iterator[LabeledMask]:
    """Every labeled, non-gold item of the job whose label is a file, in import order."""
    last_pos = -1
    while True:
        rows = raw(session).all(
            "SELECT t.position, i.external_id, i.data, l.meta, l.artifact "
            "FROM tasks t JOIN items i ON i.id = t.item_id JOIN labels l ON l.task_id = t.id "
            "WHERE t.job_id = :j AND t.position > :p AND t.is_gold = 0 "
            "AND t.status IN ('complete', 'auto') AND l.artifact IS NOT NULL "
            "ORDER BY t.position LIMIT :n",
            {"j": job.id, "p": last_pos, "n": MASK_BATCH},
        )
        if not rows:
            return
        last_pos = rows[-1][0]
        for _pos, external_id, data, meta, artifact in rows:
            yield LabeledMask(
                str(external_id), stored_json(data), stored_json(meta) or {}, bytes(artifact)
            )


def class_mask(mask: LabeledMask, n_labels: int) -> np.ndarray:
    """The mask as class ids (H x W uint8: 0 background, k the label config's k-th label),
    read by the colours of its metadata's `internal-color-map` (Ground Truth's, which this
    server writes too): white and transparent pixels are background. A colour the map does
    not name, or a class past the label config, is refused naming the item."""
    table = _color_table(mask, n_labels)
    try:
        image = Image.open(io.BytesIO(mask.png))
        image.load()
        if image.mode == "P" and "transparency" not in image.info:
            return _palette_classes(mask, image, table)
        solid = image.convert("RGB") if _is_opaque(image) else None
        counted = solid.getcolors(maxcolors=256) if solid is not None else None
        if solid is not None and counted is not None:
            return _few_colors_classes(mask, solid, list(counted), table)
        # One C pass to 4 bytes a pixel, read as little-endian words: 0xAABBGGRR.
        words = np.frombuffer(image.convert("RGBA").tobytes(), dtype="<u4")
    except BadInput:
        raise
    except Exception as exc:  # noqa: BLE001 - PIL raises several types for a bad file
        raise BadInput(
            f"item {mask.external_id!r}: its mask is not a readable PNG ({exc})"
        ) from None
    bgr = words & 0xFFFFFF
    # Every pixel looked up among the map's few colours (no sort of the pixels).
    by_bgr = {_swap(c): k for c, k in table.items()}
    colors = np.array(sorted(by_bgr), dtype=np.uint32)
    classes = np.array([by_bgr[int(c)] for c in colors], dtype=np.uint8)
    at = np.minimum(np.searchsorted(colors, bgr), len(colors) - 1)
    known = colors[at] == bgr
    opaque = words >= 1 << 24
    unknown = ~known & opaque
    if unknown.any():
        _refuse_color(mask, _swap(int(bgr[unknown][0])))
    out = np.where(known & opaque, classes[at], 0).astype(np.uint8)
    return out.reshape(image.height, image.width)


def _is_opaque(image: Image.Image) -> bool:
    if "transparency" in image.info:
        return False
    if "A" not in image.getbands():
        return True
    return bool(image.getchannel("A").getextrema()[0] == 255)


def _few_colors_classes(
    mask: LabeledMask, image: Image.Image, colors: list[Any], table: dict[int, int]
) -> np.ndarray:
    """An opaque RGB mask of at most 256 colours (Ground Truth's): every colour checked
    against the map once, then the pixels mapped onto the map's palette by PIL (an exact
    colour is its own nearest)."""
    for _count, (r, g, b) in colors:
        if (r << 16 | g << 8 | b) not in table:
            _refuse_color(mask, r << 16 | g << 8 | b)
    keys = list(table)
    rgb = [v for c in keys for v in (c >> 16, (c >> 8) & 0xFF, c & 0xFF)]
    # Padding repeats the first colour, so no pixel maps to a colour the map lacks.
    palette = Image.new("P", (1, 1))
    palette.putpalette(rgb + rgb[:3] * (256 - len(keys)))
    indices = np.asarray(image.quantize(palette=palette, dither=Image.Dither.NONE))
    lut = np.full(256, table[keys[0]], dtype=np.uint8)
    lut[: len(keys)] = [table[c] for c in keys]
    return lut[indices]


def _swap(color: int) -> int:
    """0xRRGGBB <-> 0xBBGGRR."""
    return (color & 0xFF) << 16 | (color & 0xFF00) | color >> 16


def _color_table(mask: LabeledMask, n_labels: int) -> dict[int, int]:
    """{packed RGB: class id} of the mask's internal-color-map, white as background."""
    table = {WHITE: 0}
    for key, entry in (mask.meta.get("internal-color-map") or {}).items():
        color = entry.get("hex-color") if isinstance(entry, dict) else None
        if not isinstance(color, str) or not str(key).isdigit():
            continue
        class_id = int(key)
        if class_id > n_labels:
            raise BadInput(
                f"item {mask.external_id!r}: its mask's class {class_id} is past the job's "
                f"{n_labels} labels"
            )
        try:
            table[int(color.strip().lstrip("#"), 16)] = class_id
        except ValueError:
            raise BadInput(
                f"item {mask.external_id!r}: its internal-color-map's colour {color!r} of "
                f"class {class_id} is not #rrggbb"
            ) from None
    return table


def _palette_classes(mask: LabeledMask, image: Image.Image, table: dict[int, int]) -> np.ndarray:
    """A palette PNG (what consolidation writes): each palette entry looked up once."""
    indices = np.asarray(image)
    palette = image.getpalette() or []
    lut = np.zeros(256, dtype=np.uint8)
    used = np.flatnonzero(np.bincount(indices.ravel(), minlength=256))
    for index in used.tolist():
        r, g, b = (palette[3 * index : 3 * index + 3] + [0, 0, 0])[:3]
        packed = r << 16 | g << 8 | b
        if packed not in table:
            _refuse_color(mask, packed)
        lut[index] = table[packed]
    return lut[indices]


def _refuse_color(mask: LabeledMask, packed: int) -> None:
    raise BadInput(
        f"item {mask.external_id!r}: its mask has the colour #{packed:06x}, which its "
        "internal-color-map does not name"
    )


def nothing_to_write(session: Session, job: Job, what: str, *, files: bool = False) -> str | None:
    """Why an export of the job in format `what` would be empty, or None."""
    if repository.has_labels(session, job.id, files=files):
        return None
    total = repository.non_gold_task_count(session, job.id)
    kind = "mask" if files else "consolidated label"
    return (
        f"job {job.name!r} has nothing to export as {what}: none of its {total} items "
        f"has a {kind} yet (complete or auto-labeled)"
    )
