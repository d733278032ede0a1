import pytest

from tasktypes.gt_shapes import BOUNDING_BOX, assert_same_shape, type_meta
from truthset.errors import BadInput
from truthset.tasktypes import WorkerAnswer, get_task_type

BB = get_task_type("bounding-box")
CONFIG = BB.parse_label_config(
    {"document-version": "2018-11-28", "labels": [{"label": "dog"}, {"label": "bone"}]}
)
SIZE = {"width": 500, "height": 400}


def answer(*boxes, size=SIZE, **extra):
    return {
        "boundingBoxes": [
            {"label": lab, "left": x, "top": y, "width": w, "height": h}
            for lab, x, y, w, h in boxes
        ],
        "inputImageProperties": size,
        **extra,
    }


def test_registered_with_gt_type_and_auto_labeling():
    assert BB.output_type == "groundtruth/object-detection"
    assert BB.media == "image" and BB.supports_auto_labeling is True


def test_label_config_needs_one_label():
    assert BB.parse_label_config(["dog"]).labels == ("dog",)
    with pytest.raises(BadInput, match="at least 1 labels"):
        BB.parse_label_config({"labels": []})
    with pytest.raises(BadInput, match="appears twice"):
        BB.parse_label_config(["dog", "dog"])


def test_valid_answer_is_normalized(img):
    ref = img(500, 400)
    raw = {"box": answer(("dog", 10.0, 20, 30, 40), initialValueModified=True)}
    raw["box"]["boundingBoxes"][0]["extra"] = "dropped"
    out = BB.validate_answer(raw, CONFIG, {"source-ref": ref})
    assert out == {
        "boundingBoxes": [{"label": "dog", "left": 10, "top": 20, "width": 30, "height": 40}],
        "inputImageProperties": SIZE,
        "initialValueModified": True,
    }


@pytest.mark.parametrize(
    ("ans", "message"),
    [
        (answer(("cat", 1, 1, 5, 5)), r"answer\.boundingBoxes\[0\]\.label: 'cat' is not in"),
        (
            answer(("dog", 480, 1, 30, 5)),
            r"answer\.boundingBoxes\[0\]\.width: left 480 \+ width 30"
            r" is outside the image \(width 500\)",
        ),
        (answer(("dog", 1, -5, 3, 3)), r"answer\.boundingBoxes\[0\]\.top: -5 is outside"),
        (answer(("dog", 1, 1, 0, 5)), r"answer\.boundingBoxes\[0\]\.width: 0 must be positive"),
        (answer(("dog", float("nan"), 1, 3, 5)), r"answer\.boundingBoxes\[0\]\.left: nan is not"),
        (answer(("dog", "7", 1, 3, 5)), r"answer\.boundingBoxes\[0\]\.left: '7' is not a number"),
        (
            answer(size={"width": 510, "height": 400}),
            r"answer\.inputImageProperties\.width: 510 differs from the image's width 500",
        ),
        (answer(initialValueModified="yes"), r"answer\.initialValueModified: 'yes' is not"),
        ({"boundingBoxes": "x", "inputImageProperties": SIZE}, r"answer\.boundingBoxes: 'x'"),
        ({"label": "dog"}, r"answer\.boundingBoxes: missing"),
        (answer(*[("dog", 1, 1, 2, 2)] * 1001), r"answer\.boundingBoxes: 1001 objects, at most"),
    ],
)
def test_bad_answers_name_field_and_value(img, ans, message):
    ref = img(500, 400)
    with pytest.raises(BadInput, match=message):
        BB.validate_answer(ans, CONFIG, {"source-ref": ref})


def test_real_image_size_wins_with_one_pixel_tolerance(img, tmp_path):
    ref = img(500, 400)
    out = BB.validate_answer(
        answer(("dog", 0, 0, 500.5, 401), size={"width": 501, "height": 399}),
        CONFIG,
        {"source-ref": ref},
    )
    assert out["inputImageProperties"] == SIZE
    # Without a readable image the answer's own size is used (and required).
    out = BB.validate_answer(
        answer(("dog", 1, 1, 2, 2), size={"width": 64, "height": 48}),
        CONFIG,
        {"source-ref": str(tmp_path / "missing.png")},
    )
    assert out["inputImageProperties"] == {"width": 64, "height": 48}
    with pytest.raises(BadInput, match=r"answer\.inputImageProperties: missing"):
        BB.validate_answer({"boundingBoxes": []}, CONFIG, {"source-ref": "/nowhere.png"})


def test_box_outside_the_real_image_is_refused_even_if_the_answer_claims_a_bigger_one(img):
    ref = img(100, 80)
    with pytest.raises(BadInput, match=r"inputImageProperties\.width: 500 differs"):
        BB.validate_answer(answer(("dog", 150, 10, 20, 20)), CONFIG, {"source-ref": ref})


def test_consolidation_matches_ground_truth_shape():
    answers = [
        WorkerAnswer(1, answer(("dog", 111, 134, 61, 128), ("bone", 161, 250, 30, 30))),
        WorkerAnswer(2, answer(("dog", 113, 134, 59, 128), ("bone", 161, 250, 30, 30))),
        WorkerAnswer(3, answer(("bone", 161, 252, 30, 28))),
    ]
    result = BB.consolidate(answers, CONFIG, {})
    ref_value = BOUNDING_BOX["bounding-box-attribute-name"]
    assert_same_shape(result.value, ref_value)
    assert_same_shape(result.meta, type_meta(BOUNDING_BOX, "bounding-box-attribute-name"))
    assert result.value["image_size"] == [{"width": 500, "height": 400, "depth": 3}]
    assert [a["class_id"] for a in result.value["annotations"]] == [0, 1]
    assert result.meta["class-map"] == {"0": "dog", "1": "bone"}
    assert result.value["annotations"][0] == {
        "class_id": 0,
        "left": 112,
        "top": 134,
        "width": 60,
        "height": 128,
    }
    conf = [o["confidence"] for o in result.meta["objects"]]
    # The dog box was drawn by 2 of 3 workers: its confidence is under 2/3.
    assert conf[0] < 2 / 3 < conf[1]
    assert 0 < result.confidence < 1


def test_weights_decide_between_disagreeing_workers():
    a = WorkerAnswer(1, answer(("dog", 10, 10, 50, 50)), weight=1.0)
    b = WorkerAnswer(2, answer(), weight=0.2)
    c = WorkerAnswer(3, answer(), weight=0.2)
    kept = BB.consolidate([a, b, c], CONFIG, {})
    assert len(kept.value["annotations"]) == 1
    dropped = BB.consolidate(
        [a, b.__class__(2, b.content, 1.0), c.__class__(3, c.content, 1.0)], CONFIG, {}
    )
    assert dropped.value["annotations"] == []
    assert dropped.meta == {"objects": [], "class-map": {}}
    # Workers agree the image is empty (2 of 3 by weight): that agreement is the confidence.
    assert dropped.confidence == pytest.approx(2 / 3, abs=1e-3)


def test_workers_disagreeing_on_an_unreadable_image_size_do_not_break_consolidation():
    other = {"width": 250, "height": 200}
    answers = [
        WorkerAnswer(1, answer(("dog", 10, 10, 50, 50))),
        WorkerAnswer(2, answer(("dog", 10, 10, 50, 50))),
        WorkerAnswer(3, answer(("dog", 5, 5, 25, 25), size=other)),
    ]
    result = BB.consolidate(answers, CONFIG, {})
    assert result.value["image_size"] == [{"width": 500, "height": 400, "depth": 3}]


def test_single_worker_confidence_is_the_workers_skill_or_the_jobs_prior():
    result = BB.consolidate([WorkerAnswer(1, answer(("dog", 1, 1, 9, 9)))], CONFIG, {})
    assert result.confidence == 0.5  # the label: skill unknown, the default prior
    # Each object too (Ground Truth gives 0.0, which sends every object to review).
    assert result.meta["objects"] == [{"confidence": 0.5}]
    skilled = BB.consolidate([WorkerAnswer(1, answer(("dog", 1, 1, 9, 9)), 0.85)], CONFIG, {})
    assert skilled.confidence == 0.85
    assert skilled.meta["objects"] == [{"confidence": 0.85}]
    two = [WorkerAnswer(w, answer(("dog", 1, 1, 9, 9))) for w in (1, 2)]
    assert BB.consolidate(two, CONFIG, {}).meta["objects"][0]["confidence"] > 0.9  # agreement
    prior = {"quality": {"prior_skill": 0.75}}
    one = [WorkerAnswer(1, answer(("dog", 1, 1, 9, 9)))]
    assert BB.consolidate(one, CONFIG, prior).confidence == 0.75


def test_end_to_end_through_the_work_engine(engine):
    refs = [engine.image(f"img{i}.png", 500, 400) for i in range(2)]
    engine.dataset("imgs", [{"id": f"i{i}", "source-ref": r} for i, r in enumerate(refs)])
    engine.job("boxes", "bounding-box", ["dog", "bone"], dataset="imgs", workers_per_item=3)

    # Each worker draws the dog slightly differently; only worker 0 sees the bone.
    def draw(w, item):
        boxes = [("dog", 111 + w, 134, 61, 128)]
        if w == 0:
            boxes.append(("bone", 161, 250, 30, 30))
        return answer(*boxes)

    results = engine.work("boxes", draw)
    assert sum(r.task_complete for r in results) == 2
    lines = engine.export("boxes")
    assert len(lines) == 2
    for line, ref in zip(lines, refs, strict=True):
        assert line["source-ref"] == ref
        assert_same_shape(line["boxes"], BOUNDING_BOX["bounding-box-attribute-name"])
        assert_same_shape(
            line["boxes-metadata"], BOUNDING_BOX["bounding-box-attribute-name-metadata"]
        )
        assert line["boxes"]["annotations"] == [
            {"class_id": 0, "left": 112, "top": 134, "width": 61, "height": 128}
        ]
        assert line["boxes-metadata"]["class-map"] == {"0": "dog"}
        assert line["boxes-metadata"]["type"] == "groundtruth/object-detection"
        assert line["boxes-metadata"]["human-annotated"] == "yes"


def test_engine_refuses_a_bad_answer_and_records_nothing(engine):
    ref = engine.image("x.png", 50, 40)
    engine.dataset("one", [{"id": "x", "source-ref": ref}])
    engine.job("b1", "bounding-box", ["dog"], dataset="one")
    with pytest.raises(BadInput, match=r"boundingBoxes\[0\]\.height: top 30 \+ height 20"):
        engine.submit_one(
            "b1", "w0", answer(("dog", 1, 30, 5, 20), size={"width": 50, "height": 40})
        )
    assert engine.labels("b1") == []
