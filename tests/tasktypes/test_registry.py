"""Every built-in type registers through the entry point and honours the protocol."""

import pytest

from truthset.tasktypes import TaskType, all_task_types, get_task_type

EXPECTED = {
    "bounding-box": ("image", "groundtruth/object-detection", True),
    "polygon": ("image", "groundtruth/polygon", False),
    "instance-segmentation": ("image", "groundtruth/instance-segmentation", False),
    "polyline": ("image", "groundtruth/polyline", False),
    "keypoint": ("image", "groundtruth/keypoint", False),
    "semantic-segmentation": ("image", "groundtruth/semantic-segmentation", False),
    "named-entity-recognition": ("text", "groundtruth/text-span", False),
    "audio-classification": ("audio", "groundtruth/audio-classification", False),
    "audio-transcription": ("audio", "groundtruth/audio-transcription", False),
    "label-verification": ("image", "groundtruth/label-verification", False),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_registered(name):
    task_type = get_task_type(name)
    assert all_task_types()[name] is task_type
    assert isinstance(task_type, TaskType)
    assert task_type.name == name
    assert (task_type.media, task_type.output_type, task_type.supports_auto_labeling) == EXPECTED[
        name
    ]
    assert task_type.ui_module.startswith("tools/") and task_type.ui_module.endswith(".js")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_answers_is_an_error(name):
    task_type = get_task_type(name)
    config = task_type.parse_label_config(["a", "b"])
    with pytest.raises(ValueError, match="no answers"):
        task_type.consolidate([], config, {})
