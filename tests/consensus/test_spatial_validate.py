import base64

import numpy as np
import pytest

from truthset.consensus.spatial import encode_label_png_base64
from truthset.consensus.spatial.validate import (
    VALIDATORS,
    validate_bounding_box_answer,
    validate_class_mask,
    validate_keypoint_answer,
    validate_named_entity_answer,
    validate_polygon_answer,
    validate_polyline_answer,
    validate_semantic_segmentation_answer,
    validate_transcription_answer,
)

SIZE = {"width": 800, "height": 533}
LABELS = ["Dog", "Cat"]


def box(**kw):
    b = {"label": "Dog", "left": 243, "top": 117, "width": 187, "height": 401}
    b.update(kw)
    return {"boundingBoxes": [b], "inputImageProperties": SIZE}


def test_valid_answers_pass():
    validate_bounding_box_answer(box(), labels=LABELS)
    validate_bounding_box_answer({"boundingBox": box()}, image_size=(800, 533), labels=LABELS)
    validate_polygon_answer(
        {
            "polygons": [
                {
                    "label": "Cat",
                    "vertices": [{"x": 0, "y": 0}, {"x": 800, "y": 0}, {"x": 5, "y": 533}],
                }
            ]
        },
        image_size=SIZE,
        labels=LABELS,
    )
    validate_keypoint_answer(
        {"keypoints": [{"label": "Dog", "x": 155, "y": 275}], "inputImageProperties": SIZE}
    )
    validate_named_entity_answer(
        {"entities": [{"label": "Dog", "startOffset": 4, "endOffset": 7}]}, text="the dog"
    )
    validate_transcription_answer({"transcription": "hello"})


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"left": -3}, r"^boundingBoxes\[0\]\.left: -3 is outside the image \(width 800\)"),
        ({"top": -1}, r"^boundingBoxes\[0\]\.top: -1 is outside the image \(height 533\)"),
        ({"width": 600}, r"^boundingBoxes\[0\]\.width: left 243 \+ width 600 is outside the image"),
        ({"height": 500}, r"^boundingBoxes\[0\]\.height: top 117 \+ height 500"),
        ({"width": 0}, r"^boundingBoxes\[0\]\.width: 0 must be positive"),
        ({"left": "12"}, r"^boundingBoxes\[0\]\.left: '12' is not a number"),
        ({"left": float("nan")}, r"^boundingBoxes\[0\]\.left: nan is not a finite number"),
        ({"label": "Bird"}, r"^boundingBoxes\[0\]\.label: 'Bird' is not in the label list"),
    ],
)
def test_bounding_box_errors_name_the_field(change, pattern):
    with pytest.raises(ValueError, match=pattern):
        validate_bounding_box_answer(box(**change), labels=LABELS)


def test_image_properties_must_match_the_item():
    with pytest.raises(
        ValueError, match=r"^inputImageProperties\.width: 800 differs from the image's 640"
    ):
        validate_bounding_box_answer(box(), image_size=(640, 533))
    with pytest.raises(ValueError, match=r"^inputImageProperties: missing"):
        validate_bounding_box_answer({"boundingBoxes": []})


def test_polygon_polyline_keypoint_errors():
    tri = [{"x": 1, "y": 1}, {"x": 10, "y": 1}, {"x": 900, "y": 9}]
    with pytest.raises(
        ValueError, match=r"^polygons\[0\]\.vertices\[2\]\.x: 900 is outside the image"
    ):
        validate_polygon_answer({"polygons": [{"label": "Dog", "vertices": tri}]}, image_size=SIZE)
    with pytest.raises(ValueError, match=r"^polygons\[0\]\.vertices: 2 vertices, need 3"):
        validate_polygon_answer(
            {"polygons": [{"label": "Dog", "vertices": tri[:2]}]}, image_size=SIZE
        )
    flat = [{"x": 1, "y": 1}, {"x": 2, "y": 2}, {"x": 3, "y": 3}]
    with pytest.raises(ValueError, match=r"^polygons\[0\]\.vertices: the polygon has zero area"):
        validate_polygon_answer({"polygons": [{"label": "Dog", "vertices": flat}]}, image_size=SIZE)
    with pytest.raises(ValueError, match=r"^lines\[0\]\.vertices: 3 vertices, need 2-2"):
        validate_polyline_answer({"lines": [{"label": "Dog", "vertices": flat}]}, image_size=SIZE)
    validate_polyline_answer({"polylines": [{"label": "Dog", "vertices": flat}]}, image_size=SIZE)
    with pytest.raises(ValueError, match=r"^keypoints\[1\]\.label: 'Fox' is not in the label list"):
        validate_keypoint_answer(
            {"keypoints": [{"label": "Dog", "x": 1, "y": 1}, {"label": "Fox", "x": 1, "y": 1}]},
            image_size=SIZE,
            labels=LABELS,
        )
    with pytest.raises(
        ValueError, match=r"^keypoints\[0\]\.y: 600 is outside the image \(height 533\)"
    ):
        validate_keypoint_answer(
            {"keypoints": [{"label": "Dog", "x": 1, "y": 600}]}, image_size=SIZE
        )


def test_entity_errors():
    text = "Amazon SageMaker"
    cases = [
        (
            {"label": "Dog", "startOffset": 0, "endOffset": 17},
            r"^entities\[0\]\.endOffset: 17 is outside the text \(length 16\)",
        ),
        (
            {"label": "Dog", "startOffset": 5, "endOffset": 5},
            r"^entities\[0\]\.endOffset: 5 is not after startOffset 5 \(empty span\)",
        ),
        (
            {"label": "Dog", "startOffset": 6, "endOffset": 7},
            r"^entities\[0\]: span 6-7 is only whitespace",
        ),
        (
            {"label": "Dog", "startOffset": 1.5, "endOffset": 7},
            r"^entities\[0\]\.startOffset: 1.5 is not an integer",
        ),
        ({"label": "Bird", "startOffset": 0, "endOffset": 6}, r"^entities\[0\]\.label: 'Bird'"),
        ({"startOffset": 0, "endOffset": 6}, r"^entities\[0\]\.label: missing"),
    ]
    for entity, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            validate_named_entity_answer({"entities": [entity]}, text=text, labels=LABELS)
    overlapping = {
        "entities": [
            {"label": "Dog", "startOffset": 0, "endOffset": 6},
            {"label": "Dog", "startOffset": 3, "endOffset": 9},
        ]
    }
    validate_named_entity_answer(overlapping, text=text)
    with pytest.raises(ValueError, match=r"^entities\[1\]\.startOffset: 3 overlaps entities\[0\]"):
        validate_named_entity_answer(overlapping, text=text, allow_overlap=False)


def test_semantic_segmentation_errors():
    mask = np.zeros((4, 6), dtype=np.uint8)
    mask[1:3, 1:3] = 1
    png = encode_label_png_base64(mask, ["#ffffff", "#2ca02c", "#1f77b4"])
    good = {
        "labeledImage": {"pngImageData": png},
        "labelMappings": {"Dog": {"color": "#2ca02c"}},
        "inputImageProperties": {"width": 6, "height": 4},
    }
    np.testing.assert_array_equal(validate_semantic_segmentation_answer(good, labels=LABELS), mask)
    with pytest.raises(
        ValueError, match=r"^labeledImage\.pngImageData: mask is 6x4, the image is 8x4"
    ):
        no_props = {k: v for k, v in good.items() if k != "inputImageProperties"}
        validate_semantic_segmentation_answer(no_props, image_size=(8, 4), labels=LABELS)
    with pytest.raises(
        ValueError, match=r"^labelMappings\.Bird: label 'Bird' is not in the label list"
    ):
        validate_semantic_segmentation_answer(
            {**good, "labelMappings": {"Bird": {"color": "#2ca02c"}}}, labels=LABELS
        )
    with pytest.raises(ValueError, match=r"^labelMappings\.Dog\.color: 'green' is not a #rrggbb"):
        validate_semantic_segmentation_answer(
            {**good, "labelMappings": {"Dog": {"color": "green"}}}, labels=LABELS
        )
    with pytest.raises(
        ValueError, match=r"^labeledImage\.pngImageData: colour #2ca02c is not in labelMappings"
    ):
        validate_semantic_segmentation_answer(
            {**good, "labelMappings": {"Cat": {"color": "#1f77b4"}}}, labels=LABELS
        )
    bad = {**good, "labeledImage": {"pngImageData": base64.b64encode(b"nope").decode()}}
    with pytest.raises(ValueError, match=r"^labeledImage\.pngImageData: not a readable PNG"):
        validate_semantic_segmentation_answer(bad, labels=LABELS)


def test_class_mask_and_transcription_errors():
    with pytest.raises(ValueError, match=r"^mask: class 3 is outside 0\.\.2"):
        validate_class_mask(np.full((2, 2), 3), image_size=(2, 2), n_labels=2)
    with pytest.raises(ValueError, match=r"^mask: shape \(2, 3\) differs"):
        validate_class_mask(np.zeros((2, 3), int), image_size=(2, 2), n_labels=2)
    with pytest.raises(ValueError, match=r"^transcription: '  ' is blank"):
        validate_transcription_answer("  ")
    with pytest.raises(ValueError, match=r"^transcription: 12 characters, more than 5"):
        validate_transcription_answer("hello world!", max_length=5)


def test_every_kind_has_a_validator():
    assert set(VALIDATORS) >= {
        "bounding-box",
        "polygon",
        "keypoint",
        "semantic-segmentation",
        "named-entity",
        "transcription",
    }
