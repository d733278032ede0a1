"""Adjustment jobs: one rule for every type that supports them."""

import numpy as np
import pytest

from tasktypes.conftest import paint, rgb_png_b64
from truthset.tasktypes import WorkerAnswer, get_task_type

SIZE = {"width": 40, "height": 30}


def box(**extra):
    return {
        "boundingBoxes": [{"label": "a", "left": 1, "top": 1, "width": 5, "height": 5}],
        "inputImageProperties": SIZE,
        **extra,
    }


def polygon(**extra):
    vertices = [{"x": 1, "y": 1}, {"x": 9, "y": 1}, {"x": 9, "y": 9}]
    return {
        "polygons": [{"label": "a", "vertices": vertices}],
        "inputImageProperties": SIZE,
        **extra,
    }


def polyline(**extra):
    vertices = [{"x": 1, "y": 1}, {"x": 9, "y": 1}]
    return {
        "polylines": [{"label": "a", "vertices": vertices}],
        "inputImageProperties": SIZE,
        **extra,
    }


def keypoint(**extra):
    return {"keypoints": [{"label": "a", "x": 3, "y": 4}], "inputImageProperties": SIZE, **extra}


def mask(**extra):
    m = np.zeros((30, 40), dtype=np.uint8)
    m[2:8, 2:8] = 1
    return {
        "labeledImage": {"pngImageData": rgb_png_b64(paint(m, {1: "#1f77b4"}))},
        "labelMappings": {"a": {"color": "#1f77b4"}},
        "inputImageProperties": SIZE,
        **extra,
    }


def entities(**extra):
    return {"entities": [{"label": "a", "startOffset": 0, "endOffset": 5}], **extra}


CASES = {
    "bounding-box": box,
    "polygon": polygon,
    "instance-segmentation": polygon,
    "polyline": polyline,
    "keypoint": keypoint,
    "semantic-segmentation": mask,
    "named-entity-recognition": entities,
}
ITEM = {"source": "hello world"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_adjustment_status(name):
    task_type = get_task_type(name)
    assert task_type.supports_adjustment is True
    config = task_type.parse_label_config(["a"])
    make = CASES[name]
    validated = [
        task_type.validate_answer(make(initialValueModified=flag), config, ITEM)
        for flag in (False, True)
    ]
    assert [v["initialValueModified"] for v in validated] == [False, True]
    plain = task_type.validate_answer(make(), config, ITEM)
    assert "initialValueModified" not in plain

    def status(*contents, settings):
        answers = [WorkerAnswer(i, c) for i, c in enumerate(contents)]
        return task_type.consolidate(answers, config, settings).meta.get("adjustment-status")

    adjust = {"adjustment": True}
    assert status(validated[0], validated[0], settings=adjust) == "unadjusted"
    assert status(validated[0], validated[1], settings=adjust) == "adjusted"
    assert status(plain, settings=adjust) == "unadjusted"
    assert status(validated[1], settings={}) is None  # not an adjustment job


def test_types_without_adjustment():
    for name in ("label-verification", "audio-transcription"):
        assert get_task_type(name).supports_adjustment is False


def test_adjustment_job_chained_from_a_box_job(engine):
    ref = engine.image("adj.png", 40, 30)
    engine.dataset("adj", [{"id": "x", "source-ref": ref}])
    engine.job("bounding-box", "bounding-box", ["a"], dataset="adj")
    engine.work("bounding-box", lambda w, item: box(), workers=["w0"])
    engine.job(
        "adjust",
        "bounding-box",
        ["a"],
        input_job="bounding-box",
        label_attribute="adjusted-bounding-box",
        settings={"adjustment": True},
        workers_per_item=2,
    )

    def moved(w, item):
        answer = box(initialValueModified=w == 1)
        answer["boundingBoxes"][0]["left"] = 2
        return answer

    engine.work("adjust", moved, workers=["w0", "w1"])
    (line,) = engine.export("adjust")
    assert line["bounding-box"]["annotations"][0]["left"] == 1
    assert line["adjusted-bounding-box"]["annotations"][0]["left"] == 2
    meta = line["adjusted-bounding-box-metadata"]
    assert meta["adjustment-status"] == "adjusted"
    assert "adjustment-status" not in line["bounding-box-metadata"]
    assert set(meta) == {
        "objects",
        "class-map",
        "adjustment-status",
        "type",
        "job-name",
        "human-annotated",
        "creation-date",
    }


@pytest.mark.parametrize(
    "name", ["bounding-box", "polygon", "polyline", "keypoint", "named-entity-recognition"]
)
def test_initial_answer_round_trips_a_label(name):
    """An adjustment tool starts from the earlier label turned back into an answer."""
    task_type = get_task_type(name)
    config = task_type.parse_label_config(["z", "a"])
    answer = task_type.validate_answer(CASES[name](), config, ITEM)
    label = task_type.consolidate([WorkerAnswer(1, answer)], config, {})
    initial = task_type.initial_answer(label.value, label.meta, config)
    again = task_type.validate_answer(initial, config, ITEM)
    if name == "polygon":  # traced from the rasterised mask: the same square, not the same list
        xs = sorted({v["x"] for v in again["polygons"][0]["vertices"]})
        assert again["polygons"][0]["label"] == "a" and xs[0] <= 1.5 and xs[-1] >= 8.5
    else:
        assert again == answer


def test_initial_answer_of_a_mask_gives_its_colours():
    seg = get_task_type("semantic-segmentation")
    config = seg.parse_label_config(["a"])
    answer = seg.validate_answer(mask(), config, ITEM)
    label = seg.consolidate([WorkerAnswer(1, answer)], config, {})
    assert seg.initial_answer(label.value, label.meta, config) == {
        "labelMappings": {"a": {"color": "#1f77b4"}}
    }
