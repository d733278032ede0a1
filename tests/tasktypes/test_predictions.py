"""A model's prediction read in the worker-answer shape, from either of its two shapes."""

from __future__ import annotations

import pytest

from truthset.errors import BadInput
from truthset.tasktypes import get_task_type
from truthset.tasktypes.predictions import item_prediction, predicted_answer


def answer(task_type: str, labels, value, meta=None):
    tt = get_task_type(task_type)
    return predicted_answer(tt, value, meta or {}, tt.parse_label_config(labels))


def test_the_answer_shape_is_kept_as_given():
    boxes = {"boundingBoxes": [], "inputImageProperties": {"width": 3, "height": 2}}
    assert answer("bounding-box", ["car"], boxes) is boxes
    assert answer("image-classification", ["a", "b"], {"label": "b"}) == {"label": "b"}
    assert answer("audio-transcription", [], {"transcription": "hi"}) == {"transcription": "hi"}


def test_class_ids_are_named_by_the_metadata_before_the_label_order():
    # Ground Truth's class ids need not follow the job's label file.
    assert answer("text-classification", ["a", "b"], 0, {"class-name": "b"}) == {"label": "b"}
    assert answer("text-classification", ["a", "b"], 0) == {"label": "a"}
    assert answer("text-classification", ["a", "b"], "b") == {"label": "b"}  # a bare name
    got = answer(
        "text-classification-multilabel", ["a", "b", "c"], [7, 1], {"class-map": {"7": "c"}}
    )
    assert got == {"labels": ["c", "b"]}
    boxes = answer(
        "bounding-box",
        ["car", "dog"],
        {
            "image_size": [{"width": 9, "height": 9, "depth": 3}],
            "annotations": [{"class_id": 0, "left": 1, "top": 1, "width": 2, "height": 2}],
        },
        {"class-map": {"0": "dog"}},
    )
    assert boxes["boundingBoxes"][0]["label"] == "dog"


def test_what_cannot_be_read_as_the_output_stays_as_given_and_validation_refuses_it():
    tt = get_task_type("image-classification")
    config = tt.parse_label_config(["a", "b"])
    for bad in (5, True, [0], {"annotations": []}):
        got = predicted_answer(tt, bad, {}, config)
        assert got == bad
        with pytest.raises(BadInput):
            tt.validate_answer(got, config, {})
    no_size = {"annotations": [{"class_id": 0, "left": 1, "top": 1, "width": 2, "height": 2}]}
    assert answer("bounding-box", ["car"], no_size) is no_size
    assert answer("text-classification-multilabel", ["a", "b"], [0, 4]) == [0, 4]


def test_a_mask_location_is_left_as_is():
    ref = "s3://bucket/masks/0.png"
    assert answer("semantic-segmentation", ["cat"], ref) == ref


def test_an_item_without_a_prediction_has_none():
    tt = get_task_type("text-classification")
    config = tt.parse_label_config(["a", "b"])
    assert item_prediction(tt, {"source": "x"}, "j", config) is None
    item = {"source": "x", "j-prediction": 1, "j-prediction-metadata": {"class-name": "a"}}
    assert item_prediction(tt, item, "j", config) == {"label": "a"}
    # Another attribute's prediction is not this job's.
    assert item_prediction(tt, item, "k", config) is None
