import numpy as np
import pytest

from truthset.consensus.spatial import KeypointConsolidator, PolylineConsolidator

SIZE = {"width": 600, "height": 800}  # diagonal 1000


def answer(*points):
    return {
        "keypoints": [{"label": lab, "x": x, "y": y} for lab, x, y in points],
        "inputImageProperties": SIZE,
    }


def test_weighted_mean_per_label_and_confidence():
    answers = [
        answer(("eye", 100, 100), ("nose", 150, 150)),
        answer(("eye", 104, 100), ("nose", 150, 150)),
        answer(("eye", 102, 106), ("nose", 150, 150)),
    ]
    model = KeypointConsolidator(labels=["eye", "nose"]).fit(answers)
    assert model.label_["annotations"] == [
        {"class_id": 0, "x": 102.0, "y": 102.0},
        {"class_id": 1, "x": 150.0, "y": 150.0},
    ]
    assert model.scale_ == pytest.approx(1000.0)
    sigma = 0.05 * 1000 / 2
    d = np.array([np.hypot(2, 2), np.hypot(2, 2), np.hypot(0, 4)])
    assert model.confidences_[0] == pytest.approx(np.exp(-(d**2) / (2 * sigma**2)).mean())
    assert model.confidences_[1] == 1.0


def test_point_missing_for_two_of_three_workers_is_dropped():
    answers = [
        answer(("eye", 100, 100), ("tail", 500, 700)),
        answer(("eye", 100, 100)),
        answer(("eye", 100, 100)),
    ]
    assert len(KeypointConsolidator().fit(answers).label_["annotations"]) == 1
    assert len(KeypointConsolidator(min_support=1).fit(answers).label_["annotations"]) == 2


def test_far_apart_clicks_do_not_match():
    answers = [answer(("eye", 100, 100)), answer(("eye", 200, 100)), answer(("eye", 101, 100))]
    model = KeypointConsolidator().fit(answers)  # radius 50 px
    assert model.label_["annotations"] == [{"class_id": 0, "x": 100.5, "y": 100.0}]
    assert model.n_dropped_ == 1


def test_skill_weights_pull_the_point():
    answers = [answer(("eye", 100, 100)), answer(("eye", 120, 100))]
    ids = ["a", "b"]
    assert KeypointConsolidator().fit(answers, ids).points_[0][0] == pytest.approx(110)
    weighted = KeypointConsolidator().fit(answers, ids, skills={"a": 1.0, "b": 0.25})
    assert weighted.points_[0][0] == pytest.approx(104)


def test_spread_scale_is_stricter_for_small_objects():
    # Keypoints of a small face: spread diagonal ~ 50 px, so a 10 px miss is too far.
    answers = [
        answer(("eye", 100, 100), ("mouth", 130, 140)),
        answer(("eye", 110, 100), ("mouth", 130, 140)),
    ]
    diag = KeypointConsolidator(min_support=1).fit(answers)
    assert len(diag.points_) == 2
    spread = KeypointConsolidator(scale="spread", min_support=1).fit(answers)
    assert spread.scale_ == pytest.approx(np.hypot(30, 40))
    assert len(spread.points_) == 3


def test_polylines_match_in_either_direction_and_average():
    def lines(*vs):
        return {
            "polylines": [
                {"label": "lane", "vertices": [{"x": x, "y": y} for x, y in v]} for v in vs
            ],
            "inputImageProperties": SIZE,
        }

    answers = [
        lines([(0, 0), (300, 400), (600, 800)]),
        lines([(600, 790), (0, 10)]),
        lines([(0, 0), (600, 800)], [(0, 400), (600, 400)]),
    ]
    model = PolylineConsolidator().fit(answers)
    assert len(model.lines_) == 1 and model.n_dropped_ == 1
    line = model.lines_[0]
    assert len(line) == 2
    np.testing.assert_allclose(line[0], [0, 10 / 3], atol=1e-6)
    np.testing.assert_allclose(line[-1], [600, 800 - 10 / 3], atol=1e-6)
    assert 0.5 < model.confidences_[0] < 1.0
