"""The 2020 label category format (documentVersion 2020-03-01): every field, limit and
error of Ground Truth's guide page sms-label-cat-config-attributes; the 2018 format as
before."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from truthset.errors import BadInput
from truthset.tasktypes import get_task_type
from truthset.tasktypes.base import parse_gt_label_config
from truthset.tasktypes.label_attributes import AttributeSpec

BB = get_task_type("bounding-box")

# The guide's 3D point cloud example, made valid JSON (it has trailing commas), with the
# fields the example leaves out (editsAllowed, isRequired, minimum / maximum, audit).
GUIDE_EXAMPLE: dict[str, Any] = {
    "documentVersion": "2020-03-01",
    "frameAttributes": [
        {
            "name": "count players",
            "description": "How many players to you see in the scene?",
            "type": "number",
        },
        {
            "name": "select one",
            "description": "describe the scene",
            "type": "string",
            "enum": ["clear", "blurry"],
            "isRequired": True,
        },
    ],
    "categoryGlobalAttributes": [
        {
            "name": "W",
            "description": "label-attributes-for-all-labels",
            "type": "string",
            "enum": ["foo", "buzz", "biz"],
        }
    ],
    "labels": [
        {
            "label": "Car",
            "editsAllowed": "any",
            "categoryAttributes": [
                {"name": "X", "description": "enter a number", "type": "number"},
                {"name": "Y", "type": "string", "enum": ["y1", "y2"], "editsAllowed": "none"},
                {"name": "Z", "description": "free-form", "type": "string"},
                {"name": "N", "type": "number", "minimum": 0, "maximum": 10, "isRequired": True},
            ],
        },
        {"label": "Pedestrian"},
    ],
    "annotationType": "BoundingBox",
    "instructions": {"shortInstruction": "Draw a tight box", "fullInstruction": "<p>more</p>"},
    "auditLabelAttributeName": "myPrevJobLabelAttributeName",
}


def doc(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(GUIDE_EXAMPLE)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def attribute(**fields: Any) -> dict[str, Any]:
    return {"name": "a", "type": "string", **fields}


def labels_with(*attrs: dict[str, Any], label: str = "Car") -> list[dict[str, Any]]:
    return [{"label": label, "categoryAttributes": list(attrs)}]


def refused(raw: Any, message: str, task_type: Any = BB) -> None:
    with pytest.raises(BadInput, match=message):
        task_type.parse_label_config(raw)


def test_the_guide_example_is_parsed_into_the_config():
    config = BB.parse_label_config(GUIDE_EXAMPLE)
    assert config.labels == ("Car", "Pedestrian")
    assert config.raw == GUIDE_EXAMPLE  # kept as given
    assert config.document_version == "2020-03-01"
    assert [a.name for a in config.attributes_of("Car")] == ["W", "X", "Y", "Z", "N"]
    assert [a.name for a in config.attributes_of("Pedestrian")] == ["W"]
    assert config.global_attributes == (
        AttributeSpec(
            name="W",
            type="string",
            enum=("foo", "buzz", "biz"),
            description="label-attributes-for-all-labels",
        ),
    )
    n = config.attributes_of("Car")[-1]
    assert (n.type, n.minimum, n.maximum, n.is_required) == ("number", 0, 10, True)
    assert config.attributes_of("Car")[2].edits_allowed == "none"
    assert config.attributes_of("Car")[3].free_text
    assert [a.name for a in config.frame_attributes] == ["count players", "select one"]
    assert config.frame_attributes[1].is_required
    assert config.edits_allowed == {"Car": "any", "Pedestrian": "any"}
    assert config.annotation_type == "BoundingBox"
    assert config.instructions == GUIDE_EXAMPLE["instructions"]
    assert config.audit_label_attribute_name == "myPrevJobLabelAttributeName"
    assert config.has_label_attributes and config.has_attributes


def test_a_2020_file_with_labels_only_and_no_optional_parts():
    config = BB.parse_label_config({"documentVersion": "2020-03-01", "labels": [{"label": "a"}]})
    assert config.labels == ("a",)
    assert not config.has_attributes
    assert config.instructions is None and config.annotation_type is None


def test_the_2018_format_works_unchanged():
    raw = {"document-version": "2018-11-28", "labels": [{"label": "x" * 200}, {"label": "b"}]}
    config = parse_gt_label_config(raw, min_labels=2)
    assert config.labels == ("x" * 200, "b") and config.raw is raw
    assert config.document_version == "2018-11-28" and not config.has_attributes
    assert parse_gt_label_config(["a", "b"], min_labels=1).labels == ("a", "b")
    # keys it never read stay unread (shortDisplayName is NER's)
    many = {"labels": [{"label": f"l{i}", "shortDisplayName": "s"} for i in range(40)]}
    assert len(parse_gt_label_config(many, min_labels=1).labels) == 40


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"document-version": "2018-11-28", "labels": labels_with(attribute())},
            r"labels\[0\]\.categoryAttributes: label attributes belong to the 2020 format;"
            r' give "documentVersion": "2020-03-01"',
        ),
        (
            {"labels": [{"label": "a"}], "frameAttributes": []},
            r"frameAttributes: belongs to the 2020 format",
        ),
        (
            {"labels": [{"label": "a"}], "categoryGlobalAttributes": [attribute()]},
            r"categoryGlobalAttributes: belongs to the 2020 format",
        ),
        (
            {"labels": [{"label": "a", "attributes": [attribute()]}]},
            r"labels\[0\]\.attributes: label attributes belong to the 2020 format",
        ),
    ],
)
def test_attributes_outside_the_2020_format_are_refused_not_ignored(raw, message):
    refused(raw, message)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (doc(documentVersion="2021-01-01"), r"documentVersion: '2021-01-01' is not '2020-03-01'"),
        (doc(labels=[]), r"labels: 0 labels; the 2020 format takes 1 to 30"),
        (
            doc(labels=[{"label": f"l{i}"} for i in range(31)]),
            r"labels: 31 labels; the 2020 format takes 1 to 30",
        ),
        (doc(labels="Car"), r"labels: must be a list"),
        (doc(labels=["Car"]), r"labels\[0\]: 'Car' is not an object"),
        (doc(labels=[{"label": ""}]), r"labels\[0\]\.label: '' must be text of 1 to 16"),
        (doc(labels=[{"label": "   "}]), r"labels\[0\]\.label: '   ' must be text of 1 to 16"),
        (doc(labels=[{"label": "x" * 17}]), r"labels\[0\]\.label: 'x{17}' must be text of 1 to 16"),
        (doc(labels=[{"label": 5}]), r"labels\[0\]\.label: 5 is not text"),
        (doc(labels=[{}]), r"labels\[0\]\.label: missing"),
        (
            doc(labels=[{"label": "a"}, {"label": "a"}]),
            r"labels\[1\]\.label: 'a' is also labels\[0\]",
        ),
        (
            doc(labels=[{"label": "a", "editsAllowed": "some"}]),
            r"labels\[0\]\.editsAllowed: 'some' is not 'none' or 'any'",
        ),
        (
            doc(labels=[{"label": "a", "shortDisplayName": "x"}]),
            r"labels\[0\]\.shortDisplayName: not a field of the 2020 format \(known: label,"
            r" categoryAttributes, editsAllowed\)",
        ),
        (
            doc(labels=[{"label": "a", "attributes": [attribute()]}]),
            r"labels\[0\]\.attributes: not a field of the 2020 format; Ground Truth names a"
            r" label's attributes 'categoryAttributes'",
        ),
        (doc(colour="red"), r"label config: colour: not a field of the 2020 format"),
        (
            doc(annotationType="Cuboid"),
            r"annotationType: 'Cuboid' is not one of BoundingBox, Polyline, Polygon, Keypoint",
        ),
        (
            doc(instructions="read me"),
            r"instructions: 'read me' is not an object \{shortInstruction, fullInstruction\}",
        ),
        (
            doc(instructions={"shortInstruction": "x"}),
            r"instructions\.fullInstruction: missing",
        ),
        (
            doc(instructions={"shortInstruction": "x" * 255, "fullInstruction": ""}),
            r"instructions\.shortInstruction: 255 characters; it must be under 255 characters",
        ),
        (
            doc(instructions={"shortInstruction": "", "fullInstruction": "x" * 2048}),
            r"instructions\.fullInstruction: 2048 characters; it must be under 2048 characters",
        ),
        (
            doc(instructions={"shortInstruction": "", "fullInstruction": "", "more": ""}),
            r"instructions\.more: not a field of the 2020 format",
        ),
        (doc(auditLabelAttributeName=7), r"auditLabelAttributeName: 7 is not text"),
        (doc(auditLabelAttributeName=""), r"auditLabelAttributeName: '' must be text of 1 to"),
    ],
)
def test_the_file_level_errors_name_the_path_and_value(raw, message):
    refused(raw, message)


@pytest.mark.parametrize(
    ("attr", "message"),
    [
        ("occluded", r"categoryAttributes\[0\]: 'occluded' is not an object"),
        ({"type": "string"}, r"categoryAttributes\[0\]\.name: missing"),
        (attribute(name=""), r"categoryAttributes\[0\]\.name: '' must be text of 1 to 16"),
        (
            attribute(name="n" * 17),
            r"categoryAttributes\[0\]\.name: 'n{17}' must be text of 1 to 16",
        ),
        (attribute(type="boolean"), r"categoryAttributes\[0\]\.type: 'boolean' is not 'string'"),
        ({"name": "a"}, r"categoryAttributes\[0\]\.type: None is not 'string' or 'number'"),
        (
            attribute(description="d" * 129),
            r"categoryAttributes\[0\]\.description: 'd{129}' must be text of 0 to 128",
        ),
        (attribute(enum=[]), r"categoryAttributes\[0\]\.enum: \[\] must be a list of 1 to 10"),
        (
            attribute(enum=[str(i) for i in range(11)]),
            r"categoryAttributes\[0\]\.enum: \['0', .*\] must be a list of 1 to 10 values",
        ),
        (attribute(enum="yes"), r"categoryAttributes\[0\]\.enum: 'yes' must be a list"),
        (
            attribute(enum=["yes", "v" * 17]),
            r"categoryAttributes\[0\]\.enum\[1\]: 'v{17}' must be text of 1 to 16",
        ),
        (attribute(enum=["yes", ""]), r"categoryAttributes\[0\]\.enum\[1\]: '' must be text"),
        (attribute(enum=["yes", 1]), r"categoryAttributes\[0\]\.enum\[1\]: 1 is not text"),
        (
            attribute(enum=["yes", "yes"]),
            r"categoryAttributes\[0\]\.enum\[1\]: 'yes' appears twice",
        ),
        (
            attribute(type="number", enum=["1"]),
            r"categoryAttributes\[0\]\.enum: only a 'string' attribute takes an enum",
        ),
        (
            attribute(minimum=1),
            r"categoryAttributes\[0\]\.minimum: only a 'number' attribute takes a minimum",
        ),
        (
            attribute(type="number", maximum="9"),
            r"categoryAttributes\[0\]\.maximum: '9' is not a number",
        ),
        (
            attribute(type="number", minimum=True),
            r"categoryAttributes\[0\]\.minimum: True is not a number",
        ),
        (
            attribute(type="number", minimum=5, maximum=1),
            r"categoryAttributes\[0\]\.minimum: 5 is above the maximum 1",
        ),
        (
            attribute(isRequired="yes"),
            r"categoryAttributes\[0\]\.isRequired: 'yes' is not true or false",
        ),
        (
            attribute(editsAllowed="all"),
            r"categoryAttributes\[0\]\.editsAllowed: 'all' is not 'none' or 'any'",
        ),
        (
            attribute(values=["a"]),
            r"categoryAttributes\[0\]\.values: not a field of the 2020 format \(known: name,",
        ),
    ],
)
def test_attribute_errors_name_the_path_and_value(attr, message):
    refused(doc(labels=labels_with(attr)), r"label config: labels\[0\]\." + message)


def test_attribute_quotas_count_the_global_ones():
    enum = {"type": "string", "enum": ["a"]}
    six = [{"name": f"g{i}", **enum} for i in range(6)]
    five = [{"name": f"o{i}", **enum} for i in range(5)]
    refused(
        doc(categoryGlobalAttributes=six, labels=labels_with(*five)),
        r"labels\[0\]\.categoryAttributes: 11 attributes for label 'Car' \(its own and the"
        r" global ones\), at most 10 are allowed",
    )
    # ten in all is the quota, not over it
    config = BB.parse_label_config(doc(categoryGlobalAttributes=six, labels=labels_with(*five[:4])))
    assert len(config.attributes_of("Car")) == 10
    refused(
        doc(categoryGlobalAttributes=[{"name": f"g{i}", **enum} for i in range(11)]),
        r"categoryGlobalAttributes: 11 attributes, at most 10",
    )
    free = [{"name": f"t{i}", "type": "string"} for i in range(3)]
    more_free = [{"name": f"u{i}", "type": "string"} for i in range(3)]
    refused(
        doc(categoryGlobalAttributes=free, labels=labels_with(*more_free)),
        r"labels\[0\]\.categoryAttributes: 6 free-text attributes \(string without enum\) for"
        r" label 'Car'.*at most 5",
    )


def test_attribute_names_are_unique_per_label_and_against_the_global_ones():
    refused(
        doc(labels=labels_with(attribute(), attribute())),
        r"labels\[0\]\.categoryAttributes\[1\]\.name: 'a' is also"
        r" labels\[0\]\.categoryAttributes\[0\]",
    )
    refused(
        doc(labels=labels_with(attribute(name="W"))),
        r"labels\[0\]\.categoryAttributes\[0\]\.name: 'W' is also categoryGlobalAttributes\[0\];"
        r" a label's attribute and a global one cannot share a name",
    )
    # two labels may each have an attribute of the same name
    two = [
        {"label": "a", "categoryAttributes": [attribute(name="occluded")]},
        {"label": "b", "categoryAttributes": [attribute(name="occluded")]},
    ]
    assert BB.parse_label_config(doc(labels=two)).labels == ("a", "b")


def test_frame_attributes_need_a_description_and_keep_the_quotas():
    refused(
        doc(frameAttributes=[{"name": "weather", "type": "string"}]),
        r"frameAttributes\[0\]\.description: missing; a frame attribute needs a description",
    )
    refused(doc(frameAttributes={"name": "w"}), r"frameAttributes: \{'name': 'w'\} is not a list")
    many = [{"name": f"f{i}", "type": "number", "description": "d"} for i in range(11)]
    refused(doc(frameAttributes=many), r"frameAttributes: 11 attributes, at most 10")
    free = [{"name": f"f{i}", "type": "string", "description": "d"} for i in range(6)]
    refused(doc(frameAttributes=free), r"frameAttributes: 6 free-text attributes")
    refused(
        doc(frameAttributes=[GUIDE_EXAMPLE["frameAttributes"][0]] * 2),
        r"frameAttributes\[1\]\.name: 'count players' is also frameAttributes\[0\]",
    )


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("polygon", "Polygon"),
        ("instance-segmentation", "Polygon"),
        ("polyline", "Polyline"),
        ("keypoint", "Keypoint"),
    ],
)
def test_every_image_object_type_takes_attributes_and_checks_annotation_type(name, kind):
    task_type = get_task_type(name)
    config = task_type.parse_label_config(doc(annotationType=kind))
    assert config.has_label_attributes
    refused(
        doc(annotationType="BoundingBox"),
        rf"annotationType: 'BoundingBox' does not fit a {name} job \(its annotationType is"
        rf" '{kind}'\)",
        task_type,
    )


@pytest.mark.parametrize(
    "name",
    [
        "image-classification",
        "text-classification-multilabel",
        "semantic-segmentation",
        "named-entity-recognition",
        "label-verification",
    ],
)
def test_types_without_attributes_refuse_them_rather_than_ignore_them(name):
    task_type = get_task_type(name)
    plain = {"documentVersion": "2020-03-01", "labels": [{"label": "a"}, {"label": "b"}]}
    assert task_type.parse_label_config(plain).labels == ("a", "b")
    for key in ("categoryGlobalAttributes", "frameAttributes"):
        raw = {**plain, key: [attribute(description="d")]}
        refused(
            raw, re.escape(f"label config: {key}: this task type takes no attributes"), task_type
        )
    raw = {**plain, "labels": labels_with(attribute()) + [{"label": "b"}]}
    refused(raw, r"labels\[0\]\.categoryAttributes: this task type takes no attributes", task_type)
