import base64
import io

import numpy as np
import pytest
from PIL import Image

from truthset.consensus.spatial import (
    SemanticSegmentationConsolidator,
    class_colors,
    decode_label_png,
    encode_label_png,
    encode_label_png_base64,
    mask_iou,
)

LABELS = ["cat", "dog"]
MAPPINGS = {"cat": {"color": "#2ca02c"}, "dog": {"color": "#1f77b4"}}


def worker_png(mask, mappings=MAPPINGS, labels=LABELS):
    """What the worker tool sends: an RGB(A) PNG painted in the labelMappings colours."""
    colors = class_colors(labels, mappings)
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colors], dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb[mask]).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def gt_answer(mask):
    return {
        "labeledImage": {"pngImageData": worker_png(mask)},
        "labelMappings": MAPPINGS,
        "inputImageProperties": {"width": mask.shape[1], "height": mask.shape[0]},
    }


def sample_mask():
    m = np.zeros((12, 16), dtype=np.uint8)
    m[2:8, 3:9] = 1
    m[9:, 12:] = 2
    return m


def test_mask_iou():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2] = True
    b[1:3] = True
    assert mask_iou(a, b) == pytest.approx(4 / 12)
    assert mask_iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0


def test_palette_png_round_trip():
    m = sample_mask()
    colors = class_colors(LABELS, MAPPINGS)
    assert colors == ["#ffffff", "#2ca02c", "#1f77b4"]
    png = encode_label_png(m, colors)
    assert Image.open(io.BytesIO(png)).mode == "P"
    decoded = decode_label_png(base64.b64encode(png).decode(), MAPPINGS, LABELS)
    np.testing.assert_array_equal(decoded, m)
    assert decoded.dtype == np.uint8


def test_decode_worker_rgb_png_and_transparent_background():
    m = sample_mask()
    np.testing.assert_array_equal(decode_label_png(worker_png(m), MAPPINGS, LABELS), m)
    rgba = np.zeros((3, 3, 4), dtype=np.uint8)  # fully transparent black = unlabelled
    rgba[1, 1] = [0x2C, 0xA0, 0x2C, 255]
    rgba[0, 2] = [0x2C, 0xA0, 0x2C, 0]  # a label colour, but fully transparent
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG")
    decoded = decode_label_png(buf.getvalue(), MAPPINGS, LABELS)
    assert decoded.tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]


def test_decode_rejects_colours_and_labels_outside_the_mappings():
    m = sample_mask()
    png = encode_label_png_base64(m, ["#ffffff", "#2ca02c", "#123456"])
    with pytest.raises(ValueError, match=r"labeledImage\.pngImageData: colour #123456"):
        decode_label_png(png, MAPPINGS, LABELS)
    lenient = decode_label_png(png, MAPPINGS, LABELS, unknown="background")
    assert lenient[9:, 12:].max() == 0
    with pytest.raises(ValueError, match=r"labelMappings: label 'bird'"):
        decode_label_png(png, {"bird": {"color": "#123456"}}, LABELS)
    with pytest.raises(ValueError, match="pngImageData"):
        decode_label_png("not base64!", MAPPINGS, LABELS)


def test_unweighted_vote_is_the_pixel_majority():
    m = sample_mask()
    noisy1, noisy2 = m.copy(), m.copy()
    noisy1[0:2, 0:4] = 2
    noisy2[5:7, 10:14] = 1
    model = SemanticSegmentationConsolidator(labels=LABELS, smoothing=None).fit([m, noisy1, noisy2])
    np.testing.assert_array_equal(model.mask_, m)
    disagree = 8 + 8
    expected = ((m.size - disagree) * 1.0 + disagree * 2 / 3) / m.size
    assert model.confidence_ == pytest.approx(expected)
    cmap = model.metadata_["internal-color-map"]
    assert cmap["0"] == {
        "class-name": "BACKGROUND",
        "hex-color": "#ffffff",
        "confidence": round(expected, 4),
    }
    assert cmap["2"]["class-name"] == "dog"


def test_skill_weights_decide_a_two_worker_disagreement():
    a = np.zeros((6, 6), dtype=np.uint8)
    b = a.copy()
    a[1:5, 1:5] = 1
    b[1:5, 1:5] = 2
    plain = SemanticSegmentationConsolidator(labels=LABELS, smoothing=None)
    assert plain.fit([a, b], worker_ids=["x", "y"], skills={"x": 0.4, "y": 0.9}).mask_[2, 2] == 2
    assert plain.fit([a, b], worker_ids=["x", "y"], skills={"x": 0.9, "y": 0.4}).mask_[2, 2] == 1


def test_smoothing_removes_isolated_pixel_errors():
    m = np.zeros((9, 9), dtype=np.uint8)
    m[:, 5:] = 1
    bad = m.copy()
    bad[2, 2] = 1  # two of three workers slip on the same lone pixel
    votes = [m, bad, bad.copy()]
    raw = SemanticSegmentationConsolidator(labels=LABELS, smoothing=None).fit(votes)
    assert raw.mask_[2, 2] == 1
    box = SemanticSegmentationConsolidator(labels=LABELS, smoothing="box", smoothing_size=3).fit(
        votes
    )
    assert box.mask_[2, 2] == 0
    np.testing.assert_array_equal(box.mask_, m)
    gauss = SemanticSegmentationConsolidator(
        labels=LABELS, smoothing="gaussian", smoothing_size=1
    ).fit(votes)
    assert gauss.mask_[2, 2] == 0


def test_smoothing_scope():
    square = np.zeros((9, 9), dtype=np.uint8)
    square[2:7, 2:7] = 1
    unanimous = [square] * 3
    # Everyone agrees: the default leaves the corners alone, smoothing all pixels erodes them.
    np.testing.assert_array_equal(
        SemanticSegmentationConsolidator(labels=LABELS).fit(unanimous).mask_, square
    )
    eroded = (
        SemanticSegmentationConsolidator(labels=LABELS, smooth_where="all").fit(unanimous).mask_
    )
    assert eroded[2, 2] == 0 and eroded[4, 4] == 1
    # A 2-of-3 lone pixel is a strict majority: "undecided" keeps it, "disputed" smooths it.
    m = np.zeros((9, 9), dtype=np.uint8)
    bad = m.copy()
    bad[4, 4] = 1
    votes = [m, bad, bad.copy()]
    assert SemanticSegmentationConsolidator(labels=LABELS).fit(votes).mask_[4, 4] == 0
    kept = SemanticSegmentationConsolidator(labels=LABELS, smooth_where="undecided").fit(votes)
    assert kept.mask_[4, 4] == 1
    # A three-way tie (no majority) is smoothed under "undecided" too.
    two = m.copy()
    two[4, 4] = 2
    tie = SemanticSegmentationConsolidator(labels=LABELS, smooth_where="undecided").fit(
        [m, bad, two]
    )
    assert tie.mask_[4, 4] == 0
    with pytest.raises(ValueError, match="smooth_where"):
        SemanticSegmentationConsolidator(smooth_where="edges").fit(unanimous)


def test_ground_truth_answers_in_and_png_out():
    m = sample_mask()
    model = SemanticSegmentationConsolidator(labels=LABELS).fit([gt_answer(m)] * 3)
    np.testing.assert_array_equal(model.mask_, m)
    assert model.confidence_ == 1.0
    np.testing.assert_array_equal(decode_label_png(model.png_, MAPPINGS, LABELS), m)
    assert model.colors_ == ["#ffffff", "#2ca02c", "#1f77b4"]


def test_mask_errors():
    with pytest.raises(ValueError, match="differ in size"):
        SemanticSegmentationConsolidator().fit([np.zeros((2, 2), int), np.zeros((3, 2), int)])
    with pytest.raises(ValueError, match="smoothing"):
        SemanticSegmentationConsolidator(smoothing="median").fit([np.zeros((2, 2), int)])
    with pytest.raises(ValueError, match=r"answers\[0\]: class 3"):
        SemanticSegmentationConsolidator(labels=LABELS).fit([np.full((2, 2), 3)])
