"""Your own ONNX model: tiny models built here (onnx.helper) run by onnxruntime on
generated images whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from onnx_models_support import (
    DUPLICATE_SCORE,
    TRUE_SCORE,
    box_detector,
    bright_rectangles,
    colour_classifier,
    sam_decoder,
    sam_encoder,
)
from support import require_module
from truthset.learning.models import ModelError
from truthset.learning.models.onnx_models import (
    InputSpec,
    OnnxBoxDetector,
    OnnxClassifier,
    OnnxPromptSegmenter,
    box_iou,
    check_config,
    label_map,
    load_session,
    model_from_config,
    nms,
    preprocess,
)

require_module("onnxruntime")
require_module("onnx")

# A 100 x 60 image with one bright rectangle: left 30, top 10, 40 wide, 30 high.
RECT = (30, 10, 40, 30)


def _image() -> np.ndarray:
    return bright_rectangles(100, 60, [RECT])


def _near(box: dict, rect: tuple[int, int, int, int], tol: float = 2.0) -> bool:
    return all(
        abs(box[k] - v) <= tol
        for k, v in zip(("left", "top", "width", "height"), rect, strict=True)
    )


@pytest.mark.parametrize(
    "options",
    [{}, {"objectness": True}, {"transposed": True}],
    ids=["rows", "objectness", "transposed"],
)
def test_yolo_boxes_are_found_where_they_are(options):
    model = box_detector("yolo", **options)
    outputs = {"objectness": True} if options.get("objectness") else None
    found = (
        OnnxBoxDetector(model, kind="yolo", outputs=outputs, labels={"0": "dim", "1": "rect"})
        .fit()
        .predict_one(_image())
    )
    # The near-duplicate (shifted one pixel, 0.8) is suppressed, the 0.1 box is under the
    # threshold, and class 2 (0.95) is not mapped: dropped and counted.
    (box,) = found["boundingBoxes"]
    assert box["label"] == "rect" and _near(box, RECT), box
    assert found["confidences"] == [pytest.approx(TRUE_SCORE)]
    assert found["dropped"] == {"2": 1}
    assert found["inputImageProperties"] == {"width": 100, "height": 60}


def test_without_nms_the_duplicate_stays_and_a_lower_threshold_keeps_the_low_box():
    model = box_detector("yolo")
    found = (
        OnnxBoxDetector(
            model,
            kind="yolo",
            labels=["dim", "rect", "other"],
            iou_threshold=1.0,
            score_threshold=0.05,
        )
        .fit()
        .predict_one(_image())
    )
    labels = sorted(b["label"] for b in found["boundingBoxes"])
    assert labels == ["dim", "other", "rect", "rect"]
    assert sorted(found["confidences"], reverse=True)[:3] == pytest.approx(
        [0.95, TRUE_SCORE, DUPLICATE_SCORE]
    )
    assert found["dropped"] == {}


@pytest.mark.parametrize("box_format", ["xyxy", "yxyx"])
def test_ssd_boxes_in_normalised_coordinates(box_format):
    model = box_detector("ssd", box_format=box_format)
    found = (
        OnnxBoxDetector(
            model,
            kind="ssd",
            inputs={"resize": "letterbox"},
            outputs={"classes": "classes", "normalized": True, "box_format": box_format},
            labels=["dim", "rect"],
        )
        .fit()
        .predict_one(_image())
    )
    (box,) = found["boundingBoxes"]
    assert box["label"] == "rect" and _near(box, RECT), box
    assert found["dropped"] == {"2": 1}


def test_stretched_input_maps_boxes_back_too():
    # The SSD model reads its input stretched to 64 x 64 (its default resize): the box
    # comes back in the 100 x 60 image's pixels.
    found = (
        OnnxBoxDetector(
            box_detector("ssd"),
            kind="ssd",
            outputs={"classes": "classes", "normalized": True},
            labels=["dim", "rect"],
        )
        .fit()
        .predict_one(_image())
    )
    (box,) = found["boundingBoxes"]
    assert _near(box, RECT), box


def test_nms_keeps_the_best_of_each_overlapping_group_per_class():
    boxes = np.array(
        [[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10]], dtype=float
    )
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert nms(boxes, scores, 0.5).tolist() == [0, 2]
    # Another class's box on the same place is kept.
    assert nms(boxes, scores, 0.5, classes=np.array([0, 0, 0, 1])).tolist() == [0, 2, 3]
    assert box_iou(boxes[:1], boxes[1:2])[0, 0] == pytest.approx(81 / 119)
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_nms_matches_a_plain_greedy_loop_on_random_boxes():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (150, 2))
    boxes = np.hstack([xy, xy + rng.uniform(5, 30, (150, 2))])
    scores = rng.uniform(size=150)
    order = list(np.argsort(-scores))
    expected = []
    while order:
        i = order.pop(0)
        expected.append(i)
        order = [j for j in order if box_iou(boxes[[i]], boxes[[j]])[0, 0] <= 0.4]
    assert nms(boxes, scores, 0.4).tolist() == expected


def test_classifier_softmaxes_logits_and_keeps_probabilities():
    green = bright_rectangles(40, 30, [(0, 0, 40, 30)], colour=(10, 200, 30))
    logits = OnnxClassifier(colour_classifier(), labels=["red", "green", "blue"]).fit()
    probs = logits.predict_proba_one(green)
    assert probs.argmax() == 1 and probs.sum() == pytest.approx(1.0)
    expected = np.exp(10 * np.array([10, 200, 30]) / 255)
    assert probs == pytest.approx(expected / expected.sum(), rel=1e-3)
    already = OnnxClassifier(colour_classifier(probabilities=True)).fit()
    assert already.predict_proba_one(green) == pytest.approx(probs, rel=1e-3)
    sigmoid = OnnxClassifier(colour_classifier(), outputs={"activation": "sigmoid"}).fit()
    assert sigmoid.predict_proba_one(green)[1] == pytest.approx(1 / (1 + np.exp(-2000 / 255)))


@pytest.mark.parametrize("input_type", ["float16", "uint8-nhwc"])
def test_the_input_type_the_model_declares_is_fed(input_type):
    green = bright_rectangles(40, 30, [(0, 0, 40, 30)], colour=(10, 200, 30))
    expected = OnnxClassifier(colour_classifier()).fit().predict_proba_one(green)
    inputs = {"layout": "NHWC"} if input_type == "uint8-nhwc" else None
    model = OnnxClassifier(colour_classifier(input_type=input_type), inputs=inputs).fit()
    assert model.input_.dtype == input_type.split("-")[0]
    assert model.predict_proba_one(green) == pytest.approx(expected, rel=1e-2)


def _segmenter(size: int = 128, **kw) -> OnnxPromptSegmenter:
    return OnnxPromptSegmenter(
        sam_encoder(size),
        sam_decoder(size, **kw),
        inputs={"scale": 1 / 255, "mean": 0, "std": 1},
    ).fit()


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_prompt_segmenter_masks_the_object_in_the_box():
    image = bright_rectangles(120, 80, [(10, 10, 30, 20), (70, 40, 40, 30)])
    seg = _segmenter()
    embedding = seg.embed(image)  # once for the image, then one decoder run per prompt
    right = np.zeros((80, 120), bool)
    right[40:70, 70:110] = True
    left = np.zeros((80, 120), bool)
    left[10:30, 10:40] = True
    mask = seg.segment(embedding, box=(65, 35, 115, 75))
    assert mask.shape == (80, 120) and _iou(mask, right) > 0.8
    assert not (mask & left).any()
    mask = seg.segment(embedding, points=[(20, 20)], point_labels=[1], box=(5, 5, 45, 35))
    assert _iou(mask, left) > 0.8 and not (mask & right).any()
    # A decoder that declares orig_im_size (as SAM's export does) is given it.
    with_size = _segmenter(with_orig_size_input=True)
    assert _iou(with_size.segment(with_size.embed(image), box=(65, 35, 115, 75)), right) > 0.8
    with pytest.raises(ValueError, match="a point or a box"):
        seg.segment(embedding)


def test_preprocess_letterbox_normalises_and_records_the_transform():
    spec = InputSpec(
        name="x", width=64, height=64, resize="letterbox", mean=(0.5, 0.5, 0.5), std=(0.5,) * 3
    )
    tensor, t = preprocess(_image(), spec)
    assert tensor.shape == (1, 3, 64, 64) and tensor.dtype == np.float32
    assert (t.scale_x, t.pad_x, t.pad_y) == (0.64, 0.0, 13.0)
    # Padding rows hold 114 / 255 normalised; the bright rectangle 1.0.
    assert tensor[0, 0, 0, 0] == pytest.approx((114 / 255 - 0.5) / 0.5)
    assert tensor[0, :, 13 + 15, 32].max() == pytest.approx(1.0)
    bgr = InputSpec(name="x", width=8, height=8, channels="BGR", layout="NHWC", dtype="uint8")
    red = bright_rectangles(8, 8, [(0, 0, 8, 8)], colour=(200, 0, 0))
    tensor, _ = preprocess(red, bgr)
    assert tensor.shape == (1, 8, 8, 3) and tensor[0, 0, 0].tolist() == [0, 0, 200]


def test_label_map_forms():
    assert label_map({"0": "car", "2": "bus"}, []) == {0: "car", 2: "bus"}
    assert label_map(["car", None, "bus"], []) == {0: "car", 2: "bus"}
    assert label_map(None, ["a", "b"]) == {0: "a", 1: "b"}
    with pytest.raises(ModelError, match=r"labels\.x: a key is the model's class index"):
        label_map({"x": "car"}, [])


def test_bad_files_and_configurations_are_refused_naming_the_field():
    with pytest.raises(ModelError, match="^path: not an ONNX model onnxruntime can run"):
        load_session(b"this is not a model")
    with pytest.raises(ModelError, match="^path: the model file is empty"):
        load_session(b"")
    with pytest.raises(ModelError, match=r"^outputs\.boxes: the model has no output 'boxs'"):
        OnnxBoxDetector(box_detector("ssd"), kind="ssd", outputs={"boxes": "boxs"}).fit()
    with pytest.raises(ModelError, match=r"^outputs\.name: the model has no output 'out'"):
        OnnxBoxDetector(box_detector("yolo"), kind="yolo", outputs={"name": "out"}).fit()
    with pytest.raises(ModelError, match=r"^inputs\.size: \[32, 32\] is not the model's input"):
        OnnxBoxDetector(box_detector("yolo"), inputs={"size": [32, 32]}).fit()
    with pytest.raises(ModelError, match=r"^inputs: unknown key\(s\) \['mena'\]"):
        OnnxClassifier(colour_classifier(), inputs={"mena": 0.5}).fit()
    with pytest.raises(ModelError, match=r"^outputs\.activation: must be one of"):
        OnnxClassifier(colour_classifier(), outputs={"activation": "relu"}).fit()
    with pytest.raises(ModelError, match="^decoder_path: the decoder has no input"):
        OnnxPromptSegmenter(sam_encoder(), colour_classifier()).fit()
    with pytest.raises(ModelError, match="^kind: must be one of yolo, ssd, classify, sam"):
        check_config({"path": "/m.onnx", "kind": "detr"})
    with pytest.raises(ModelError, match="^decoder_path: is not a setting of a yolo model"):
        check_config({"path": "/m.onnx", "kind": "yolo", "decoder_path": "/d.onnx"})
    with pytest.raises(ModelError, match="^decoder_path: must be the model file's path"):
        check_config({"path": "/m.onnx", "kind": "sam"})
    with pytest.raises(ModelError, match="^score_threshold: must be a number in"):
        check_config({"path": "/m.onnx", "kind": "ssd", "score_threshold": 2})


def test_a_model_whose_input_is_not_an_image_is_refused():
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "flat",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    with pytest.raises(ModelError, match=r"^inputs: the model's input 'x' has shape \[1, 10\]"):
        model_from_config(
            {"kind": "classify", "path": "/m.onnx"}, model.SerializeToString(), classes=["a"]
        )
