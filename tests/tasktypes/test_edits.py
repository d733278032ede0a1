"""editsAllowed in adjustment and verification jobs (tasktypes/_edits.py): what a label or
attribute that allows no edits keeps, for video tracks and point-cloud cuboids, and the
work engine refusing an answer that breaks it."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tasktypes.test_video_objects import answer, box, car, write_sequence
from truthset.errors import BadInput
from truthset.tasktypes import get_task_type

TRACKING = get_task_type("video-object-tracking")
PC_DETECTION = get_task_type("point-cloud-object-detection")


def locked_config(*, car_edits: str = "none", occluded_edits: str = "any") -> dict[str, Any]:
    """car allows (by default) no edits, bus any; car's `occluded` and the frame's
    `weather` as asked."""
    return {
        "documentVersion": "2020-03-01",
        "labels": [
            {
                "label": "car",
                "editsAllowed": car_edits,
                "categoryAttributes": [
                    {
                        "name": "occluded",
                        "type": "string",
                        "enum": ["no", "yes"],
                        "editsAllowed": occluded_edits,
                    }
                ],
            },
            {"label": "bus"},
        ],
        "frameAttributes": [
            {
                "name": "weather",
                "description": "the sky",
                "type": "string",
                "enum": ["sun", "rain"],
                "editsAllowed": "none",
            }
        ],
    }


CONFIG = TRACKING.parse_label_config(locked_config())


def bus(oid="b1", left=50):
    return {
        "object-id": oid,
        "label": "bus",
        "number": 1,
        "keyframes": [{"frame": 0, "box": box(left, 60)}, {"frame": 9, "box": box(left, 60)}],
    }


PRIOR = answer(car(), bus(), **{"frame-attributes": {"0": {"weather": "sun"}}})


def check(given: dict[str, Any], config: Any = CONFIG) -> None:
    TRACKING.check_edits(given, PRIOR, config)


def test_the_earlier_label_handed_back_passes():
    check(PRIOR)


def test_a_locked_track_re_keyed_on_the_same_path_passes():
    # A keyframe added where interpolation already put the box changes nothing drawn.
    keyframes = [
        {"frame": 0, "box": box(0, 10)},
        {"frame": 5, "box": box(50, 10)},
        {"frame": 9, "box": box(90, 10)},
    ]
    check(
        answer(car(keyframes=keyframes), bus(), **{"frame-attributes": {"0": {"weather": "sun"}}})
    )


def test_an_unlocked_label_may_be_moved_added_and_removed():
    frames = {"frame-attributes": {"0": {"weather": "sun"}}}
    check(answer(car(), bus(left=70), **frames))
    check(answer(car(), bus(), bus("b2", left=10) | {"number": 2}, **frames))
    check(answer(car(), **frames))


def test_an_earlier_label_listing_fewer_frames_is_held_on_as_the_tool_shows_it(tmp_path):
    """A Ground Truth SeqLabel that lists frames 0 to 4 of a 10-frame sequence: its initial
    answer says 5 frames, the tool corrects that to 10 and hands the tracks back as they
    were; the car held on to frame 9 is no edit."""
    frames = [
        {
            "frame-no": i,
            "frame": f"frame_{i:04d}.jpg",
            "annotations": [
                {**box(10 * i, 10), "class-id": 0, "object-id": "c1", "object-name": "car:1"}
            ],
        }
        for i in range(5)
    ]
    meta = {"class-map": {"0": "car", "1": "bus"}, "type": "groundtruth/video-object-tracking"}
    prior = TRACKING.initial_answer({"tracking-annotations": frames}, meta, CONFIG)
    assert prior["number-of-frames"] == 5
    handed_back = {**prior, "number-of-frames": 10}
    TRACKING.check_edits(handed_back, prior, CONFIG)


@pytest.mark.parametrize(
    ("edited", "message"),
    [
        (
            answer(
                car(keyframes=[{"frame": 0, "box": box(3, 10)}, {"frame": 9, "box": box(90, 10)}]),
                bus(),
            ),
            r"track c1 \(car\) was moved or reshaped on frame 0; label 'car' allows no edits",
        ),
        (answer(bus()), r"track c1 \(car\) was removed"),
        (answer(car() | {"label": "bus"}, bus()), r"track c1 \(car\) was relabeled 'bus'"),
        (
            answer(
                car(keyframes=[{"frame": 0, "box": box(0, 10)}, {"frame": 5, "outside": True}]),
                bus(),
            ),
            # Frames 1 to 4 hold frame 0's box up to the outside keyframe (geometry/tracks.py).
            r"track c1 \(car\) is no longer on frame 5",
        ),
        (answer(car(), car("c2", 2), bus()), r"track c2 \(car\) was added"),
        (
            answer(car(), bus() | {"label": "car", "number": 2}),
            r"track b1 \(car\) was relabeled from 'bus'",
        ),
    ],
)
def test_a_locked_label_keeps_its_objects(edited, message):
    edited["frame-attributes"] = {"0": {"weather": "sun"}}
    with pytest.raises(BadInput, match=message):
        check(edited)


def test_an_attribute_that_allows_no_edits_keeps_its_value_on_earlier_objects():
    config = TRACKING.parse_label_config(locked_config(car_edits="any", occluded_edits="none"))
    prior = answer(car(**{"label-category-attributes": {"occluded": "no"}}))
    changed = answer(car(**{"label-category-attributes": {"occluded": "yes"}}))
    with pytest.raises(
        BadInput, match=r"track c1 \(car\) frame 0: attribute 'occluded' was 'no', now 'yes'"
    ):
        TRACKING.check_edits(changed, prior, config)
    # The geometry of a car may change (editsAllowed any), and a new car sets it freely.
    moved = answer(
        car(
            keyframes=[{"frame": 0, "box": box(9, 9)}],
            **{"label-category-attributes": {"occluded": "no"}},
        ),
        car("c2", 2, **{"label-category-attributes": {"occluded": "yes"}}),
    )
    TRACKING.check_edits(moved, prior, config)


def test_a_frame_attribute_that_allows_no_edits_keeps_its_value():
    edited = answer(car(), bus(), **{"frame-attributes": {"0": {"weather": "rain"}}})
    with pytest.raises(BadInput, match=r"frame-attributes\[0\]: 'weather' was 'sun', now 'rain'"):
        check(edited)
    # A frame the earlier label said nothing of may be filled in.
    check(
        answer(
            car(),
            bus(),
            **{"frame-attributes": {"0": {"weather": "sun"}, "3": {"weather": "rain"}}},
        )
    )


def test_a_cuboid_keeps_its_pose_up_to_a_whole_turn():
    config = PC_DETECTION.parse_label_config(
        {
            "documentVersion": "2020-03-01",
            "labels": [{"label": "Car", "editsAllowed": "none"}, {"label": "Sign"}],
        }
    )
    pose = {
        "center-x": 1.0,
        "center-y": 2.0,
        "center-z": 0.5,
        "length": 4.0,
        "width": 2.0,
        "height": 1.5,
    }
    prior = {
        "cuboids": [{"label": "Car", "number": 1, **pose, "roll": 0.0, "pitch": 0.0, "yaw": 3.1416}]
    }
    # The viewer stores angles in [-pi, pi): 3.1416 comes back as its equal below -pi + 0.01.
    same = {
        "cuboids": [
            {
                "label": "Car",
                "number": 1,
                **pose,
                "roll": 0.0,
                "pitch": 0.0,
                "yaw": 3.1416 - 2 * math.pi,
            }
        ]
    }
    PC_DETECTION.check_edits(same, prior, config)
    turned = {
        "cuboids": [{"label": "Car", "number": 1, **pose, "roll": 0.0, "pitch": 0.0, "yaw": 1.0}]
    }
    with pytest.raises(BadInput, match=r"cuboid Car:1 \(Car\) was moved or reshaped on frame 0"):
        PC_DETECTION.check_edits(turned, prior, config)
    with pytest.raises(BadInput, match=r"cuboid Car:2 \(Car\) was added"):
        PC_DETECTION.check_edits(
            {"cuboids": [*same["cuboids"], {**same["cuboids"][0], "number": 2}]}, prior, config
        )


def test_a_verification_job_through_the_work_engine(engine):
    """Every label editsAllowed none: the worker's answer must hand the earlier tracks
    back as they were; a moved box is refused naming the track and frame, and nothing is
    recorded for it."""
    ref = write_sequence(engine.media / "clip")
    engine.dataset("clips", [{"id": "clip-1", "source-ref": ref}])
    open_config = locked_config(car_edits="any")
    engine.job(
        "track", "video-object-tracking", open_config, dataset="clips", label_attribute="cars-ref"
    )
    engine.work("track", lambda w, item: answer(car(), bus()), workers=["w0"])
    verify = locked_config()
    verify["labels"][1]["editsAllowed"] = "none"
    engine.job(
        "verify",
        "video-object-tracking",
        verify,
        input_job="track",
        label_attribute="verified-ref",
        settings={"adjustment": True},
    )
    moved = answer(
        car(keyframes=[{"frame": 0, "box": box(30, 10)}, {"frame": 9, "box": box(90, 10)}]), bus()
    )
    with pytest.raises(BadInput, match=r"track c1 \(car\) was moved or reshaped on frame 0"):
        engine.submit_one("verify", "w1", moved)
    with pytest.raises(BadInput, match=r"track b1 \(bus\) was removed"):
        engine.submit_one("verify", "w1", answer(car()))
    engine.work("verify", lambda w, item: answer(car(), bus()), workers=["w1"])
    (line,) = engine.export("verify")
    assert line["verified-ref-metadata"]["adjustment-status"] == "unadjusted"


def test_points_of_a_locked_label_keep_it_and_no_other_point_gets_it():
    import numpy as np

    from truthset.tasktypes._cuboid_answers import encode_labels

    seg = get_task_type("point-cloud-semantic-segmentation")
    config = seg.parse_label_config(
        {
            "documentVersion": "2020-03-01",
            "labels": [{"label": "Road", "editsAllowed": "none"}, {"label": "Tree"}],
        }
    )
    before = np.array([1, 1, 0, 2, 0], dtype=np.uint8)

    def answer_of(values):
        return {"point-count": 5, "labels": encode_labels(np.array(values, dtype=np.uint8))}

    # Ground Truth's label comes as an answer; ours as the file the work API hands over.
    for prior in (
        answer_of(before),
        {"labeledImage": {"pngImageData": answer_of(before)["labels"]}},
    ):
        seg.check_edits(answer_of([1, 1, 2, 2, 2]), prior, config)  # Tree may grow
        with pytest.raises(BadInput, match=r"1 point changed to or from 'Road'"):
            seg.check_edits(answer_of([1, 0, 0, 2, 0]), prior, config)
        with pytest.raises(BadInput, match=r"2 points changed to or from 'Road'"):
            seg.check_edits(answer_of([1, 1, 1, 1, 0]), prior, config)
