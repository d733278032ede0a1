import pytest

from tasktypes.gt_shapes import VERIFICATION, assert_same_shape, type_meta
from truthset.errors import BadInput
from truthset.tasktypes import WorkerAnswer, get_task_type

V = get_task_type("label-verification")
CONFIG = V.parse_label_config(["good", "bad"])
ATTR = "verify-bounding-box-attribute-name"


def test_type_facts_and_config():
    assert V.output_type == "groundtruth/label-verification"
    assert not V.supports_auto_labeling
    with pytest.raises(BadInput, match="at least 2 labels"):
        V.parse_label_config(["good"])


def test_validation():
    assert V.validate_answer({"label": "bad", "comment": "  too wide "}, CONFIG, {}) == {
        "label": "bad",
        "comment": "too wide",
    }
    assert V.validate_answer({"label": "good", "comment": "   "}, CONFIG, {}) == {"label": "good"}
    assert V.validate_answer({"label": "good", "comment": None}, CONFIG, {}) == {"label": "good"}
    with pytest.raises(BadInput, match=r"answer\.label: 'fine' is not one of the verdicts"):
        V.validate_answer({"label": "fine"}, CONFIG, {})
    with pytest.raises(BadInput, match=r"answer\.comment: 1001 characters, at most 1000"):
        V.validate_answer({"label": "bad", "comment": "x" * 1001}, CONFIG, {})
    with pytest.raises(BadInput, match=r"answer\.comment: 5 is not text"):
        V.validate_answer({"label": "bad", "comment": 5}, CONFIG, {})
    with pytest.raises(BadInput, match="answer must be an object"):
        V.validate_answer({"label": "bad", "rating": 5}, CONFIG, {})


def test_consolidation_matches_gt_and_keeps_comments():
    answers = [
        WorkerAnswer(1, {"label": "bad", "comment": "The box on the bird is too wide."}),
        WorkerAnswer(2, {"label": "bad"}),
        WorkerAnswer(3, {"label": "good", "comment": "fine by me"}),
    ]
    result = V.consolidate(answers, CONFIG, {})
    assert_same_shape(result.meta, type_meta(VERIFICATION, ATTR))
    assert_same_shape(result.value, VERIFICATION[ATTR])
    assert result.value == "1"
    assert result.meta == {
        "class-name": "bad",
        "confidence": 0.67,
        "worker-feedback": [
            {"comment": "The box on the bird is too wide."},
            {"comment": "fine by me"},
        ],
    }
    single = V.consolidate(answers[1:2], CONFIG, {})
    assert single.meta == {"class-name": "bad", "confidence": 0.0, "worker-feedback": []}


def test_weighted_vote():
    answers = [
        WorkerAnswer(1, {"label": "good"}, weight=1.0),
        WorkerAnswer(2, {"label": "bad"}, weight=0.3),
        WorkerAnswer(3, {"label": "bad"}, weight=0.3),
    ]
    result = V.consolidate(answers, CONFIG, {})
    assert result.meta["class-name"] == "good" and result.confidence == 0.62


def box_answer(left):
    return {
        "boundingBoxes": [{"label": "bird", "left": left, "top": 10, "width": 20, "height": 20}],
        "inputImageProperties": {"width": 64, "height": 48},
    }


def test_verification_job_chained_from_a_box_job(engine):
    refs = [engine.image(f"v{i}.png", 64, 48) for i in range(2)]
    engine.dataset("birds", [{"id": f"b{i}", "source-ref": r} for i, r in enumerate(refs)])
    engine.job("boxes", "bounding-box", ["bird"], dataset="birds")
    engine.work("boxes", lambda w, item: box_answer(5), workers=["w0"])
    engine.job(
        "verify",
        "label-verification",
        ["good", "bad"],
        input_job="boxes",
        label_attribute=ATTR,
        workers_per_item=3,
    )
    verdicts = [
        {"label": "bad", "comment": "The bounding box on the bird is too wide."},
        {"label": "bad", "comment": ""},
        {"label": "good"},
    ]
    engine.work("verify", lambda w, item: verdicts[w])
    lines = engine.export("verify")
    assert len(lines) == 2
    for line in lines:
        assert line["boxes"]["annotations"][0]["left"] == 5  # the verified label is kept
        assert_same_shape(
            {ATTR: line[ATTR], f"{ATTR}-metadata": line[f"{ATTR}-metadata"]}, VERIFICATION
        )
        assert line[ATTR] == "1"
        meta = line[f"{ATTR}-metadata"]
        assert meta["class-name"] == "bad" and meta["confidence"] == 0.67
        assert meta["worker-feedback"] == [{"comment": "The bounding box on the bird is too wide."}]
        assert meta["type"] == "groundtruth/label-verification"
