"""Semantic segmentation: Ground Truth's ``groundtruth/semantic-segmentation``.

Answer (crowd-semantic-segmentation's payload): ``{"labeledImage": {"pngImageData":
"<base64 PNG>"}, "labelMappings": {"<label>": {"color": "#rrggbb"}},
"inputImageProperties"}`` (+ ``initialValueModified`` in adjustment jobs). The PNG must
decode, have the image's exact size, and use only white (or transparent) background and
the colours of ``labelMappings``, whose labels come from the label config.

The label is a file: the consolidated class mask as a palette PNG, returned in
``Consolidation.artifact``. Its value, until the exporter writes the file and replaces it
with the file's location, is the placeholder :data:`ARTIFACT_NAME`. The label attribute
must end in ``-ref`` (checked when the job is created). Metadata: ``{"internal-color-map":
{"0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": c}, "1": {...}}}``
with one confidence per image repeated for every class, as Ground Truth writes it.
Consolidation: :class:`truthset.consensus.spatial.SemanticSegmentationConsolidator`, a pixel
vote weighted by skill; pixels without a strict majority (ties) take the smoothed
neighbourhood's vote (``smooth_where="undecided"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from truthset.consensus.spatial import (
    SemanticSegmentationConsolidator,
    class_colors,
    class_mask_iou,
    decode_label_png,
    encode_label_png,
    internal_color_map,
)
from truthset.consensus.spatial.masks import hex_to_rgb, rgb_to_hex
from truthset.consensus.spatial.validate import validate_semantic_segmentation_answer
from truthset.errors import BadInput
from truthset.tasktypes._spatial import (
    adjustment_meta,
    agreed_image_size,
    check_job_settings,
    check_png_header,
    checked,
    initial_value_modified,
    payload_of,
    resolve_image_size,
    single_worker_confidence,
    size_props,
    usable_params,
    worker_skills,
)
from truthset.tasktypes.base import (
    Consolidation,
    LabelConfig,
    WorkerAnswer,
    parse_gt_label_config,
)

# The label value written with the artifact; the exporter replaces it with the location
# of the file it writes (GT: `<output>/annotations/consolidated-annotation/output/...png`).
ARTIFACT_NAME = "label.png"
# A palette PNG holds 256 colours: background plus 255 classes.
MAX_LABELS = 255
SEGMENTATION_PARAMS = ("smoothing", "smoothing_size", "smooth_where")


@dataclass(frozen=True)
class SemanticSegmentationType:
    name: str = "semantic-segmentation"
    media: str = "image"
    ui_module: str = "tools/segment.js"
    output_type: str = "groundtruth/semantic-segmentation"
    # The auto-labeling loop classifies items and detects boxes; it has no mask model.
    supports_auto_labeling: bool = False
    supports_adjustment: bool = True

    def parse_label_config(self, raw: Any) -> LabelConfig:
        config = parse_gt_label_config(raw, min_labels=1)
        if len(config.labels) > MAX_LABELS:
            raise BadInput(
                f"label config: {len(config.labels)} labels; semantic segmentation takes at"
                f" most {MAX_LABELS}"
            )
        if "BACKGROUND" in config.labels:
            raise BadInput("label config: 'BACKGROUND' is reserved for class 0")
        return config

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Raise BadInput for job settings this type cannot use (for job creation)."""
        check_job_settings(settings, SEGMENTATION_PARAMS)

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        payload = payload_of(answer, "labeledImage")
        size = resolve_image_size(payload, item)
        mappings = payload.get("labelMappings")
        if mappings is None:
            mappings = {}
        if not isinstance(mappings, dict):
            raise BadInput(f"answer.labelMappings: {mappings!r} is not an object")
        image = payload.get("labeledImage")
        check_png_header(image.get("pngImageData") if isinstance(image, dict) else None, size)
        candidate = {
            "labeledImage": payload.get("labeledImage"),
            "labelMappings": mappings,
            "inputImageProperties": size_props(size),
        }
        checked(
            lambda: validate_semantic_segmentation_answer(candidate, labels=list(config.labels))
        )
        colors: dict[str, str] = {}
        normalized: dict[str, dict[str, str]] = {}
        for name, entry in mappings.items():
            color = rgb_to_hex(hex_to_rgb(entry["color"] if isinstance(entry, dict) else entry))
            if color in colors and colors[color] != name:
                raise BadInput(
                    f"answer.labelMappings.{name}.color: {color} is also {colors[color]!r}'s colour"
                )
            if color == "#ffffff" and name != "BACKGROUND":
                raise BadInput(
                    f"answer.labelMappings.{name}.color: #ffffff is the background colour"
                )
            colors[color] = name
            normalized[name] = {"color": color}
        return {
            "labeledImage": {"pngImageData": payload["labeledImage"]["pngImageData"]},
            "labelMappings": normalized,
            "inputImageProperties": size_props(size),
            **initial_value_modified(payload),
        }

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation:
        if not answers:
            raise ValueError("no answers to consolidate")
        # Masks of another size than most workers' cannot be voted pixel by pixel (only
        # possible when the image could not be read to check them): leave them out.
        size = agreed_image_size(answers)
        everyone = answers
        answers = [
            a
            for a in everyone
            if size is None or _props_size(a.content.get("inputImageProperties")) == size
        ]
        ids, skills = worker_skills(answers)
        labels = list(config.labels)
        # Each answer is decoded with its own labelMappings, so workers whose tools
        # coloured the classes differently still vote on the same classes.
        masks = [
            decode_label_png(
                a.content["labeledImage"]["pngImageData"],
                a.content.get("labelMappings") or {},
                labels,
                unknown="background",
            )
            for a in answers
        ]
        colors = class_colors(labels, _output_mappings(answers))
        # quality/spatial smooths every disputed pixel by default, which lets a unanimous
        # interior outvote a 2-of-3 majority along an edge (the edge moves a pixel toward
        # the outlier); only pixels without a strict majority (ties) take the smoothed
        # neighbourhood's vote here, unless the job says otherwise.
        params = {"smooth_where": "undecided", **usable_params(settings, SEGMENTATION_PARAMS)}
        fitted = SemanticSegmentationConsolidator(labels=labels, **params).fit(
            masks, worker_ids=ids, skills=skills
        )
        mask, share = fitted.mask_, fitted.vote_share_
        confidence = (
            single_worker_confidence(answers[0], settings)
            if len(answers) <= 1
            else round(float(share.mean()), 4)
        )
        meta: dict[str, Any] = {
            "internal-color-map": internal_color_map(labels, colors, confidence)
        }
        meta.update(adjustment_meta(everyone, settings))
        return Consolidation(
            value=ARTIFACT_NAME,
            meta=meta,
            confidence=confidence,
            method="pixel-vote",
            artifact=encode_label_png(mask, colors),
        )

    def agreement(
        self, answer: dict[str, Any], reference: dict[str, Any], config: LabelConfig
    ) -> float:
        """Mean IoU over the label classes present in either mask (background left out,
        as Ground Truth's segmentation quality target); 1.0 when both are empty."""
        labels = list(config.labels)
        masks = [
            decode_label_png(
                a["labeledImage"]["pngImageData"], a.get("labelMappings") or {}, labels
            )
            for a in (answer, reference)
        ]
        if masks[0].shape != masks[1].shape:
            return 0.0
        iou = class_mask_iou(masks[0], masks[1], len(labels) + 1)[1:]
        present = iou[~np.isnan(iou)]
        return float(present.mean()) if present.size else 1.0

    def initial_answer(
        self, value: Any, meta: dict[str, Any], config: LabelConfig
    ) -> dict[str, Any]:
        """The colours of an earlier job's mask as ``labelMappings``. The mask itself is
        a file (the label's artifact); the tool loads it as the initial painting."""
        cmap = meta.get("internal-color-map") or {}
        return {
            "labelMappings": {
                entry["class-name"]: {"color": entry["hex-color"]}
                for key, entry in sorted(cmap.items(), key=lambda kv: int(kv[0]))
                if key != "0" and "hex-color" in entry
            }
        }


def _output_mappings(answers: list[WorkerAnswer]) -> dict[str, Any]:
    """The colour of each class in the label: the first worker's that no other class has
    already taken (classes left without one get the default palette)."""
    out: dict[str, Any] = {}
    taken: set[str] = {"#ffffff"}
    for a in answers:
        for name, entry in (a.content.get("labelMappings") or {}).items():
            color = entry.get("color") if isinstance(entry, dict) else entry
            if name in out or not isinstance(color, str) or color.lower() in taken:
                continue
            out[name] = {"color": color.lower()}
            taken.add(color.lower())
    return out


def _props_size(props: Any) -> tuple[int, int] | None:
    if isinstance(props, dict) and "width" in props and "height" in props:
        return int(props["width"]), int(props["height"])
    return None


SEMANTIC_SEGMENTATION = SemanticSegmentationType()
