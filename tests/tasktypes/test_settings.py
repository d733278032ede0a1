"""Job settings the types read: `adjustment` and `consolidation` parameters."""

import pytest

from truthset.errors import BadInput
from truthset.tasktypes import WorkerAnswer, get_task_type

SIZE = {"width": 100, "height": 100}


def boxes(*lefts):
    return {
        "boundingBoxes": [
            {"label": "a", "left": x, "top": 10, "width": 20, "height": 20} for x in lefts
        ],
        "inputImageProperties": SIZE,
    }


@pytest.mark.parametrize(
    ("name", "settings", "message"),
    [
        (
            "bounding-box",
            {"consolidation": {"iou_threshold": 0}},
            r"settings\.consolidation\.iou_threshold: 0 is not a number in \(0, 1\]",
        ),
        (
            "bounding-box",
            {"consolidation": {"min_support": True}},
            r"settings\.consolidation\.min_support: True is not null",
        ),
        (
            "bounding-box",
            {"consolidation": {"smoothing": "box"}},
            r"settings\.consolidation\.smoothing: not a parameter of this task type \(known: "
            r"iou_threshold, min_support, method\)",
        ),
        ("polygon", {"consolidation": {"vote_threshold": 1.5}}, r"vote_threshold: 1\.5 is not"),
        ("keypoint", {"consolidation": {"scale": "image"}}, r"scale: 'image' is not 'diagonal'"),
        ("semantic-segmentation", {"consolidation": {"smoothing_size": 0}}, r"smoothing_size: 0"),
        (
            "named-entity-recognition",
            {"consolidation": []},
            r"settings\.consolidation: \[\] is not",
        ),
        ("audio-transcription", {"consolidation": {"case_sensitive": "yes"}}, "case_sensitive"),
        ("label-verification", {"consolidation": {"min_support": 1}}, r"\(known: none\)"),
        ("polyline", {"adjustment": "yes"}, r"settings\.adjustment: 'yes' is not true or false"),
    ],
)
def test_check_settings_names_the_setting(name, settings, message):
    with pytest.raises(BadInput, match=message):
        get_task_type(name).check_settings(settings)


def test_good_settings_pass():
    get_task_type("bounding-box").check_settings(
        {"adjustment": True, "consolidation": {"min_support": 1, "method": "median"}}
    )
    get_task_type("semantic-segmentation").check_settings(
        {"consolidation": {"smoothing": None}, "gold_rate": 0.1}
    )


def test_consolidation_parameters_are_used_and_bad_ones_fall_back():
    bb = get_task_type("bounding-box")
    config = bb.parse_label_config(["a"])
    answers = [WorkerAnswer(1, boxes(10, 60)), WorkerAnswer(2, boxes(10)), WorkerAnswer(3, boxes())]
    # By default a box needs a majority: the one at 60 (1 worker of 3) is dropped.
    assert len(bb.consolidate(answers, config, {}).value["annotations"]) == 1
    one = bb.consolidate(answers, config, {"consolidation": {"min_support": 1}})
    assert len(one.value["annotations"]) == 2
    bad = bb.consolidate(answers, config, {"consolidation": {"min_support": "one"}})
    assert len(bad.value["annotations"]) == 1


def test_transcription_case_setting():
    tr = get_task_type("audio-transcription")
    config = tr.parse_label_config(None)
    answers = [
        WorkerAnswer(1, {"transcription": "Hello Paris"}),
        WorkerAnswer(2, {"transcription": "hello paris"}),
        WorkerAnswer(3, {"transcription": "hello paris"}),
    ]
    loose = tr.consolidate(answers, config, {})
    strict = tr.consolidate(answers, config, {"consolidation": {"case_sensitive": True}})
    assert loose.confidence == 1.0 and strict.confidence < 1.0
