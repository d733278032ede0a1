"""consensus/spatial/tracks.py: tracks matched across workers, consolidated per frame."""

from __future__ import annotations

import numpy as np
import pytest

from truthset.consensus.spatial.tracks import TrackConsolidator, paired_box_iou


def box(left, top, width=20, height=20):
    return {"left": left, "top": top, "width": width, "height": height}


def track(oid, label, number, keyframes, attributes=None):
    out = {"object-id": oid, "label": label, "number": number, "keyframes": keyframes}
    if attributes:
        out["label-category-attributes"] = attributes
    return out


def moving(oid, label, number, x0, x1, y, first=0, last=50, jitter=0.0, **kw):
    return track(
        oid,
        label,
        number,
        [{"frame": first, "box": box(x0 + jitter, y)}, {"frame": last, "box": box(x1 - jitter, y)}],
        **kw,
    )


def test_three_workers_agree_on_two_cars_and_one_worker_alone_is_dropped():
    answers = [
        {
            "tracks": [
                moving("a1", "car", 1, 0, 100, 10),
                moving("a2", "car", 2, 200, 300, 100),
                moving("a3", "car", 3, 400, 400, 300),  # only this worker saw it
            ]
        },
        {"tracks": [moving("b1", "car", 1, 1, 101, 10), moving("b2", "car", 2, 201, 299, 101)]},
        {"tracks": [moving("c2", "car", 7, 199, 301, 100), moving("c1", "car", 5, 0, 99, 11)]},
    ]
    fitted = TrackConsolidator(shape="box", frame_size=(640, 480)).fit(answers)
    assert len(fitted.tracks_) == 2
    assert fitted.n_dropped_ == 1
    by_id = {t.object_id: t for t in fitted.tracks_}
    assert set(by_id) == {"a1", "a2"}
    car1 = by_id["a1"]
    assert car1.frames == list(range(51))
    assert car1.geometries[0]["left"] == pytest.approx(1 / 3)
    assert car1.geometries[50]["left"] == pytest.approx(100.0)
    assert sorted(car1.members) == [(0, 0), (1, 0), (2, 1)]
    assert 0.9 < car1.confidence <= 1.0
    assert car1.support == 1.0
    assert fitted.agreement_["1"] > 0.85
    # Worker 0 drew a third car nobody else saw: its F1 is lower.
    assert fitted.agreement_["0"] < fitted.agreement_["1"]


def test_frames_are_kept_where_half_of_the_members_weight_is_present():
    answers = [
        {"tracks": [moving("a", "car", 1, 0, 50, 0, first=0, last=50)]},
        {"tracks": [moving("b", "car", 1, 0, 50, 0, first=0, last=50)]},
        {"tracks": [moving("c", "car", 1, 20, 50, 0, first=20, last=50)]},
    ]
    fitted = TrackConsolidator(shape="box").fit(answers)
    (only,) = fitted.tracks_
    assert only.frames == list(range(51))
    fitted = TrackConsolidator(shape="box").fit(answers, skills={"0": 0.2, "1": 0.2, "2": 1.0})
    (only,) = fitted.tracks_
    # Workers 0 and 1 (0.4 of the 1.4 weight) alone on frames 0..19: under half.
    assert only.frames == list(range(20, 51))


def test_tracks_of_other_labels_or_times_never_match():
    answers = [
        {"tracks": [moving("a", "car", 1, 0, 50, 0, first=0, last=10)]},
        {"tracks": [moving("b", "car", 1, 0, 50, 0, first=20, last=30)]},
    ]
    fitted = TrackConsolidator(shape="box", min_support=1).fit(answers)
    assert len(fitted.tracks_) == 2
    assert {t.number for t in fitted.tracks_} == {1, 2}  # renumbered apart
    answers[1]["tracks"][0] = moving("b", "bus", 1, 0, 50, 0, first=0, last=10)
    fitted = TrackConsolidator(shape="box", min_support=1).fit(answers)
    assert sorted(t.label for t in fitted.tracks_) == ["bus", "car"]


def test_one_worker_gets_its_tracks_with_the_given_confidence():
    answers = [{"tracks": [moving("a", "car", 4, 0, 50, 0)]}]
    fitted = TrackConsolidator(shape="box", single_confidence=0.8).fit(answers)
    (only,) = fitted.tracks_
    assert only.confidence == 0.8 and only.number == 4 and only.object_id == "a"
    assert fitted.agreement_ == {"0": 1.0}


def test_attributes_are_a_weighted_majority_per_frame():
    answers = [
        {"tracks": [moving("a", "car", 1, 0, 10, 0, last=2, attributes={"occluded": "no"})]},
        {"tracks": [moving("b", "car", 1, 0, 10, 0, last=2, attributes={"occluded": "yes"})]},
        {"tracks": [moving("c", "car", 1, 0, 10, 0, last=2, attributes={"occluded": "yes"})]},
    ]
    (only,) = TrackConsolidator(shape="box").fit(answers).tracks_
    assert only.attributes == [{"occluded": "yes"}] * 3


def test_detection_does_not_interpolate():
    answers = [{"tracks": [moving("a", "car", 1, 0, 50, 0, first=0, last=10)]}]
    (only,) = TrackConsolidator(shape="box", interpolate=False).fit(answers).tracks_
    assert only.frames == [0, 10]


def square(x, y, s=40):
    return {"points": [[x, y], [x + s, y], [x + s, y + s], [x, y + s]]}


@pytest.mark.parametrize("shape", ["polygon", "polyline", "keypoint"])
def test_other_shapes_match_and_merge(shape):
    def geometry(x):
        if shape == "keypoint":
            return {"x": x, "y": 50}
        g = square(x, 30)
        if shape == "polyline":
            g = {"points": g["points"][:3]}
        return g

    def answer(oid, dx):
        return {
            "tracks": [
                track(
                    oid,
                    "thing",
                    1,
                    [
                        {"frame": 0, shape: geometry(10 + dx)},
                        {"frame": 20, shape: geometry(110 + dx)},
                    ],
                )
            ]
        }

    fitted = TrackConsolidator(shape=shape, frame_size=(320, 240)).fit(
        [answer("a", 0), answer("b", 1), answer("c", -1)]
    )
    (only,) = fitted.tracks_
    assert only.frames == list(range(21))
    mid = only.geometries[10]
    if shape == "keypoint":
        assert mid["x"] == pytest.approx(60.0)
    else:
        xs = np.array(mid["points"])[:, 0]
        assert xs.min() == pytest.approx(60.0, abs=1.5)
    assert only.confidence > 0.7


def test_paired_iou():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    b = np.array([[0, 0, 10, 10], [5, 0, 10, 10]], dtype=float)
    np.testing.assert_allclose(paired_box_iou(a, b), [1.0, 50 / 150])


def test_polygon_iou_on_a_grid_is_close_to_the_exact_one():
    from truthset.consensus.spatial.tracks import polygon_iou

    a = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    assert polygon_iou(a, a) == 1.0
    assert polygon_iou(a, a + [20, 0]) == 0.0
    assert polygon_iou(a, a + [5, 0]) == pytest.approx(1 / 3, abs=0.03)
    big = a * 100
    assert polygon_iou(big, big + [500, 0]) == pytest.approx(1 / 3, abs=0.03)


def test_polygon_outlines_are_aligned_before_they_are_averaged():
    # The same rectangle drawn from another corner and the other way round: the mean
    # is the rectangle, corners kept (only outlines of another count are resampled).
    rect = [[0, 0], [40, 0], [40, 20], [0, 20]]
    other = [[40, 20], [40, 0], [0, 0], [0, 20]]
    answers = [
        {"tracks": [track(f"{w}", "thing", 1, [{"frame": 0, "polygon": {"points": pts}}])]}
        for w, pts in enumerate((rect, other, rect))
    ]
    (only,) = TrackConsolidator(shape="polygon", interpolate=False).fit(answers).tracks_
    np.testing.assert_allclose(np.array(only.geometries[0]["points"]), rect, atol=1e-9)
