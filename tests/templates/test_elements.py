"""The elements a template declares, answers checked against them, and the custom task
type's consolidation (issue 13, items 2 and 8)."""

from __future__ import annotations

import pytest

from truthset.errors import BadInput
from truthset.tasktypes import get_task_type
from truthset.tasktypes.base import WorkerAnswer
from truthset.templates.elements import declared_elements

PNG = "iVBORw0KGgo="
IMAGE = {"height": 10, "width": 20}

EVERY_ELEMENT = """
<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-classifier name="cls" categories="['cat', 'dog']" header="?"></crowd-classifier>
  <crowd-classifier-multi-select name="multi" categories='["a", "b"]'>
  </crowd-classifier-multi-select>
  <crowd-image-classifier name="img" src="x" categories="{{ task.input.labels | to_json }}">
  </crowd-image-classifier>
  <crowd-image-classifier-multi-select name="imgmulti" categories="['a','b']">
  </crowd-image-classifier-multi-select>
  <crowd-bounding-box name="box" src="x" labels="['car']"></crowd-bounding-box>
  <crowd-polygon name="poly" src="x" labels="['car']"></crowd-polygon>
  <crowd-polyline name="pline" src="x" labels="['lane']"></crowd-polyline>
  <crowd-line name="line" src="x" labels="['edge']"></crowd-line>
  <crowd-keypoint name="kp" src="x" labels="['eye']"></crowd-keypoint>
  <crowd-semantic-segmentation name="seg" src="x" labels="['sky']"></crowd-semantic-segmentation>
  <crowd-instance-segmentation name="inst" src="x" labels="['cat']"></crowd-instance-segmentation>
  <crowd-entity-annotation name="ner" text="hi" labels="[{'label': 'p'}]"></crowd-entity-annotation>
  <crowd-input name="note"></crowd-input>
  <crowd-input name="count" type="number"></crowd-input>
  <crowd-text-area name="long"></crowd-text-area>
  <crowd-checkbox name="ok"></crowd-checkbox>
  <crowd-checkbox name="blurry" value="yes"></crowd-checkbox>
  <crowd-radio-group>
    <crowd-radio-button name="pos" value="positive"></crowd-radio-button>
    <crowd-radio-button name="neg" value="negative"></crowd-radio-button>
  </crowd-radio-group>
  <crowd-slider name="score" min="1" max="5"></crowd-slider>
  <crowd-toggle-button name="flag"></crowd-toggle-button>
  <crowd-button name="not-an-answer">Go</crowd-button>
  <input type="text" name="plain">
  <input type="radio" name="color" value="red"><input type="radio" name="color" value="blue">
  <input type="checkbox" name="agree">
  <input type="submit" name="send">
  <select name="pick"><option>a</option></select>
  <textarea name="free"></textarea>
  <crowd-input name="q{{ forloop.index }}"></crowd-input>
</crowd-form>
<input name="outside-the-form">
"""

GOOD = {
    "cls": {"label": "cat"},
    "multi": {"labels": ["a", "b"]},
    "img": {"label": "dog"},
    "imgmulti": {"labels": []},
    "box": {
        "boundingBoxes": [{"height": 1, "label": "car", "left": 2, "top": 3, "width": 4}],
        "inputImageProperties": IMAGE,
    },
    "poly": {
        "polygons": [
            {"label": "car", "vertices": [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 1, "y": 1}]}
        ],
        "inputImageProperties": IMAGE,
    },
    "pline": {"polylines": [{"label": "lane", "vertices": [{"x": 0, "y": 0}, {"x": 3, "y": 1}]}]},
    "line": {"lines": [{"label": "edge", "vertices": [{"x": 0, "y": 0}, {"x": 3, "y": 1}]}]},
    "kp": {"keypoints": [{"label": "eye", "x": 4, "y": 5}], "inputImageProperties": IMAGE},
    "seg": {
        "labeledImage": {"pngImageData": PNG},
        "labelMappings": {"sky": {"color": "#2ca02c"}},
        "inputImageProperties": IMAGE,
    },
    "inst": {
        "annotatedResult": {
            "labeledImage": {"pngImageData": PNG},
            "instances": [{"color": "#1f77b4", "label": "cat"}],
            "inputImageProperties": IMAGE,
        }
    },
    "ner": {"entities": [{"label": "p", "startOffset": 0, "endOffset": 2}]},
    "note": "free text",
    "count": 3,
    "long": "more text",
    "ok": {"on": True},
    "blurry": {"yes": False},
    "pos": {"positive": True},
    "neg": {"negative": False},
    "score": 4,
    "flag": {"on": True},
    "plain": "typed",
    "color": "blue",
    "agree": {"on": True},
    "pick": "a",
    "free": "x",
    "q3": "a computed name",
}

BAD = [
    ("cls", {"label": "horse"}, "answer.cls (crowd-classifier).label 'horse' is not one of"),
    ("cls", {"labels": ["cat"]}, "answer.cls (crowd-classifier) lacks label"),
    ("multi", {"labels": ["a", "a"]}, "lists a label twice"),
    ("multi", {"labels": "a"}, "labels must be a list"),
    ("img", {"label": "horse"}, "'horse' is not one of ['cat', 'dog']"),  # the job's labels
    ("box", {"boundingBoxes": [{"label": "car", "left": 1, "top": 1, "width": 1}]}, "lacks height"),
    (
        "box",
        {"boundingBoxes": [{"height": "1", "label": "car", "left": 1, "top": 1, "width": 1}]},
        "height must be a number",
    ),
    (
        "box",
        {"boundingBoxes": [], "inputImageProperties": {"height": 1}},
        "inputImageProperties lacks width",
    ),
    (
        "poly",
        {"polygons": [{"label": "car", "vertices": [{"x": 0, "y": 0}]}]},
        "at least 3 vertices",
    ),
    (
        "line",
        {"lines": [{"label": "edge", "vertices": [{"x": 0, "y": 0}] * 3}]},
        "exactly 2 vertices",
    ),
    ("kp", {"keypoints": [{"label": "nose", "x": 1, "y": 1}]}, "'nose' is not one of ['eye']"),
    ("seg", {"labeledImage": {}}, "lacks pngImageData"),
    ("inst", {"labeledImage": {"pngImageData": PNG}}, "lacks instances"),
    (
        "ner",
        {"entities": [{"label": "p", "startOffset": 3, "endOffset": 1}]},
        "startOffset < endOffset",
    ),
    ("note", 5, "answer.note (crowd-input) must be text"),
    ("ok", True, 'must be {"on": true | false}'),
    ("blurry", {"on": True}, 'must be {"yes": true | false}'),
    ("pos", {"negative": True}, 'must be {"positive": true | false}'),
    ("score", 9, "outside the slider's max 5"),
    ("score", "4", "must be a number"),
    ("flag", {"on": "yes"}, 'must be {"on": true | false}'),
    ("color", "green", "must be one of ['red', 'blue']"),
    ("outside-the-form", "x", "declares no element named 'outside-the-form'"),
    ("send", "x", "declares no element named 'send'"),
    ("not-an-answer", "x", "declares no element named 'not-an-answer'"),
]


@pytest.fixture
def config():
    custom = get_task_type("custom")
    raw = {"labels": [{"label": "cat"}, {"label": "dog"}]}
    return custom.parse_label_config({**raw, "crowdElements": declared_elements(EVERY_ELEMENT)})


def test_declared_elements_keep_tag_name_and_attributes():
    elements = declared_elements(EVERY_ELEMENT)
    names = [e["name"] for e in elements]
    assert names == [n for n in GOOD if n != "q3"] + ["q{{ forloop.index }}"]
    box = next(e for e in elements if e["name"] == "box")
    assert box == {
        "tag": "crowd-bounding-box",
        "name": "box",
        "attributes": {"name": "box", "src": "x", "labels": "['car']"},
    }
    assert next(e for e in elements if e["name"] == "color")["options"] == ["red", "blue"]


def test_a_template_without_crowd_form_or_with_duplicate_names_is_refused():
    with pytest.raises(BadInput, match="no <crowd-form>"):
        declared_elements('<crowd-classifier name="a"></crowd-classifier>')
    with pytest.raises(BadInput, match="template line 3: a second element named 'a'.*line 2"):
        declared_elements(
            '<crowd-form>\n<crowd-input name="a"></crowd-input>\n<input name="a"></crowd-form>'
        )


def test_every_element_takes_its_documented_answer(config):
    custom = get_task_type("custom")
    assert custom.validate_answer(GOOD, config, {}) == GOOD
    for name, value in GOOD.items():
        assert custom.validate_answer({name: value}, config, {}) == {name: value}


@pytest.mark.parametrize(("name", "value", "message"), BAD)
def test_a_wrong_answer_is_refused_naming_the_element(config, name, value, message):
    with pytest.raises(BadInput) as info:
        get_task_type("custom").validate_answer({name: value}, config, {})
    assert message in str(info.value.detail), info.value.detail


def test_not_an_object_or_empty_is_refused(config):
    custom = get_task_type("custom")
    for answer in ([], "x", {}):
        with pytest.raises(BadInput):
            custom.validate_answer(answer, config, {})


def test_consolidation_takes_each_elements_majority_and_keeps_the_answers(config):
    custom = get_task_type("custom")
    answers = [
        WorkerAnswer(1, {"cls": {"label": "cat"}, "note": "a"}),
        WorkerAnswer(2, {"cls": {"label": "cat"}, "note": "b"}),
        WorkerAnswer(3, {"cls": {"label": "dog"}, "note": "c"}),
    ]
    out = custom.consolidate(answers, config, {})
    assert out.value == {"cls": {"label": "cat"}, "note": None}
    assert out.meta["agreement"] == {"cls": 0.67, "note": 0.33}
    assert [a["answerContent"] for a in out.meta["worker-answers"]] == [a.content for a in answers]
    assert out.confidence == 0.33 and out.method == "majority-per-element"
    one = custom.consolidate([answers[2]], config, {})
    assert one.value == answers[2].content and one.confidence == 0.0


def test_label_config_is_optional_and_elements_are_checked():
    custom = get_task_type("custom")
    assert custom.parse_label_config(None).labels == ()
    with pytest.raises(BadInput, match="crowdElements"):
        custom.parse_label_config({"labels": [], "crowdElements": [{"tag": "div", "name": "x"}]})
