"""`agreement(answer, reference, config)`: scoring answers against gold answers."""

import numpy as np
import pytest

from tasktypes.conftest import paint, rgb_png_b64
from truthset.tasktypes import get_task_type
from truthset.tasktypes._agreement import soft_f1, word_agreement

SIZE = {"width": 100, "height": 100}


def boxes(*bs):
    return {
        "boundingBoxes": [
            {"label": lab, "left": x, "top": y, "width": w, "height": h} for lab, x, y, w, h in bs
        ],
        "inputImageProperties": SIZE,
    }


def test_soft_f1_rules():
    same = lambda a, b: 1.0  # noqa: E731
    assert soft_f1([], [], str, same, 0.5) == 1.0
    assert soft_f1(["a"], [], str, same, 0.5) == 0.0
    assert soft_f1(["a", "a"], ["a"], str, same, 0.5) == pytest.approx(2 / 3)
    assert soft_f1(["a"], ["b"], str, same, 0.5) == 0.0  # labels differ


def test_boxes():
    bb = get_task_type("bounding-box")
    config = bb.parse_label_config(["dog", "cat"])
    ref = boxes(("dog", 10, 10, 20, 20), ("cat", 50, 50, 20, 20))
    assert bb.agreement(ref, ref, config) == 1.0
    shifted = boxes(("dog", 12, 10, 20, 20), ("cat", 50, 50, 20, 20))
    assert bb.agreement(shifted, ref, config) == pytest.approx((18 * 20 / (22 * 20) + 1) / 2)
    missed = boxes(("dog", 10, 10, 20, 20))
    assert bb.agreement(missed, ref, config) == pytest.approx(2 / 3)
    wrong_label = boxes(("cat", 10, 10, 20, 20), ("cat", 50, 50, 20, 20))
    assert bb.agreement(wrong_label, ref, config) == pytest.approx(0.5)
    far = boxes(("dog", 60, 10, 20, 20), ("cat", 50, 50, 20, 20))
    assert bb.agreement(far, ref, config) == pytest.approx(0.5)


def test_polygons_polylines_keypoints():
    poly = get_task_type("polygon")
    config = poly.parse_label_config(["a"])
    sq = [{"x": 10, "y": 10}, {"x": 40, "y": 10}, {"x": 40, "y": 40}, {"x": 10, "y": 40}]
    moved = [{"x": v["x"] + 3, "y": v["y"]} for v in sq]
    ref = {"polygons": [{"label": "a", "vertices": sq}], "inputImageProperties": SIZE}
    ans = {"polygons": [{"label": "a", "vertices": moved}], "inputImageProperties": SIZE}
    assert poly.agreement(ref, ref, config) == 1.0
    assert 0.7 < poly.agreement(ans, ref, config) < 0.95

    line = get_task_type("polyline")
    ref = {"polylines": [{"label": "a", "vertices": sq[:2]}], "inputImageProperties": SIZE}
    assert line.agreement(ref, ref, config) == 1.0
    far = {"polylines": [{"label": "a", "vertices": sq[2:]}], "inputImageProperties": SIZE}
    assert line.agreement(far, ref, config) == 0.0

    kp = get_task_type("keypoint")
    ref = {"keypoints": [{"label": "a", "x": 50, "y": 50}], "inputImageProperties": SIZE}
    near = {"keypoints": [{"label": "a", "x": 51, "y": 50}], "inputImageProperties": SIZE}
    away = {"keypoints": [{"label": "a", "x": 90, "y": 50}], "inputImageProperties": SIZE}
    assert kp.agreement(ref, ref, config) == 1.0
    assert 0.9 < kp.agreement(near, ref, config) < 1.0
    assert kp.agreement(away, ref, config) == 0.0


def test_spans_masks_transcripts_verdicts():
    ner = get_task_type("named-entity-recognition")
    config = ner.parse_label_config(["P"])
    ref = {"entities": [{"label": "P", "startOffset": 0, "endOffset": 10}]}
    ans = {"entities": [{"label": "P", "startOffset": 0, "endOffset": 8}]}
    assert ner.agreement(ans, ref, config) == pytest.approx(0.8)

    seg = get_task_type("semantic-segmentation")
    config = seg.parse_label_config(["a", "b"])
    m = np.zeros((10, 10), dtype=np.uint8)
    m[0:5, 0:4] = 1
    m2 = m.copy()
    m2[0:5, 4] = 1
    colors = {1: "#1f77b4", 2: "#ff7f0e"}
    maps = {"a": {"color": "#1f77b4"}, "b": {"color": "#ff7f0e"}}

    def answer(mask):
        return {
            "labeledImage": {"pngImageData": rgb_png_b64(paint(mask, colors))},
            "labelMappings": maps,
        }

    assert seg.agreement(answer(m2), answer(m), config) == pytest.approx(20 / 25)
    empty = np.zeros((10, 10), dtype=np.uint8)
    assert seg.agreement(answer(empty), answer(empty), config) == 1.0

    tr = get_task_type("audio-transcription")
    cfg = tr.parse_label_config(None)
    assert (
        tr.agreement({"transcription": "The cat sat"}, {"transcription": "the cat sat"}, cfg) == 1.0
    )
    assert word_agreement("the cat", "the cat sat") == pytest.approx(2 / 3)
    assert word_agreement("a b c d e f", "x") == 0.0

    ver = get_task_type("label-verification")
    cfg = ver.parse_label_config(["good", "bad"])
    assert ver.agreement({"label": "bad", "comment": "x"}, {"label": "bad"}, cfg) == 1.0
    assert ver.agreement({"label": "good"}, {"label": "bad"}, cfg) == 0.0
