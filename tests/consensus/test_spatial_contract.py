"""One contract over every spatial consolidator (scikit-learn conventions)."""

import copy

import numpy as np
import pytest

from truthset.consensus.spatial import SPATIAL_CONSOLIDATORS

IP = {"width": 100, "height": 80}


def sq(x, y, s):
    return [{"x": x, "y": y}, {"x": x + s, "y": y}, {"x": x + s, "y": y + s}, {"x": x, "y": y + s}]


def masks():
    out = []
    for shift in (0, 1, 2):
        m = np.zeros((20, 30), dtype=np.uint8)
        m[5 : 12 + shift, 4:15] = 1
        out.append(m)
    return out


CASES = {
    "bounding-box": [
        {
            "boundingBoxes": [{"label": "a", "left": 10 + i, "top": 10, "width": 30, "height": 20}],
            "inputImageProperties": IP,
        }
        for i in range(3)
    ],
    "polygon": [
        {"polygons": [{"label": "a", "vertices": sq(10 + i, 10, 20)}], "inputImageProperties": IP}
        for i in range(3)
    ],
    "instance-segmentation": [
        {"polygons": [{"label": "a", "vertices": sq(10, 10 + i, 20)}], "inputImageProperties": IP}
        for i in range(3)
    ],
    "polyline": [
        {
            "polylines": [{"label": "a", "vertices": [{"x": 0, "y": i}, {"x": 90, "y": 50 + i}]}],
            "inputImageProperties": IP,
        }
        for i in range(3)
    ],
    "semantic-segmentation": masks(),
    "keypoint": [
        {"keypoints": [{"label": "a", "x": 10 + i, "y": 10}], "inputImageProperties": IP}
        for i in range(3)
    ],
    "named-entity": [
        {"entities": [{"label": "a", "startOffset": i, "endOffset": 10}]} for i in range(3)
    ],
    "transcription": ["the quick brown fox", "the quick brown box", "a quick brown fox"],
}


def test_registry_names_every_kind():
    assert set(SPATIAL_CONSOLIDATORS) >= {
        "bounding-box",
        "polygon",
        "semantic-segmentation",
        "keypoint",
        "named-entity",
        "transcription",
    }
    assert set(CASES) == set(SPATIAL_CONSOLIDATORS)


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("kind", sorted(CASES))
def test_contract(kind):
    cls = SPATIAL_CONSOLIDATORS[kind]
    answers = CASES[kind]
    before = copy.deepcopy(answers)
    model = cls()
    assert model.fit(answers) is model
    assert _same(answers, before), "fit mutated its input"
    assert set(vars(cls())) == set(model.get_params()), "__init__ stores only its parameters"
    first = copy.deepcopy(model.label_)
    skills = {"0": 0.9, "1": 0.5, "2": 0.7}
    model.fit(answers, skills=skills)
    model.fit(answers)
    assert _same(model.label_, first), "refit differs from a fresh fit"
    assert _same(cls().fit_predict(answers), first)
    assert hasattr(model, "metadata_")
    confidences = _confidences(model.metadata_)
    assert confidences and all(0.0 <= c <= 1.0 for c in confidences)
    assert any(c > 0 for c in confidences)
    with pytest.raises(ValueError, match="empty"):
        cls().fit([])
    with pytest.raises(ValueError, match="worker_ids"):
        cls().fit(answers, worker_ids=["x"])
    with pytest.raises(ValueError, match="duplicate"):
        cls().fit(answers, worker_ids=["x"] * len(answers))
    assert repr(model).startswith(cls.__name__ + "(")


def _confidences(meta):
    if "objects" in meta:
        return [o["confidence"] for o in meta["objects"]]
    if "entities" in meta:
        return [o["confidence"] for o in meta["entities"]]
    if "internal-color-map" in meta:
        return [v["confidence"] for v in meta["internal-color-map"].values()]
    return [meta["confidence"]]


EMPTY = {
    "bounding-box": [{"boundingBoxes": [], "inputImageProperties": IP}] * 2,
    "polygon": [{"polygons": [], "inputImageProperties": IP}] * 2,
    "instance-segmentation": [{"polygons": [], "inputImageProperties": IP}] * 2,
    "polyline": [{"polylines": [], "inputImageProperties": IP}] * 2,
    "keypoint": [{"keypoints": [], "inputImageProperties": IP}] * 2,
    "named-entity": [{"entities": []}] * 2,
    "transcription": ["", " "],
    "semantic-segmentation": [np.zeros((3, 4), np.uint8)] * 2,
}


@pytest.mark.parametrize("kind", sorted(EMPTY))
def test_workers_who_found_nothing_agree_on_an_empty_label(kind):
    model = SPATIAL_CONSOLIDATORS[kind]().fit(EMPTY[kind])
    label = model.label_
    if kind == "semantic-segmentation":
        assert not label.any() and model.confidence_ == 1.0
    elif kind == "named-entity":
        assert label["annotations"]["entities"] == []
    elif kind == "transcription":
        assert label == {"transcription": ""} and model.confidence_ == 1.0
    else:
        assert label["annotations"] == [] and model.metadata_["objects"] == []
