import numpy as np
import pytest

from tasktypes.conftest import rgb_png_b64
from tasktypes.gt_shapes import BOUNDING_BOX, assert_same_shape, type_meta
from truthset.errors import BadInput
from truthset.tasktypes import WorkerAnswer, get_task_type

POLYGON = get_task_type("polygon")
INSTANCE = get_task_type("instance-segmentation")
POLYLINE = get_task_type("polyline")
CONFIG = POLYGON.parse_label_config(["cat", "dog"])
SIZE = {"width": 100, "height": 80}
# Ours mirrors object detection: annotations carry vertices instead of a box.
POLYGON_LABEL = {
    "image_size": [{"width": 100, "height": 80, "depth": 3}],
    "annotations": [{"class_id": 0, "vertices": [{"x": 1.0, "y": 2.0}]}],
}
OBJECTS_META = type_meta(BOUNDING_BOX, "bounding-box-attribute-name")


def square(label, x, y, side):
    pts = [(x, y), (x + side, y), (x + side, y + side), (x, y + side)]
    return {"label": label, "vertices": [{"x": a, "y": b} for a, b in pts]}


def polygons(*shapes, **extra):
    return {"polygons": list(shapes), "inputImageProperties": SIZE, **extra}


def test_types_and_names():
    assert POLYGON.output_type == "groundtruth/polygon"
    assert INSTANCE.output_type == "groundtruth/instance-segmentation"
    assert POLYLINE.output_type == "groundtruth/polyline"
    assert not any(t.supports_auto_labeling for t in (POLYGON, INSTANCE, POLYLINE))


def test_valid_polygon_normalized(img):
    ref = img(100, 80)
    out = POLYGON.validate_answer(
        {"p": polygons(square("cat", 10, 10, 20.0))}, CONFIG, {"source-ref": ref}
    )
    assert out == {"polygons": [square("cat", 10, 10, 20)], "inputImageProperties": SIZE}


@pytest.mark.parametrize(
    ("ans", "message"),
    [
        (polygons(square("cow", 1, 1, 5)), r"answer\.polygons\[0\]\.label: 'cow' is not in"),
        (
            polygons(square("cat", 90, 1, 20)),
            r"answer\.polygons\[0\]\.vertices\[1\]\.x: 110 is"
            r" outside the image \(width 100\)",
        ),
        (
            polygons({"label": "cat", "vertices": [{"x": 1, "y": 1}, {"x": 2, "y": 2}]}),
            r"answer\.polygons\[0\]\.vertices: 2 vertices, need 3",
        ),
        (
            polygons(
                {"label": "cat", "vertices": [{"x": i % 50, "y": i % 7} for i in range(1001)]}
            ),
            r"answer\.polygons\[0\]\.vertices: 1001 vertices, at most 1000",
        ),
        (
            polygons(
                {"label": "cat", "vertices": [{"x": 1, "y": 1}, {"x": 2, "y": 2}, {"x": 3, "y": 3}]}
            ),
            r"answer\.polygons\[0\]\.vertices: the polygon has zero area",
        ),
        (
            polygons({"label": "cat", "vertices": [{"x": 1, "y": None}] * 3}),
            r"answer\.polygons\[0\]\.vertices\[0\]\.y: None is not a number",
        ),
    ],
)
def test_bad_polygons(img, ans, message):
    with pytest.raises(BadInput, match=message):
        POLYGON.validate_answer(ans, CONFIG, {"source-ref": img(100, 80)})


def test_polygon_consolidation_shape_and_vote():
    answers = [
        WorkerAnswer(1, polygons(square("cat", 10, 10, 40), square("dog", 60, 10, 20))),
        WorkerAnswer(2, polygons(square("cat", 12, 10, 40))),
        WorkerAnswer(3, polygons(square("cat", 10, 12, 40))),
    ]
    result = POLYGON.consolidate(answers, CONFIG, {})
    assert_same_shape(result.value, POLYGON_LABEL)
    assert_same_shape(result.meta, OBJECTS_META)
    # The dog was drawn by one worker of three: dropped.
    assert [a["class_id"] for a in result.value["annotations"]] == [0]
    assert result.meta["class-map"] == {"0": "cat"}
    xs = [v["x"] for v in result.value["annotations"][0]["vertices"]]
    ys = [v["y"] for v in result.value["annotations"][0]["vertices"]]
    assert min(xs) == pytest.approx(10, abs=1.5) and max(xs) == pytest.approx(50, abs=1.5)
    assert min(ys) == pytest.approx(10, abs=1.5) and max(ys) == pytest.approx(50, abs=1.5)
    assert 0.5 < result.meta["objects"][0]["confidence"] <= 1


def instance_answer(paint_cat=True, size=(100, 80), extra_color=None, instances=None):
    w, h = size
    px = np.full((h, w, 3), 255, dtype=np.uint8)
    if paint_cat:
        px[10:30, 10:40] = (31, 119, 180)
    px[40:60, 50:90] = (255, 127, 14)
    if extra_color:
        px[0, 0] = extra_color
    return {
        "labeledImage": {"pngImageData": rgb_png_b64(px)},
        "instances": instances
        or [{"color": "#1f77b4", "label": "cat"}, {"color": "#FF7F0E", "label": "dog"}],
        "inputImageProperties": SIZE,
    }


def test_instance_png_answer_validated_and_consolidated(img):
    ref = img(100, 80)
    out = INSTANCE.validate_answer({"inst": instance_answer()}, CONFIG, {"source-ref": ref})
    assert out["instances"][1] == {"color": "#ff7f0e", "label": "dog"}
    assert out["inputImageProperties"] == SIZE
    result = INSTANCE.consolidate([WorkerAnswer(i, out) for i in range(2)], CONFIG, {})
    assert_same_shape(result.value, POLYGON_LABEL)
    assert [a["class_id"] for a in result.value["annotations"]] == [0, 1]
    # Polygon answers are accepted by the instance type too.
    INSTANCE.validate_answer(polygons(square("cat", 1, 1, 5)), CONFIG, {"source-ref": ref})


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"size": (90, 80)},
            r"answer\.labeledImage\.pngImageData: mask is 90x80, the image is"
            r" 100x80",
        ),
        ({"extra_color": (1, 2, 3)}, r"colour #010203 is not the colour of an instance"),
        ({"paint_cat": False}, r"answer\.instances\[0\]\.color: #1f77b4 is not painted"),
        (
            {"instances": [{"color": "#1f77b4", "label": "cow"}]},
            r"answer\.instances\[0\]\.label: 'cow' is not in the label list",
        ),
        (
            {
                "instances": [
                    {"color": "#1f77b4", "label": "cat"},
                    {"color": "#1f77b4", "label": "dog"},
                ]
            },
            r"answer\.instances\[1\]\.color: #1f77b4 is also instances\[0\]'s colour",
        ),
        (
            {"instances": [{"color": "blue", "label": "cat"}]},
            r"answer\.instances\[0\]\.color: 'blue'",
        ),
    ],
)
def test_bad_instance_answers(img, kw, message):
    with pytest.raises(BadInput, match=message):
        INSTANCE.validate_answer(instance_answer(**kw), CONFIG, {"source-ref": img(100, 80)})


def test_instance_png_must_decode(img):
    ans = instance_answer()
    ans["labeledImage"]["pngImageData"] = "bm90IGEgcG5n"
    with pytest.raises(BadInput, match=r"answer\.labeledImage\.pngImageData: not a readable PNG"):
        INSTANCE.validate_answer(ans, CONFIG, {"source-ref": img(100, 80)})


def line(label, *pts):
    return {"label": label, "vertices": [{"x": x, "y": y} for x, y in pts]}


def test_polylines_and_lines(img):
    ref = img(100, 80)
    ok = POLYLINE.validate_answer(
        {"polylines": [line("cat", (0, 0), (50, 40), (99, 10))], "inputImageProperties": SIZE},
        CONFIG,
        {"source-ref": ref},
    )
    assert ok["polylines"][0]["vertices"][2] == {"x": 99, "y": 10}
    lines = POLYLINE.validate_answer(
        {"lines": [line("dog", (0, 0), (5, 5))]}, CONFIG, {"source-ref": ref}
    )
    assert set(lines) == {"lines", "inputImageProperties"}
    with pytest.raises(BadInput, match=r"answer\.lines\[0\]\.vertices: 3 vertices, need 2-2"):
        POLYLINE.validate_answer(
            {"lines": [line("dog", (0, 0), (5, 5), (6, 6))]}, CONFIG, {"source-ref": ref}
        )
    with pytest.raises(BadInput, match=r"answer\.polylines\[0\]\.vertices\[1\]\.y: 82 is outside"):
        POLYLINE.validate_answer(
            {"polylines": [line("dog", (0, 0), (5, 82))]}, CONFIG, {"source-ref": ref}
        )
    answers = [
        WorkerAnswer(
            i,
            {"polylines": [line("cat", (10, 10 + i), (90, 10 + i))], "inputImageProperties": SIZE},
        )
        for i in range(3)
    ]
    result = POLYLINE.consolidate(answers, CONFIG, {})
    assert_same_shape(result.value, POLYGON_LABEL)
    assert_same_shape(result.meta, OBJECTS_META)
    assert [v["y"] for v in result.value["annotations"][0]["vertices"]] == [11.0, 11.0]


def test_polygon_end_to_end(engine):
    ref = engine.image("p.png", 100, 80)
    engine.dataset("polys", [{"id": "p", "source-ref": ref, "keep": "me"}])
    engine.job("shapes", "polygon", ["cat", "dog"], dataset="polys", workers_per_item=2)
    engine.work(
        "shapes", lambda w, item: polygons(square("dog", 20 + w, 20, 30)), workers=["w0", "w1"]
    )
    (out,) = engine.export("shapes")
    assert out["keep"] == "me"
    assert_same_shape(out["shapes"], POLYGON_LABEL)
    meta = out["shapes-metadata"]
    assert set(meta) == {
        "objects",
        "class-map",
        "type",
        "job-name",
        "human-annotated",
        "creation-date",
    }
    assert meta["type"] == "groundtruth/polygon" and meta["class-map"] == {"1": "dog"}


def test_instance_segmentation_end_to_end(engine):
    ref = engine.image("i.png", 100, 80)
    engine.dataset("inst", [{"id": "i", "source-ref": ref}])
    engine.job(
        "inst-job", "instance-segmentation", ["cat", "dog"], dataset="inst", workers_per_item=2
    )
    engine.work("inst-job", lambda w, item: instance_answer(), workers=["w0", "w1"])
    (out,) = engine.export("inst-job")
    assert [a["class_id"] for a in out["inst-job"]["annotations"]] == [0, 1]
    assert out["inst-job-metadata"]["type"] == "groundtruth/instance-segmentation"


def test_polyline_end_to_end(engine):
    ref = engine.image("l.png", 100, 80)
    engine.dataset("lines", [{"id": "l", "source-ref": ref}])
    engine.job("lanes", "polyline", ["cat"], dataset="lines")
    engine.work(
        "lanes",
        lambda w, item: {
            "polylines": [line("cat", (1, 1), (50, 50))],
            "inputImageProperties": SIZE,
        },
        workers=["w0"],
    )
    (out,) = engine.export("lanes")
    assert out["lanes"]["annotations"] == [
        {"class_id": 0, "vertices": [{"x": 1.0, "y": 1.0}, {"x": 50.0, "y": 50.0}]}
    ]
    # One worker of unknown skill: the job's prior (0.5), not Ground Truth's 0.0.
    assert out["lanes-metadata"]["objects"] == [{"confidence": 0.5}]
