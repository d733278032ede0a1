import base64
import io

import numpy as np
import pytest
from PIL import Image

from truthset.consensus.spatial import PolygonConsolidator, mask_iou, rasterize_polygon
from truthset.consensus.spatial.polygons import mask_to_polygon

W, H = 80, 60


def square(x0, y0, x1, y1):
    return [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]


def answer(*polys):
    return {
        "polygons": [{"label": lab, "vertices": v} for lab, v in polys],
        "inputImageProperties": {"width": W, "height": H},
    }


def full(vertices):
    return rasterize_polygon(vertices, W, H).paste((H, W))


def test_rasterise_and_trace_round_trip():
    tri = [{"x": 10, "y": 5}, {"x": 60, "y": 20}, {"x": 25, "y": 50}]
    mask = rasterize_polygon(tri, W, H)
    back = full(mask_to_polygon(mask, tolerance=0.5))
    assert mask_iou(mask.paste((H, W)), back) > 0.97


def test_three_jittered_workers_give_one_instance_close_to_truth():
    truth = full(square(10, 10, 40, 40))
    answers = [
        answer(("cat", square(10, 10, 40, 40))),
        answer(("cat", square(12, 10, 42, 40))),
        answer(("cat", square(10, 11, 40, 41))),
    ]
    model = PolygonConsolidator(labels=["cat"]).fit(answers)
    assert len(model.label_["annotations"]) == 1
    ann = model.label_["annotations"][0]
    assert ann["class_id"] == 0 and len(ann["vertices"]) >= 4
    assert mask_iou(model.crops_[0].paste((H, W)), truth) > 0.95
    assert mask_iou(full(ann["vertices"]), truth) > 0.93
    assert 0.9 < model.confidences_[0] <= 1.0
    assert model.metadata_["class-map"] == {"0": "cat"}


def test_extra_polygon_by_one_worker_is_dropped_unless_min_support_allows():
    answers = [
        answer(("cat", square(10, 10, 40, 40)), ("cat", square(55, 40, 70, 55))),
        answer(("cat", square(10, 10, 40, 40))),
        answer(("cat", square(10, 10, 40, 40))),
    ]
    assert len(PolygonConsolidator().fit(answers).label_["annotations"]) == 1
    assert PolygonConsolidator().fit(answers).n_dropped_ == 1
    assert len(PolygonConsolidator(min_support=1).fit(answers).label_["annotations"]) == 2


def test_skill_weights_decide_the_pixels():
    a, b = square(10, 10, 30, 30), square(16, 10, 36, 30)
    answers = [answer(("cat", a)), answer(("cat", b))]
    equal = PolygonConsolidator().fit(answers)
    # equal weights: a pixel covered by one of two workers has share 0.5 >= vote_threshold
    assert mask_iou(equal.crops_[0].paste((H, W)), full(a) | full(b)) == 1.0
    model = PolygonConsolidator().fit(
        answers, worker_ids=["good", "poor"], skills={"good": 1.0, "poor": 0.3}
    )
    assert mask_iou(model.crops_[0].paste((H, W)), full(a)) == 1.0
    flipped = PolygonConsolidator().fit(
        answers, worker_ids=["good", "poor"], skills={"good": 0.3, "poor": 1.0}
    )
    assert mask_iou(flipped.crops_[0].paste((H, W)), full(b)) == 1.0


def test_instance_segmentation_answers():
    def png(instances):
        rgb = np.full((H, W, 3), 255, dtype=np.uint8)
        for (y0, y1, x0, x1), color in instances:
            rgb[y0:y1, x0:x1] = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="PNG")
        return base64.b64encode(buf.getvalue()).decode()

    def inst_answer(shift):
        return {
            "labeledImage": {
                "pngImageData": png(
                    [((10, 30, 10 + shift, 30 + shift), "#1f77b4"), ((40, 55, 50, 70), "#ff7f0e")]
                )
            },
            "instances": [
                {"color": "#1f77b4", "label": "cat"},
                {"color": "#ff7f0e", "label": "cat"},
            ],
        }

    model = PolygonConsolidator(labels=["cat"]).fit(
        [inst_answer(0), inst_answer(1), inst_answer(2)]
    )
    assert len(model.crops_) == 2
    assert model.image_size_ == (W, H)
    truth = np.zeros((H, W), bool)
    truth[10:30, 11:31] = True
    assert mask_iou(model.crops_[0].paste((H, W)), truth) == 1.0


def test_polygon_errors():
    with pytest.raises(ValueError, match=r"polygons\[0\]\.vertices: 2 vertices"):
        PolygonConsolidator().fit([answer(("cat", square(1, 1, 5, 5)[:2]))])
    with pytest.raises(ValueError, match="'dog'"):
        PolygonConsolidator(labels=["cat"]).fit([answer(("dog", square(1, 1, 5, 5)))])


def test_consolidated_instances_render_to_an_instance_png():
    from truthset.consensus.spatial.polygons import instance_crops, instances_to_png

    answers = [answer(("cat", square(10, 10, 30, 30)), ("cat", square(40, 20, 60, 50)))] * 2
    model = PolygonConsolidator(labels=["cat"]).fit(answers)
    png, instances = instances_to_png(model.crops_, ["cat", "cat"], model.image_size_)
    assert instances == [{"color": "#1f77b4", "label": "cat"}, {"color": "#ff7f0e", "label": "cat"}]
    payload = {
        "labeledImage": {"pngImageData": base64.b64encode(png).decode()},
        "instances": instances,
    }
    back = instance_crops(payload)
    for (label, crop), original in zip(back, model.crops_, strict=True):
        assert label == "cat"
        assert mask_iou(crop.paste((H, W)), original.paste((H, W))) == 1.0
