"""CreateLabelingJob requests as Ground Truth users write them, for the tests."""

from __future__ import annotations

import copy
from typing import Any

LAMBDA = "arn:aws:lambda:us-east-1:432418664414:function:{}-{}"
TEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/{}"
ALGORITHM = "arn:aws:sagemaker:us-east-1:027400017018:labeling-job-algorithm-specification/{}"
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"


def request(
    name: str = "cats-2021-03",
    task: str = "ImageMultiClass",
    *,
    manifest: str = "s3://bucket/in.manifest",
    labels: str = "s3://bucket/labels.json",
    output: str = "s3://bucket/out/",
    team: str = "crew",
    attribute: str | None = None,
    **human: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "LabelingJobName": name,
        "LabelAttributeName": attribute or name,
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": manifest}}},
        "OutputConfig": {"S3OutputPath": output},
        "RoleArn": ROLE,
        "LabelCategoryConfigS3Uri": labels,
        "HumanTaskConfig": {
            "WorkteamArn": TEAM.format(team),
            "UiConfig": {"UiTemplateS3Uri": "s3://bucket/template.liquid.html"},
            "PreHumanTaskLambdaArn": LAMBDA.format("PRE", task),
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": LAMBDA.format("ACS", task)
            },
            "TaskTitle": "Cats or dogs",
            "TaskDescription": "Choose the animal in the picture",
            "TaskKeywords": ["images", "classification"],
            "NumberOfHumanWorkersPerDataObject": 3,
            "TaskTimeLimitInSeconds": 300,
            **human,
        },
    }
    return body


def label_file(*names: str, **extra: Any) -> dict[str, Any]:
    return {
        "document-version": "2018-11-28",
        "labels": [{"label": n} for n in (names or ("cat", "dog"))],
        **extra,
    }


def changed(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `body` with the field at dotted `path` set (or removed, for ...)."""
    out = copy.deepcopy(body)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if value is ...:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value
    return out
