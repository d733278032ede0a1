"""CreateLabelingJob requests mapped to jobs: every built-in Lambda, every field without
an equivalent (a warning each), every bad value (an error naming the field)."""

from __future__ import annotations

import pytest

from sagemaker.gt_requests import ALGORITHM, changed, label_file, request
from truthset.errors import BadInput
from truthset.sagemaker.request import NO_EQUIVALENT, NOT_AVAILABLE, TASK_TYPES, map_request
from truthset.sagemaker.shapes import check_input
from truthset.tasktypes import all_task_types

REVIEWS = {"auditLabelAttributeName": "boxes"}


@pytest.mark.parametrize("task", sorted(TASK_TYPES))
def test_every_built_in_lambda_maps_to_a_task_type(task):
    task_type, extra = TASK_TYPES[task]
    assert task_type in all_task_types()
    attribute = "out-ref" if task_type == "semantic-segmentation" else "out"
    labels = label_file(**(REVIEWS if task.startswith(("Verification", "Adjustment")) else {}))
    mapped = map_request(request(task=task, attribute=attribute), labels)
    assert mapped.spec.task_type == task_type
    assert mapped.spec.settings.get("adjustment", False) is extra.get("adjustment", False)
    assert mapped.audit_attribute == labels.get("auditLabelAttributeName")


def test_the_fields_that_map():
    body = request(
        TaskAvailabilityLifetimeInSeconds=3600,
        MaxConcurrentTaskCount=50,
    )
    body["StoppingConditions"] = {
        "MaxHumanLabeledObjectCount": 500,
        "MaxPercentageOfInputDatasetLabeled": 90,
    }
    body["LabelingJobAlgorithmsConfig"] = {
        "LabelingJobAlgorithmSpecificationArn": "arn:aws:sagemaker:us-east-1:027400017018:"
        "labeling-job-algorithm-specification/image-classification"
    }
    labels = label_file(
        "cat", "dog", instructions={"shortInstruction": "Pick one", "fullInstruction": "<p>x</p>"}
    )
    mapped = map_request(body, labels)
    spec = mapped.spec
    assert (spec.name, spec.dataset, spec.label_attribute) == ("cats-2021-03",) * 3
    assert spec.task_type == "image-classification" and spec.label_config == labels
    assert (spec.workers_per_item, spec.task_time_limit, spec.task_availability) == (3, 300, 3600)
    assert (spec.max_concurrent_tasks, spec.max_human_labeled) == (50, 500)
    assert spec.max_percentage_labeled == 90 and spec.teams == ["crew"]
    assert mapped.manifest == "s3://bucket/in.manifest"
    assert (
        spec.instructions
        == "# Cats or dogs\n\nChoose the animal in the picture\n\nPick one\n\n<p>x</p>\n"
    )
    assert spec.settings["task"] == {
        "title": "Cats or dogs",
        "description": "Choose the animal in the picture",
        "keywords": ["images", "classification"],
    }
    assert spec.settings["output"] == {"path": "s3://bucket/out/"}
    assert spec.settings["auto_label"] == {"target_accuracy": 0.95}
    assert spec.settings["sagemaker"]["request"] == body
    assert map_request(body, labels, instructions="mine").spec.instructions == "mine"


def test_every_field_without_an_equivalent_is_a_warning():
    body = request()
    body["InputConfig"]["DataAttributes"] = {
        "ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]
    }
    body["OutputConfig"].update(
        KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/k",
        SnsTopicArn="arn:aws:sns:us-east-1:123456789012:done",
    )
    body["HumanTaskConfig"]["PublicWorkforceTaskPrice"] = {
        "AmountInUsd": {"Dollars": 0, "Cents": 3, "TenthFractionsOfACent": 6}
    }
    body["Tags"] = [{"Key": "team", "Value": "vision"}]
    body["LabelingJobAlgorithmsConfig"] = {
        "LabelingJobAlgorithmSpecificationArn": "arn:aws:sagemaker:us-east-1:027400017018:"
        "labeling-job-algorithm-specification/image-classification",
        "InitialActiveLearningModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m",
        "LabelingJobResourceConfig": {"VolumeKmsKeyId": "k"},
    }
    warnings = map_request(body, label_file()).warnings
    expected = set(NO_EQUIVALENT) - {"InputConfig.DataSource.SnsDataSource"}
    assert {w.split(" ", 1)[0] for w in warnings} == expected
    assert all("no equivalent here" in w for w in warnings)


def test_an_sns_data_source_makes_a_streaming_job_and_says_so():
    body = request()
    body["InputConfig"]["DataSource"] = {
        "SnsDataSource": {"SnsTopicArn": "arn:aws:sns:us-east-1:123456789012:in"}
    }
    mapped = map_request(body, label_file())
    assert mapped.manifest is None and mapped.spec.settings["streaming"] is True
    assert any(w.startswith("InputConfig.DataSource.SnsDataSource") for w in mapped.warnings)


def test_box_auto_labeling_is_a_warning_not_a_silent_drop():
    body = request(task="BoundingBox", attribute="boxes")
    body["LabelingJobAlgorithmsConfig"] = {
        "LabelingJobAlgorithmSpecificationArn": "arn:aws:sagemaker:us-east-1:027400017018:"
        "labeling-job-algorithm-specification/object-detection"
    }
    mapped = map_request(body, label_file())
    assert "auto_label" not in mapped.spec.settings
    assert any("automated labeling was not turned on" in w for w in mapped.warnings)


BAD = [
    (
        "HumanTaskConfig.NumberOfHumanWorkersPerDataObject",
        10,
        "HumanTaskConfig.NumberOfHumanWorkersPerDataObject must be 1-9",
    ),
    ("HumanTaskConfig.NumberOfHumanWorkersPerDataObject", "3", "must be a whole number"),
    ("HumanTaskConfig.NumberOfHumanWorkersPerDataObject", True, "must be a whole number"),
    (
        "HumanTaskConfig.TaskTimeLimitInSeconds",
        10,
        "HumanTaskConfig.TaskTimeLimitInSeconds must be at least 30",
    ),
    (
        "HumanTaskConfig.TaskTimeLimitInSeconds",
        28801,
        "HumanTaskConfig.TaskTimeLimitInSeconds must be 30-28800",
    ),
    ("HumanTaskConfig.TaskAvailabilityLifetimeInSeconds", 59, "must be at least 60"),
    ("HumanTaskConfig.TaskAvailabilityLifetimeInSeconds", 40 * 86400, "must be 60-2592000"),
    (
        "HumanTaskConfig.MaxConcurrentTaskCount",
        5001,
        "HumanTaskConfig.MaxConcurrentTaskCount must be 1-5000",
    ),
    ("HumanTaskConfig.TaskTitle", "", "HumanTaskConfig.TaskTitle must have 1-128 characters"),
    ("HumanTaskConfig.TaskKeywords", [], "HumanTaskConfig.TaskKeywords must have 1-5 entries"),
    ("HumanTaskConfig.TaskKeywords", ["a"] * 6, "must have 1-5 entries"),
    ("HumanTaskConfig.TaskDescription", ..., "HumanTaskConfig.TaskDescription is required"),
    (
        "HumanTaskConfig.WorkteamArn",
        "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default",
        "HumanTaskConfig.WorkteamArn: 'public-crowd'",
    ),
    (
        "HumanTaskConfig.WorkteamArn",
        "my-team",
        "HumanTaskConfig.WorkteamArn 'my-team' does not match",
    ),
    (
        "HumanTaskConfig.PreHumanTaskLambdaArn",
        "arn:aws:lambda:us-east-1:123456789012:function:my-pre",
        "the template's text is needed for a custom job",
    ),
    (
        "HumanTaskConfig.PreHumanTaskLambdaArn",
        "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox",
        "PRE-BoundingBox but AnnotationConsolidationLambdaArn is ACS-ImageMultiClass",
    ),
    ("HumanTaskConfig.Extra", 1, "unknown field HumanTaskConfig.Extra"),
    ("Bogus", 1, "unknown field Bogus"),
    ("LabelingJobName", "bad_name!", "LabelingJobName 'bad_name!' does not match"),
    ("LabelingJobName", "x" * 64, "LabelingJobName must have 1-63 characters"),
    ("LabelAttributeName", ..., "LabelAttributeName is required"),
    ("LabelAttributeName", "cats-ref", "must not end with '-ref'"),
    ("RoleArn", ..., "RoleArn is required"),
    ("OutputConfig.S3OutputPath", ..., "OutputConfig.S3OutputPath is required"),
    ("InputConfig.DataSource", {}, "InputConfig.DataSource needs S3DataSource.ManifestS3Uri"),
    (
        "StoppingConditions",
        {"MaxPercentageOfInputDatasetLabeled": 101},
        "StoppingConditions.MaxPercentageOfInputDatasetLabeled must be 1-100",
    ),
    (
        "StoppingConditions",
        {"MaxHumanLabeledObjectCount": 0},
        "StoppingConditions.MaxHumanLabeledObjectCount must be at least 1",
    ),
    ("Tags", [{"Key": "k"}], "Tags[0].Value is required"),
    ("LabelCategoryConfigS3Uri", ..., "LabelCategoryConfigS3Uri is required"),
    (
        "LabelingJobAlgorithmsConfig",
        {"LabelingJobAlgorithmSpecificationArn": ALGORITHM.format("text-classification")},
        "text-classification labels text-classification jobs, not image-classification",
    ),
    (
        "LabelingJobAlgorithmsConfig",
        {"LabelingJobAlgorithmSpecificationArn": ALGORITHM.format("magic")},
        "'magic' is not one of Ground Truth's algorithms",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "message"), BAD, ids=[f"{p}={v!r}"[:60] for p, v, _ in BAD]
)
def test_a_bad_value_is_an_error_naming_the_field(path, value, message):
    with pytest.raises(BadInput) as info:
        map_request(changed(request(), path, value), label_file())
    assert message in str(info.value.detail)


@pytest.mark.parametrize("task", NOT_AVAILABLE)
def test_ground_truth_task_types_without_an_equivalent_are_refused(task):
    with pytest.raises(BadInput, match="without an equivalent here yet"):
        map_request(request(task=task), label_file())


def test_reviews_need_the_audited_attribute_and_another_attribute():
    with pytest.raises(BadInput, match="needs auditLabelAttributeName"):
        map_request(request(task="VerificationBoundingBox", attribute="v"), label_file())
    with pytest.raises(BadInput, match="must differ from the reviewed attribute"):
        map_request(request(task="AdjustmentBoundingBox", attribute="boxes"), label_file(**REVIEWS))


def test_multilabel_auto_labeling_is_refused_naming_the_field():
    body = request(task="ImageMultiClassMultiLabel")
    body["LabelingJobAlgorithmsConfig"] = {
        "LabelingJobAlgorithmSpecificationArn": "arn:aws:sagemaker:us-east-1:027400017018:"
        "labeling-job-algorithm-specification/image-classification"
    }
    with pytest.raises(BadInput, match="LabelingJobAlgorithmsConfig"):
        map_request(body, label_file())


def test_the_model_checks_other_operations_too():
    check_input("ListLabelingJobs", {"MaxResults": 5, "SortBy": "Name"})
    with pytest.raises(BadInput, match="SortBy must be one of Name, CreationTime, Status"):
        check_input("ListLabelingJobs", {"SortBy": "Size"})
    with pytest.raises(BadInput, match="MaxResults must be 1-100"):
        check_input("ListLabelingJobs", {"MaxResults": 0})
