"""Attribute values in worker answers (label-category-attributes per object, frame
attributes per image), their consolidation, and the label Ground Truth-style output."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tasktypes.conftest import rgb_png_b64
from truthset.errors import BadInput
from truthset.tasktypes import WorkerAnswer, get_task_type
from truthset.tasktypes._attribute_answers import majority

BB = get_task_type("bounding-box")
SIZE = {"width": 500, "height": 400}
RAW_CONFIG: dict[str, Any] = {
    "documentVersion": "2020-03-01",
    "categoryGlobalAttributes": [
        {"name": "truncated", "type": "string", "enum": ["yes", "no"]},
    ],
    "labels": [
        {
            "label": "Car",
            "categoryAttributes": [
                {
                    "name": "occluded",
                    "type": "string",
                    "enum": ["none", "partly", "fully"],
                    "isRequired": True,
                },
                {"name": "doors", "type": "number", "minimum": 2, "maximum": 5},
                {"name": "note", "type": "string"},
            ],
        },
        {"label": "Person"},
    ],
    "frameAttributes": [
        {"name": "weather", "description": "the sky", "type": "string", "enum": ["sun", "rain"]},
        {"name": "comment", "description": "anything", "type": "string"},
        {"name": "people", "description": "how many", "type": "number", "minimum": 0},
    ],
}
CONFIG = BB.parse_label_config(RAW_CONFIG)


def box(label: str, left: int, top: int, **attrs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"label": label, "left": left, "top": top, "width": 40, "height": 30}
    if attrs:
        out["label-category-attributes"] = attrs
    return out


def answer(*boxes: dict[str, Any], frame: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"boundingBoxes": list(boxes), "inputImageProperties": SIZE}
    if frame is not None:
        out["frame-attributes"] = frame
    return out


def test_values_are_checked_and_kept_with_each_object():
    raw = answer(
        box("Car", 10, 10, occluded="partly", doors=4.0, note="dented", truncated="no"),
        box("Person", 100, 100, truncated="yes"),
        box("Person", 200, 100),
        frame={"weather": "rain", "comment": "", "people": 3},
    )
    out = BB.validate_answer(raw, CONFIG, {})
    assert out["boundingBoxes"][0]["label-category-attributes"] == {
        "occluded": "partly",
        "doors": 4,  # a whole float is stored as an int, as coordinates are
        "note": "dented",
        "truncated": "no",
    }
    assert out["boundingBoxes"][1]["label-category-attributes"] == {"truncated": "yes"}
    assert "label-category-attributes" not in out["boundingBoxes"][2]
    # an empty free text is a value not given
    assert out["frame-attributes"] == {"weather": "rain", "people": 3}


def test_an_answer_without_attributes_is_stored_as_before():
    plain = BB.parse_label_config(["Car"])
    raw = answer(box("Car", 10, 10))
    out = BB.validate_answer(raw, plain, {})
    assert out == {"boundingBoxes": [box("Car", 10, 10)], "inputImageProperties": SIZE}
    assert BB.validate_answer(answer(box("Car", 10, 10), frame={}), plain, {}) == out


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            answer(box("Car", 1, 1, occluded="maybe")),
            r"answer\.boundingBoxes\[0\]\.label-category-attributes\.occluded: 'maybe' is not"
            r" one of \['none', 'partly', 'fully'\]",
        ),
        (
            answer(box("Car", 1, 1)),
            r"answer\.boundingBoxes\[0\]\.label-category-attributes\.occluded: missing; label"
            r" 'Car' requires it",
        ),
        (
            answer(box("Car", 1, 1, occluded=None)),
            r"label-category-attributes\.occluded: missing",
        ),
        (
            answer(box("Car", 1, 1, occluded="none", colour="red")),
            r"answer\.boundingBoxes\[0\]\.label-category-attributes\.colour: not an attribute"
            r" of label 'Car' \(its attributes: truncated, occluded, doors, note\)",
        ),
        (
            answer(box("Person", 1, 1, occluded="none")),
            r"answer\.boundingBoxes\[0\]\.label-category-attributes\.occluded: not an attribute"
            r" of label 'Person' \(its attributes: truncated\)",
        ),
        (
            answer(box("Car", 1, 1, occluded="none", doors=6)),
            r"label-category-attributes\.doors: 6 is above the maximum 5",
        ),
        (
            answer(box("Car", 1, 1, occluded="none", doors=1.5)),
            r"label-category-attributes\.doors: 1\.5 is below the minimum 2",
        ),
        (
            answer(box("Car", 1, 1, occluded="none", doors="4")),
            r"label-category-attributes\.doors: '4' is not a number",
        ),
        (
            answer(box("Car", 1, 1, occluded="none", doors=True)),
            r"label-category-attributes\.doors: True is not a number",
        ),
        (
            answer(box("Car", 1, 1, occluded=1)),
            r"label-category-attributes\.occluded: 1 is not text",
        ),
        (
            answer(box("Car", 1, 1, occluded="none", note="n" * 81)),
            r"label-category-attributes\.note: 81 characters, at most 80 are allowed",
        ),
        (
            {
                **answer(box("Car", 1, 1)),
                "boundingBoxes": [{**box("Car", 1, 1), "label-category-attributes": ["none"]}],
            },
            r"answer\.boundingBoxes\[0\]\.label-category-attributes: \['none'\] is not an"
            r" object of attribute values",
        ),
        (
            answer(frame={"weather": "snow"}),
            r"answer\.frame-attributes\.weather: 'snow' is not one of \['sun', 'rain'\]",
        ),
        (
            answer(frame={"comment": "c" * 1001}),
            r"answer\.frame-attributes\.comment: 1001 characters, at most 1000 are allowed",
        ),
        (
            answer(frame={"people": -1}),
            r"answer\.frame-attributes\.people: -1 is below the minimum 0",
        ),
        (
            answer(frame={"time": "noon"}),
            r"answer\.frame-attributes\.time: not an attribute of the image \(frameAttributes\)"
            r" \(its attributes: weather, comment, people\)",
        ),
        (answer(frame="sunny"), r"answer\.frame-attributes: 'sunny' is not an object"),
    ],
)
def test_bad_values_name_the_field_and_value(raw, message):
    with pytest.raises(BadInput, match=message):
        BB.validate_answer(raw, CONFIG, {})


def test_long_free_text_is_taken_up_to_the_limits():
    raw = answer(box("Car", 1, 1, occluded="none", note="n" * 80), frame={"comment": "c" * 1000})
    out = BB.validate_answer(raw, CONFIG, {})
    assert len(out["boundingBoxes"][0]["label-category-attributes"]["note"]) == 80
    assert len(out["frame-attributes"]["comment"]) == 1000


def test_required_frame_attributes_and_configs_without_attributes():
    raw = copy.deepcopy(RAW_CONFIG)
    raw["frameAttributes"][0]["isRequired"] = True
    config = BB.parse_label_config(raw)
    with pytest.raises(BadInput, match=r"answer\.frame-attributes\.weather: missing; the image"):
        BB.validate_answer(answer(), config, {})
    plain = BB.parse_label_config(["Car"])
    with pytest.raises(
        BadInput,
        match=r"label-category-attributes\.occluded: not an attribute of label 'Car'"
        r" \(its attributes: none\)",
    ):
        BB.validate_answer(answer(box("Car", 1, 1, occluded="none")), plain, {})


def test_majority_ties_go_to_the_first_value():
    assert majority([("a", 1.0), ("b", 1.0)]) == "a"
    assert majority([("a", 1.0), ("b", 1.0), ("b", 0.5)]) == "b"
    assert majority([("a", 0.4), ("b", 1.0)]) == "b"


def consolidate(*answers: dict[str, Any], weights: list[float] | None = None) -> Any:
    weights = weights or [1.0] * len(answers)
    contents = [BB.validate_answer(a, CONFIG, {}) for a in answers]
    return BB.consolidate(
        [WorkerAnswer(i + 1, c, w) for i, (c, w) in enumerate(zip(contents, weights, strict=True))],
        CONFIG,
        {},
    )


def test_consolidation_takes_the_majority_among_the_matched_objects():
    result = consolidate(
        answer(
            box("Car", 10, 10, occluded="partly", doors=4),
            box("Person", 300, 200, truncated="yes"),
            frame={"weather": "rain", "people": 2},
        ),
        answer(
            box("Car", 11, 10, occluded="fully", doors=4, note="x"),
            box("Person", 301, 201),
            frame={"weather": "sun", "people": 2},
        ),
        answer(
            box("Car", 10, 11, occluded="fully", truncated="no"),
            frame={"weather": "sun", "comment": "windy"},
        ),
    )
    annotations = result.value["annotations"]
    assert [a["class_id"] for a in annotations] == [0, 1]
    car, person = annotations
    # occluded: fully 2 : partly 1; doors from the two who gave it; note and truncated from
    # the one worker each who gave them
    assert car["label-category-attributes"] == {
        "occluded": "fully",
        "doors": 4,
        "note": "x",
        "truncated": "no",
    }
    assert person["label-category-attributes"] == {"truncated": "yes"}
    assert result.meta["dataset-object-attributes"] == {
        "weather": "sun",
        "people": 2,
        "comment": "windy",
    }


def test_a_tie_goes_to_the_first_worker_and_weights_count():
    a = answer(box("Car", 10, 10, occluded="partly"), frame={"weather": "rain"})
    b = answer(box("Car", 10, 10, occluded="fully"), frame={"weather": "sun"})
    tie = consolidate(a, b)
    assert tie.value["annotations"][0]["label-category-attributes"] == {"occluded": "partly"}
    assert tie.meta["dataset-object-attributes"] == {"weather": "rain"}
    heavier = consolidate(a, b, weights=[0.5, 1.0])
    assert heavier.value["annotations"][0]["label-category-attributes"] == {"occluded": "fully"}
    assert heavier.meta["dataset-object-attributes"] == {"weather": "sun"}


def test_the_label_is_ground_truth_shaped_and_unchanged_without_attributes():
    """The export line's value and metadata: object detection's keys, each annotation
    with its label-category-attributes (empty when no worker gave one), the frame
    attributes under dataset-object-attributes."""
    result = consolidate(answer(box("Car", 10, 10, occluded="none"), box("Person", 300, 200)))
    assert result.value == {
        "image_size": [{"width": 500, "height": 400, "depth": 3}],
        "annotations": [
            {
                "class_id": 0,
                "left": 10,
                "top": 10,
                "width": 40,
                "height": 30,
                "label-category-attributes": {"occluded": "none"},
            },
            {
                "class_id": 1,
                "left": 300,
                "top": 200,
                "width": 40,
                "height": 30,
                "label-category-attributes": {},
            },
        ],
    }
    assert result.meta == {
        # One worker: each object carries the worker's skill or the job's prior (0.5).
        "objects": [{"confidence": 0.5}, {"confidence": 0.5}],
        "class-map": {"0": "Car", "1": "Person"},
        "dataset-object-attributes": {},
    }
    plain = BB.parse_label_config(["Car"])
    content = BB.validate_answer(answer(box("Car", 10, 10)), plain, {})
    result = BB.consolidate([WorkerAnswer(1, content)], plain, {})
    assert result.value["annotations"] == [
        {"class_id": 0, "left": 10, "top": 10, "width": 40, "height": 30}
    ]
    assert "dataset-object-attributes" not in result.meta


def test_an_adjustment_job_starts_from_the_earlier_values():
    result = consolidate(
        answer(box("Car", 10, 10, occluded="partly", doors=3), frame={"weather": "sun"})
    )
    initial = BB.initial_answer(result.value, result.meta, CONFIG)
    assert initial["boundingBoxes"] == [box("Car", 10, 10, occluded="partly", doors=3)]
    assert initial["frame-attributes"] == {"weather": "sun"}
    assert BB.validate_answer(initial, CONFIG, {})["boundingBoxes"] == initial["boundingBoxes"]


POINT_CONFIG = {
    "documentVersion": "2020-03-01",
    "labels": [
        {
            "label": "eye",
            "categoryAttributes": [{"name": "side", "type": "string", "enum": ["l", "r"]}],
        }
    ],
    "frameAttributes": [{"name": "pose", "description": "d", "type": "string"}],
}


@pytest.mark.parametrize(
    ("name", "obj_a", "obj_b"),
    [
        (
            "keypoint",
            {"label": "eye", "x": 10, "y": 10},
            {"label": "eye", "x": 11, "y": 10},
        ),
        (
            "polygon",
            {
                "label": "eye",
                "vertices": [{"x": 10, "y": 10}, {"x": 60, "y": 10}, {"x": 60, "y": 60}],
            },
            {
                "label": "eye",
                "vertices": [{"x": 11, "y": 10}, {"x": 60, "y": 11}, {"x": 60, "y": 60}],
            },
        ),
        (
            "polyline",
            {"label": "eye", "vertices": [{"x": 10, "y": 10}, {"x": 60, "y": 40}]},
            {"label": "eye", "vertices": [{"x": 10, "y": 11}, {"x": 60, "y": 41}]},
        ),
    ],
)
def test_keypoints_polygons_and_polylines_carry_attributes_too(name, obj_a, obj_b):
    task_type = get_task_type(name)
    config = task_type.parse_label_config(POINT_CONFIG)
    key = {"keypoint": "keypoints", "polygon": "polygons", "polyline": "polylines"}[name]

    def ans(obj: dict[str, Any], side: str, pose: str) -> dict[str, Any]:
        return {
            key: [{**obj, "label-category-attributes": {"side": side}}],
            "inputImageProperties": {"width": 100, "height": 80},
            "frame-attributes": {"pose": pose},
        }

    with pytest.raises(BadInput, match=rf"answer\.{key}\[0\]\.label-category-attributes\.side"):
        task_type.validate_answer(ans(obj_a, "x", "up"), config, {})
    contents = [
        task_type.validate_answer(ans(obj_a, "l", "up"), config, {}),
        task_type.validate_answer(ans(obj_b, "r", "down"), config, {}),
        task_type.validate_answer(ans(obj_b, "r", "down"), config, {}),
    ]
    assert contents[0][key][0]["label-category-attributes"] == {"side": "l"}
    result = task_type.consolidate([WorkerAnswer(i, c) for i, c in enumerate(contents)], config, {})
    (annotation,) = result.value["annotations"]
    assert annotation["label-category-attributes"] == {"side": "r"}
    assert result.meta["dataset-object-attributes"] == {"pose": "down"}


def test_instance_segmentation_instances_carry_attributes():
    import numpy as np

    task_type = get_task_type("instance-segmentation")
    config = task_type.parse_label_config(POINT_CONFIG)
    pixels = np.full((80, 100, 3), 255, dtype=np.uint8)
    pixels[10:40, 10:40] = (31, 119, 180)
    raw = {
        "labeledImage": {"pngImageData": rgb_png_b64(pixels)},
        "instances": [
            {"color": "#1f77b4", "label": "eye", "label-category-attributes": {"side": "r"}}
        ],
        "inputImageProperties": {"width": 100, "height": 80},
        "frame-attributes": {"pose": "up"},
    }
    content = task_type.validate_answer(raw, config, {})
    assert content["instances"][0]["label-category-attributes"] == {"side": "r"}
    assert content["frame-attributes"] == {"pose": "up"}
    result = task_type.consolidate([WorkerAnswer(1, content)], config, {})
    assert result.value["annotations"][0]["label-category-attributes"] == {"side": "r"}
    bad = copy.deepcopy(raw)
    bad["instances"][0]["label-category-attributes"] = {"side": "up"}
    with pytest.raises(BadInput, match=r"answer\.instances\[0\]\.label-category-attributes\.side"):
        task_type.validate_answer(bad, config, {})


def test_export_line_through_the_work_engine(engine):
    """Three workers answer through the work engine; the exported Ground Truth line holds
    the consolidated values where Ground Truth writes them."""
    ref = engine.image("street.png", 500, 400)
    engine.dataset("streets", [{"id": "s1", "source-ref": ref}])
    engine.job("cars", "bounding-box", RAW_CONFIG, dataset="streets", workers_per_item=3)
    occluded = ["partly", "fully", "fully"]
    weather = ["rain", "rain", "sun"]

    def draw(w: int, item: dict[str, Any]) -> dict[str, Any]:
        return answer(box("Car", 50 + w, 60, occluded=occluded[w]), frame={"weather": weather[w]})

    engine.work("cars", draw)
    (line,) = engine.export("cars")
    assert line["cars"]["annotations"] == [
        {
            "class_id": 0,
            "left": 51,
            "top": 60,
            "width": 40,
            "height": 30,
            "label-category-attributes": {"occluded": "fully"},
        }
    ]
    meta = line["cars-metadata"]
    assert meta["type"] == "groundtruth/object-detection"
    assert meta["dataset-object-attributes"] == {"weather": "rain"}
    assert meta["class-map"] == {"0": "Car"}
    # a worker answer refused by the engine for a missing required value
    engine.dataset("one", [{"id": "o1", "source-ref": ref}])
    engine.job("cars2", "bounding-box", RAW_CONFIG, dataset="one")
    with pytest.raises(BadInput, match=r"occluded: missing; label 'Car' requires it"):
        engine.submit_one("cars2", "w0", answer(box("Car", 1, 1)))
    assert engine.labels("cars2") == []
