import numpy as np
import pytest

from truthset.consensus.spatial import BoundingBoxConsolidator, box_iou

SIZE = {"width": 200, "height": 100}


def answer(*boxes):
    return {
        "boundingBoxes": [
            {"label": lab, "left": x, "top": y, "width": w, "height": h}
            for lab, x, y, w, h in boxes
        ],
        "inputImageProperties": SIZE,
    }


def test_box_iou_known_values():
    assert float(box_iou([0, 0, 10, 10], [0, 0, 10, 10])) == 1.0
    assert float(box_iou([0, 0, 10, 10], [5, 0, 10, 10])) == pytest.approx(50 / 150)
    assert float(box_iou([0, 0, 10, 10], [20, 20, 5, 5])) == 0.0
    m = box_iou([[0, 0, 10, 10], [5, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 10, 10], [0, 0, 0, 0]])
    assert m.shape == (2, 3)
    np.testing.assert_allclose(m, [[1, 1 / 3, 0], [1 / 3, 1, 0]])


def test_identical_boxes_give_the_box_with_full_confidence():
    answers = [answer(("dog", 10, 20, 30, 40))] * 3
    model = BoundingBoxConsolidator(labels=["cat", "dog"]).fit(answers)
    assert model.label_ == {
        "image_size": [{"width": 200, "height": 100, "depth": 3}],
        "annotations": [{"class_id": 1, "left": 10, "top": 20, "width": 30, "height": 40}],
    }
    assert model.metadata_ == {"objects": [{"confidence": 1.0}], "class-map": {"1": "dog"}}


def test_jittered_boxes_average_their_edges():
    answers = [
        answer(("dog", 10, 10, 20, 20)),
        answer(("dog", 12, 10, 20, 20)),
        answer(("dog", 11, 12, 20, 20)),
    ]
    model = BoundingBoxConsolidator().fit(answers)
    np.testing.assert_allclose(model.boxes_[0], [11, 32 / 3, 20, 20])
    assert model.label_["annotations"] == [
        {"class_id": 0, "left": 11, "top": 11, "width": 20, "height": 20}
    ]
    ious = box_iou(np.array([[10, 10, 20, 20], [12, 10, 20, 20], [11, 12, 20, 20]]), model.boxes_)
    assert model.confidences_[0] == pytest.approx(ious.mean())
    assert sorted(model.clusters_[0]) == [("0", 0), ("1", 0), ("2", 0)]


def test_box_missing_for_one_worker_kept_by_majority_and_dropped_by_unanimity():
    answers = [
        answer(("dog", 10, 10, 20, 20), ("cat", 100, 50, 30, 30)),
        answer(("dog", 10, 10, 20, 20), ("cat", 101, 50, 30, 30)),
        answer(("dog", 10, 10, 20, 20)),
    ]
    kept = BoundingBoxConsolidator(labels=["dog", "cat"]).fit(answers)
    assert [a["class_id"] for a in kept.label_["annotations"]] == [0, 1]
    assert kept.support_[1] == pytest.approx(2 / 3)
    cat_ious = box_iou(np.array([[100, 50, 30, 30], [101, 50, 30, 30]]), kept.boxes_[1])
    assert kept.confidences_[1] == pytest.approx(2 / 3 * cat_ious.mean())
    assert kept.confidences_[0] == 1.0
    strict = BoundingBoxConsolidator(labels=["dog", "cat"], min_support=3).fit(answers)
    assert [a["class_id"] for a in strict.label_["annotations"]] == [0]
    assert strict.n_dropped_ == 1


def test_box_drawn_by_one_worker_of_three_is_dropped_unless_min_support_allows():
    answers = [
        answer(("dog", 10, 10, 20, 20), ("dog", 150, 60, 20, 20)),
        answer(("dog", 10, 10, 20, 20)),
        answer(("dog", 10, 10, 20, 20)),
    ]
    assert len(BoundingBoxConsolidator().fit(answers).label_["annotations"]) == 1
    assert len(BoundingBoxConsolidator(min_support=1).fit(answers).label_["annotations"]) == 2
    assert len(BoundingBoxConsolidator(min_support=0.3).fit(answers).label_["annotations"]) == 2


def test_default_support_is_a_strict_majority():
    answers = [
        answer(("dog", 10, 10, 20, 20), ("dog", 150, 60, 20, 20)),
        answer(("dog", 10, 10, 20, 20)),
    ]
    model = BoundingBoxConsolidator().fit(answers)
    assert len(model.label_["annotations"]) == 1  # one worker of two is not a majority
    assert model.n_dropped_ == 1


def test_skill_weights_pull_the_box_towards_the_better_worker():
    answers = [answer(("dog", 0, 0, 100, 100)), answer(("dog", 20, 0, 100, 100))]
    plain = BoundingBoxConsolidator().fit(answers, worker_ids=["a", "b"])
    assert plain.boxes_[0][0] == pytest.approx(10)
    weighted = BoundingBoxConsolidator().fit(
        answers, worker_ids=["a", "b"], skills={"a": 1.0, "b": 0.25}
    )
    assert weighted.boxes_[0][0] == pytest.approx(4)
    assert weighted.boxes_[0][2] == pytest.approx(100)


def test_skill_weights_decide_support():
    answers = [
        answer(("dog", 10, 10, 20, 20), ("dog", 150, 60, 20, 20)),
        answer(("dog", 10, 10, 20, 20)),
        answer(("dog", 10, 10, 20, 20)),
    ]
    ids = ["expert", "novice1", "novice2"]
    skills = {"expert": 1.0, "novice1": 0.2, "novice2": 0.2}
    model = BoundingBoxConsolidator().fit(answers, worker_ids=ids, skills=skills)
    assert len(model.label_["annotations"]) == 2


def test_one_box_per_worker_per_cluster():
    # Worker 0 draws the object twice; only one of its boxes may join the cluster.
    answers = [
        answer(("dog", 10, 10, 20, 20), ("dog", 11, 11, 20, 20)),
        answer(("dog", 10, 10, 20, 20)),
        answer(("dog", 10, 10, 20, 20)),
    ]
    model = BoundingBoxConsolidator().fit(answers)
    assert len(model.label_["annotations"]) == 1
    workers = [w for w, _ in model.clusters_[0]]
    assert len(workers) == len(set(workers)) == 3
    assert model.n_dropped_ == 1


def test_classes_are_matched_separately():
    answers = [answer(("dog", 10, 10, 20, 20), ("cat", 10, 10, 20, 20))] * 2
    model = BoundingBoxConsolidator(labels=["dog", "cat"]).fit(answers)
    assert [a["class_id"] for a in model.label_["annotations"]] == [0, 1]


def test_median_resists_an_outlier_edge():
    answers = [
        answer(("dog", 10, 0, 100, 100)),
        answer(("dog", 10, 0, 100, 100)),
        answer(("dog", 40, 0, 70, 100)),
    ]
    assert BoundingBoxConsolidator(method="median").fit(answers).boxes_[0][0] == 10
    assert BoundingBoxConsolidator(method="mean").fit(answers).boxes_[0][0] == pytest.approx(20)


def test_single_worker_confidence_is_zero_as_in_ground_truth():
    model = BoundingBoxConsolidator().fit([answer(("dog", 10, 10, 20, 20))])
    assert model.label_["annotations"][0]["left"] == 10
    assert model.metadata_["objects"] == [{"confidence": 0.0}]


def test_accepts_wrapped_answers_and_worker_records():
    records = [
        {"workerId": "w1", "answerContent": {"boundingBox": answer(("dog", 10, 10, 20, 20))}},
        {"workerId": "w2", "answerContent": {"boundingBox": answer(("dog", 10, 10, 20, 20))}},
    ]
    model = BoundingBoxConsolidator().fit(records)
    assert [w for w, _ in model.clusters_[0]] == ["w1", "w2"]


def test_unknown_label_and_bad_skill_are_errors():
    with pytest.raises(ValueError, match=r"boundingBoxes\[0\]\.label.*'bird'"):
        BoundingBoxConsolidator(labels=["dog"]).fit([answer(("bird", 1, 1, 2, 2))])
    with pytest.raises(ValueError, match=r"skills\['0'\]"):
        BoundingBoxConsolidator().fit([answer(("dog", 1, 1, 2, 2))], skills={"0": 1.5})
