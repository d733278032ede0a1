"""Consolidation of non-classification answers: one module per answer kind.

Every consolidator follows scikit-learn's conventions: keyword parameters in
``__init__``, ``fit(answers, worker_ids=None, skills=None) -> self`` on the answers of
ONE item (Ground Truth raw worker-answer shapes), fitted ``label_`` (Ground Truth's output
label) and ``metadata_`` (the confidence fields of the ``-metadata`` object), plus
``fit_predict``. ``skills`` maps worker id to a weight in (0, 1].
"""

from ._common import Consolidator, unwrap_answer
from .boxes import BoundingBoxConsolidator, combine_boxes
from .keypoints import KeypointConsolidator
from .masks import (
    SemanticSegmentationConsolidator,
    class_colors,
    decode_label_png,
    encode_label_png,
    encode_label_png_base64,
    internal_color_map,
)
from .overlap import box_iou, class_mask_iou, mask_iou, span_jaccard
from .polygons import PolygonConsolidator, instances_to_png, rasterize_polygon
from .polylines import PolylineConsolidator
from .segments import SegmentConsolidator, match_intervals, temporal_iou, temporal_iou_matrix
from .spans import NamedEntityConsolidator
from .transcripts import TranscriptionConsolidator
from .validate import VALIDATORS

SPATIAL_CONSOLIDATORS: dict[str, type[Consolidator]] = {
    "bounding-box": BoundingBoxConsolidator,
    "polygon": PolygonConsolidator,
    "instance-segmentation": PolygonConsolidator,
    "polyline": PolylineConsolidator,
    "semantic-segmentation": SemanticSegmentationConsolidator,
    "keypoint": KeypointConsolidator,
    "named-entity": NamedEntityConsolidator,
    "transcription": TranscriptionConsolidator,
}

__all__ = [
    "SPATIAL_CONSOLIDATORS",
    "VALIDATORS",
    "BoundingBoxConsolidator",
    "Consolidator",
    "KeypointConsolidator",
    "NamedEntityConsolidator",
    "PolygonConsolidator",
    "PolylineConsolidator",
    "SegmentConsolidator",
    "SemanticSegmentationConsolidator",
    "TranscriptionConsolidator",
    "box_iou",
    "class_colors",
    "class_mask_iou",
    "combine_boxes",
    "decode_label_png",
    "encode_label_png",
    "encode_label_png_base64",
    "instances_to_png",
    "internal_color_map",
    "mask_iou",
    "match_intervals",
    "rasterize_polygon",
    "span_jaccard",
    "temporal_iou",
    "temporal_iou_matrix",
    "unwrap_answer",
]
