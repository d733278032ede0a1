import pytest

from tasktypes.gt_shapes import BOUNDING_BOX, assert_same_shape, type_meta
from truthset.errors import BadInput
from truthset.tasktypes import WorkerAnswer, get_task_type

KP = get_task_type("keypoint")
CONFIG = KP.parse_label_config(["nose", "tail"])
SIZE = {"width": 200, "height": 100}
LABEL = {
    "image_size": [{"width": 200, "height": 100, "depth": 3}],
    "annotations": [{"class_id": 0, "x": 1.0, "y": 2.0}],
}


def points(*pts, **extra):
    return {
        "keypoints": [{"label": lab, "x": x, "y": y} for lab, x, y in pts],
        "inputImageProperties": SIZE,
        **extra,
    }


def test_validation(img):
    ref = img(200, 100)
    out = KP.validate_answer({"kp": points(("nose", 10.0, 20.5))}, CONFIG, {"source-ref": ref})
    assert out == {
        "keypoints": [{"label": "nose", "x": 10, "y": 20.5}],
        "inputImageProperties": SIZE,
    }
    with pytest.raises(BadInput, match=r"answer\.keypoints\[0\]\.x: 205 is outside the image"):
        KP.validate_answer(points(("nose", 205, 5)), CONFIG, {"source-ref": ref})
    with pytest.raises(BadInput, match=r"answer\.keypoints\[1\]\.label: 'ear' is not in"):
        KP.validate_answer(points(("nose", 1, 1), ("ear", 1, 1)), CONFIG, {"source-ref": ref})
    with pytest.raises(BadInput, match=r"answer\.keypoints\[0\]\.y: True is not a number"):
        KP.validate_answer(points(("nose", 1, True)), CONFIG, {"source-ref": ref})


def test_consolidation_shape_weights_and_adjustment():
    answers = [
        WorkerAnswer(1, points(("nose", 50, 50), ("tail", 150, 60)), weight=0.9),
        WorkerAnswer(2, points(("nose", 52, 50)), weight=0.3),
        WorkerAnswer(
            3,
            points(("tail", 151, 61)),
            weight=0.3,
        ),
    ]
    result = KP.consolidate(answers, CONFIG, {})
    assert_same_shape(result.value, LABEL)
    assert_same_shape(result.meta, type_meta(BOUNDING_BOX, "bounding-box-attribute-name"))
    nose = result.value["annotations"][0]
    assert nose["class_id"] == 0
    # Weighted mean: the 0.9 worker pulls the point to 50.5, not the plain mean 51.
    assert nose["x"] == pytest.approx(50.5)
    adjusted = KP.consolidate(
        [WorkerAnswer(1, points(("nose", 5, 5), initialValueModified=False))],
        CONFIG,
        {"adjustment": True},
    )
    assert adjusted.meta["adjustment-status"] == "unadjusted"


def test_end_to_end(engine):
    ref = engine.image("k.png", 200, 100)
    engine.dataset("kps", [{"id": "k", "source-ref": ref}])
    engine.job("faces", "keypoint", ["nose", "tail"], dataset="kps", workers_per_item=3)
    engine.work("faces", lambda w, item: points(("nose", 100 + w, 40)))
    (line,) = engine.export("faces")
    assert line["faces"]["annotations"] == [{"class_id": 0, "x": 101.0, "y": 40.0}]
    meta = line["faces-metadata"]
    assert meta["type"] == "groundtruth/keypoint" and meta["class-map"] == {"0": "nose"}
    assert 0.9 < meta["objects"][0]["confidence"] <= 1.0
