"""Ground Truth's published output lines (shared/reference/groundtruth-manifests.md, 2.4)
and a key-by-key shape comparison."""

from __future__ import annotations

from typing import Any

BOUNDING_BOX = {
    "source-ref": "s3://AWSDOC-EXAMPLE-BUCKET/example_image.png",
    "bounding-box-attribute-name": {
        "image_size": [{"width": 500, "height": 400, "depth": 3}],
        "annotations": [
            {"class_id": 0, "left": 111, "top": 134, "width": 61, "height": 128},
            {"class_id": 5, "left": 161, "top": 250, "width": 30, "height": 30},
        ],
    },
    "bounding-box-attribute-name-metadata": {
        "objects": [{"confidence": 0.8}, {"confidence": 0.9}],
        "class-map": {"0": "dog", "5": "bone"},
        "type": "groundtruth/object-detection",
        "human-annotated": "yes",
        "creation-date": "2018-10-18T22:18:13.527256",
        "job-name": "identify-dogs-and-toys",
    },
}

VERIFICATION = {
    "verify-bounding-box-attribute-name": "1",
    "verify-bounding-box-attribute-name-metadata": {
        "class-name": "bad",
        "confidence": 0.93,
        "type": "groundtruth/label-verification",
        "job-name": "verify-bounding-boxes",
        "human-annotated": "yes",
        "creation-date": "2018-11-20T22:18:13.527256",
        "worker-feedback": [
            {"comment": "The bounding box on the bird is too wide on the right side."}
        ],
    },
}

SEMANTIC_SEGMENTATION = {
    "source-ref": "s3://julien-sagemaker-book/chapter2/cat/cat1.jpg",
    "my-cat-job-ref": "s3://julien-sagemaker-book/chapter2/cat/output/my-cat-job/annotations/"
    "consolidated-annotation/output/0_2020-04-21T13:48:00.091190.png",
    "my-cat-job-ref-metadata": {
        "internal-color-map": {
            "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0.80546},
            "1": {"class-name": "cat", "hex-color": "#2ca02c", "confidence": 0.80546},
        },
        "type": "groundtruth/semantic-segmentation",
        "human-annotated": "yes",
        "creation-date": "2020-04-21T13:48:00.562419",
        "job-name": "labeling-job/my-cat-job",
    },
}

NER = {
    "source": "Amazon SageMaker is a cloud machine-learning platform …",
    "ner-labeling-job-attribute-name": {
        "annotations": {
            "labels": [
                {"label": "Date", "shortDisplayName": "dt"},
                {"label": "Thing", "shortDisplayName": "tng"},
            ],
            "entities": [
                {"label": "Thing", "startOffset": 22, "endOffset": 53},
                {"label": "Date", "startOffset": 75, "endOffset": 88},
            ],
        }
    },
    "ner-labeling-job-attribute-name-metadata": {
        "job-name": "labeling-job/example-ner-labeling-job",
        "type": "groundtruth/text-span",
        "creation-date": "2020-10-29T00:40:39.398470",
        "human-annotated": "yes",
        "entities": [{"confidence": 0}, {"confidence": 0}],
    },
}

# Keys the core adds to every `<attr>-metadata`; a task type's `meta` holds the others.
CORE_META = {"type", "job-name", "human-annotated", "creation-date"}


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


# Objects keyed by class id: any id strings, every value shaped like the reference's first.
ID_MAPS = {"class-map", "internal-color-map", "confidence-map"}


def assert_same_shape(actual: Any, reference: Any, path: str = "$") -> None:
    """Same keys at every level, same JSON kinds, list items shaped like the reference's
    first item (an empty list on either side matches any list)."""
    assert kind(actual) == kind(reference), f"{path}: {kind(actual)} != {kind(reference)}"
    if isinstance(reference, dict) and path.rsplit(".", 1)[-1] in ID_MAPS:
        first = next(iter(reference.values()))
        for key, value in actual.items():
            assert key.isdigit(), f"{path}: key {key!r} is not a class id"
            assert_same_shape(value, first, f"{path}.{key}")
    elif isinstance(reference, dict):
        assert set(actual) == set(reference), (
            f"{path}: keys {sorted(actual)} != {sorted(reference)}"
        )
        for key in reference:
            assert_same_shape(actual[key], reference[key], f"{path}.{key}")
    elif isinstance(reference, list) and reference and actual:
        for i, item in enumerate(actual):
            assert_same_shape(item, reference[0], f"{path}[{i}]")


def label_and_meta(line: dict[str, Any], attr: str) -> tuple[Any, dict[str, Any]]:
    return line[attr], line[f"{attr}-metadata"]


def type_meta(reference_line: dict[str, Any], attr: str) -> dict[str, Any]:
    """The reference metadata without the keys the core adds."""
    meta = reference_line[f"{attr}-metadata"]
    return {k: v for k, v in meta.items() if k not in CORE_META}
