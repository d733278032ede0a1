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
