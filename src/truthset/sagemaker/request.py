"""A `CreateLabelingJob` request (as the SageMaker API and boto3 take it) mapped to a
truthset job: a pure function of the request and the label category file it names.

Every field is either mapped, kept (in the job's settings, to be echoed back by
`DescribeLabelingJob`), or named in a warning: nothing is dropped silently. A field the
SageMaker model does not know is an error, and so is a value truthset cannot honour."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from truthset.errors import BadInput
from truthset.jobs.schemas import JobCreate
from truthset.sagemaker.shapes import check_input

OPERATION = "CreateLabelingJob"

# The suffix of the built-in PRE-/ACS- Lambda names -> (task type, extra job settings).
# Verification and adjustment forms review the labels of an earlier attribute, named by
# the label file's `auditLabelAttributeName`.
TASK_TYPES: dict[str, tuple[str, dict[str, Any]]] = {
    "ImageMultiClass": ("image-classification", {}),
    "ImageMultiClassMultiLabel": ("image-classification-multilabel", {}),
    "TextMultiClass": ("text-classification", {}),
    "TextMultiClassMultiLabel": ("text-classification-multilabel", {}),
    "BoundingBox": ("bounding-box", {}),
    "SemanticSegmentation": ("semantic-segmentation", {}),
    "NamedEntityRecognition": ("named-entity-recognition", {}),
    "VerificationBoundingBox": ("label-verification", {}),
    "VerificationSemanticSegmentation": ("label-verification", {}),
    "AdjustmentBoundingBox": ("bounding-box", {"adjustment": True}),
    "AdjustmentSemanticSegmentation": ("semantic-segmentation", {"adjustment": True}),
}
# Built-in Ground Truth task types that have no task type here yet.
NOT_AVAILABLE = (
    "VideoClassification",
    "VideoObjectDetection",
    "VideoObjectTracking",
    "AdjustmentVideoObjectDetection",
    "AdjustmentVideoObjectTracking",
    "3DPointCloudObjectDetection",
    "3DPointCloudObjectTracking",
    "3DPointCloudSemanticSegmentation",
    "Adjustment3DPointCloudObjectDetection",
    "Adjustment3DPointCloudObjectTracking",
    "Adjustment3DPointCloudSemanticSegmentation",
)
# Ground Truth's automated-labeling algorithms (the ARN's last path segment) -> the task
# type each one labels.
ALGORITHMS = {
    "image-classification": "image-classification",
    "text-classification": "text-classification",
    "object-detection": "bounding-box",
    "semantic-segmentation": "semantic-segmentation",
}
# Ground Truth's target: automated labels at least as accurate as 95% (sms-automated-labeling).
AUTO_LABEL = {"target_accuracy": 0.95}

# truthset's own limits where they are narrower than the SageMaker model's.
LIMITS = {
    "TaskTimeLimitInSeconds": (30, 8 * 3600),
    "TaskAvailabilityLifetimeInSeconds": (60, 30 * 86400),
}

# Fields with no equivalent here, and why: each one present is named in a warning.
NO_EQUIVALENT: dict[str, str] = {
    "RoleArn": "truthset reads and writes S3 with its own credentials",
    "InputConfig.DataAttributes": "content classifiers do not apply to private teams",
    "InputConfig.DataSource.SnsDataSource": (
        "there is no SNS subscription; the job is a streaming job over the dataset named "
        "after it: add objects with `truthset dataset import <job> ...`"
    ),
    "OutputConfig.KmsKeyId": "output objects get the bucket's default encryption",
    "OutputConfig.SnsTopicArn": "no SNS notifications; poll DescribeLabelingJob",
    "HumanTaskConfig.UiConfig": (
        "workers see the task type's built-in tool; templates are not rendered"
    ),
    "HumanTaskConfig.PublicWorkforceTaskPrice": "there is no paid public workforce here",
    "Tags": "kept with the stored request, not applied to anything",
    "LabelingJobAlgorithmsConfig.InitialActiveLearningModelArn": (
        "automated labeling starts from a new model"
    ),
    "LabelingJobAlgorithmsConfig.LabelingJobResourceConfig": (
        "models train on this server, without a VPC or volume key"
    ),
}


@dataclass(frozen=True)
class GroundTruthJob:
    """What a request asks for: the job, the manifest to import into the dataset named
    after the job, the reviewed attribute of a verification / adjustment job (its input
    job is the dataset's job with that label attribute), and the warnings."""

    spec: JobCreate
    manifest: str | None
    team: str
    audit_attribute: str | None = None
    warnings: list[str] = field(default_factory=list)


# A request whose Lambdas are the team's own: a custom job running UiTemplateS3Uri.
CUSTOM_TASK = "Custom"
TEMPLATE_FIELD = "HumanTaskConfig.UiConfig.UiTemplateS3Uri"


def lambda_task(arn: str, field_name: str, prefix: str) -> str:
    """The built-in task name an ARN of Ground Truth's Lambdas ends in (PRE-BoundingBox ->
    BoundingBox); any other function is a custom workflow (CUSTOM_TASK)."""
    function = arn.split(":function:", 1)[-1].split(":", 1)[0]
    suffix = function[len(prefix) :] if function.startswith(prefix) else None
    if suffix in NOT_AVAILABLE:
        raise BadInput(
            f"{field_name}: {function} is a Ground Truth task type without an equivalent here "
            f"yet; available: {', '.join(TASK_TYPES)}"
        )
    if suffix not in TASK_TYPES:
        return CUSTOM_TASK
    return suffix


def lambda_function_name(arn: str) -> str:
    """`arn:aws:lambda:<region>:<account>:function:<name>[:<version>]` -> its name."""
    return arn.split(":function:", 1)[-1].split(":", 1)[0]


def task_of(human: dict[str, Any]) -> str:
    """The built-in task, from the pre-annotation and consolidation Lambda ARNs."""
    found = []
    if human.get("PreHumanTaskLambdaArn"):
        found.append(
            lambda_task(
                human["PreHumanTaskLambdaArn"], "HumanTaskConfig.PreHumanTaskLambdaArn", "PRE-"
            )
        )
    consolidation = (human.get("AnnotationConsolidationConfig") or {}).get(
        "AnnotationConsolidationLambdaArn"
    )
    if consolidation:
        found.append(
            lambda_task(
                consolidation,
                "HumanTaskConfig.AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn",
                "ACS-",
            )
        )
    if not found:
        raise BadInput(
            "HumanTaskConfig.PreHumanTaskLambdaArn is required: its PRE-<task> name tells the "
            "built-in task type"
        )
    if CUSTOM_TASK in found:
        if not (human.get("UiConfig") or {}).get("UiTemplateS3Uri"):
            raise BadInput(
                f"{TEMPLATE_FIELD} is required for a custom workflow (your own Lambdas): the "
                "worker task template the job shows"
            )
        return CUSTOM_TASK
    if len(set(found)) > 1:
        raise BadInput(
            f"HumanTaskConfig: PreHumanTaskLambdaArn is PRE-{found[0]} but "
            f"AnnotationConsolidationLambdaArn is ACS-{found[1]}; they must name one task type"
        )
    return found[0]


def team_of(workteam_arn: str) -> str:
    """The team a WorkteamArn names: its last path segment (…:workteam/private-crowd/NAME)."""
    path = workteam_arn.split(":workteam/", 1)[-1]
    kind, _, name = path.partition("/")
    if kind != "private-crowd":
        raise BadInput(
            f"HumanTaskConfig.WorkteamArn: {kind!r} work teams (Mechanical Turk, vendors) have no "
            "equivalent here; name a private team: arn:aws:sagemaker:<region>:<account>:"
            "workteam/private-crowd/<team>"
        )
    name = name.rstrip("/").rsplit("/", 1)[-1]
    if not name:
        raise BadInput(f"HumanTaskConfig.WorkteamArn {workteam_arn!r} names no team")
    return name


def _present(request: dict[str, Any], path: str) -> bool:
    node: Any = request
    for part in path.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return False
        node = node[part]
    return True


def _instructions(human: dict[str, Any], label_config: Any) -> str:
    """Title and description as the header, then the label file's instructions (2020)."""
    parts = [f"# {human['TaskTitle']}", human["TaskDescription"]]
    given = label_config.get("instructions") if isinstance(label_config, dict) else None
    if isinstance(given, dict):
        parts += [str(given[k]) for k in ("shortInstruction", "fullInstruction") if given.get(k)]
    return "\n\n".join(parts) + "\n"


def _auto_label(
    request: dict[str, Any], task_type: str, warnings: list[str]
) -> dict[str, Any] | None:
    config = request.get("LabelingJobAlgorithmsConfig")
    if not config:
        return None
    where = "LabelingJobAlgorithmsConfig.LabelingJobAlgorithmSpecificationArn"
    arn = config["LabelingJobAlgorithmSpecificationArn"]
    algorithm = arn.rstrip("/").rsplit("/", 1)[-1]
    if algorithm not in ALGORITHMS:
        raise BadInput(
            f"{where}: {algorithm!r} is not one of Ground Truth's algorithms "
            f"({', '.join(ALGORITHMS)})"
        )
    if ALGORITHMS[algorithm] != task_type:
        raise BadInput(f"{where}: {algorithm} labels {ALGORITHMS[algorithm]} jobs, not {task_type}")
    if task_type == "bounding-box":
        warnings.append(
            f"{where}: automated labeling was not turned on: boxes are labeled here by a fixed "
            'detector; set settings.auto_label {"detector": "face" | "cat-face"} to use one'
        )
        return None
    if task_type not in ("image-classification", "text-classification"):
        warnings.append(f"{where}: automated labeling of {task_type} is not available here")
        return None
    return dict(AUTO_LABEL)


def check_request(request: Any) -> str:
    """Every check of a request that needs nothing but the request (before any download);
    returns its built-in task name (BoundingBox...)."""
    if not isinstance(request, dict):
        raise BadInput("a CreateLabelingJob request must be a JSON object")
    check_input(OPERATION, request)
    human = request["HumanTaskConfig"]
    task = task_of(human)
    task_type = "custom" if task == CUSTOM_TASK else TASK_TYPES[task][0]
    team_of(human["WorkteamArn"])
    attribute = request["LabelAttributeName"]
    if task_type == "semantic-segmentation" and not attribute.endswith("-ref"):
        raise BadInput(
            f"LabelAttributeName {attribute!r} must end with '-ref' for {task} jobs "
            "(the label is a reference to a mask)"
        )
    if task_type != "semantic-segmentation" and attribute.endswith("-ref"):
        raise BadInput(f"LabelAttributeName {attribute!r} must not end with '-ref' for {task} jobs")
    data_source = request["InputConfig"]["DataSource"]
    manifest = (data_source.get("S3DataSource") or {}).get("ManifestS3Uri")
    streaming = data_source.get("SnsDataSource") is not None
    if manifest is None and not streaming:
        raise BadInput("InputConfig.DataSource needs S3DataSource.ManifestS3Uri (or SnsDataSource)")
    if task.startswith(("Verification", "Adjustment")) and manifest is None:
        raise BadInput(
            "InputConfig.DataSource.S3DataSource.ManifestS3Uri is required for "
            f"{task} jobs: the manifest holds the labels to review"
        )
    if streaming and request.get("LabelingJobAlgorithmsConfig"):
        raise BadInput(
            "LabelingJobAlgorithmsConfig: automated labeling is not available for "
            "streaming jobs (SnsDataSource), as in Ground Truth"
        )
    _auto_label(request, task_type, [])
    if request.get("LabelCategoryConfigS3Uri") is None and task != CUSTOM_TASK:
        raise BadInput(
            f"LabelCategoryConfigS3Uri is required for {task} jobs (the label categories)"
        )
    for key, (lo, hi) in LIMITS.items():
        value = human.get(key)
        if value is not None and not lo <= value <= hi:
            raise BadInput(f"HumanTaskConfig.{key} must be {lo}-{hi}, got {value}")
    return task


def map_request(
    request: Any,
    label_config: Any,
    *,
    instructions: str | None = None,
    template_html: str | None = None,
    handlers: dict[str, str] | None = None,
) -> GroundTruthJob:
    """The job a request asks for. `label_config` is the content of the file the request's
    LabelCategoryConfigS3Uri names (None: a custom job without one); `instructions`
    replaces the instructions built from the task title, description and label file;
    `template_html` is the text UiTemplateS3Uri names, for a custom workflow; `handlers`
    maps a custom Lambda's ARN to the handler file (its code, in a folder the admin
    allowed) that runs in its place."""
    task = check_request(request)
    human = request["HumanTaskConfig"]
    custom = task == CUSTOM_TASK
    task_type, extra_settings = ("custom", {}) if custom else TASK_TYPES[task]
    warnings = [
        f"{path} has no equivalent here ({why}); it was not applied"
        for path, why in NO_EQUIVALENT.items()
        if _present(request, path) and not (custom and path == "HumanTaskConfig.UiConfig")
    ]
    if custom:
        if template_html is None:
            raise BadInput(f"{TEMPLATE_FIELD}: the template's text is needed for a custom job")
        extra_settings = {
            "template": {"html": template_html, "source": human["UiConfig"]["UiTemplateS3Uri"]}
        }
        consolidation = human.get("AnnotationConsolidationConfig") or {}
        for where, arn, prefix in (
            ("HumanTaskConfig.PreHumanTaskLambdaArn", human.get("PreHumanTaskLambdaArn"), "PRE-"),
            (
                "HumanTaskConfig.AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn",
                consolidation.get("AnnotationConsolidationLambdaArn"),
                "ACS-",
            ),
        ):
            if arn and lambda_task(arn, where, prefix) == CUSTOM_TASK:
                handler = (handlers or {}).get(arn)
                if handler is not None:
                    section = "pre_annotation" if prefix == "PRE-" else "post_annotation"
                    extra_settings[section] = {"handler": handler}
                    continue
                warnings.append(
                    f"{where}: the Lambda {arn} cannot be called from here, and no handler file"
                    f" {lambda_function_name(arn)}.py is in the allowed handler folders"
                    " (TRUTHSET_HOOK_HANDLER_DIRS); the job renders its template over Ground"
                    " Truth's default task.input and consolidates each element by majority"
                    " until it is given a hook (docs/hooks.md)"
                )
    if label_config is None and custom:
        label_config = {"document-version": "2018-11-28", "labels": []}
    name = request["LabelingJobName"]
    attribute = request["LabelAttributeName"]
    if not isinstance(label_config, dict):
        raise BadInput("LabelCategoryConfigS3Uri: the label category file must be a JSON object")
    audit = label_config.get("auditLabelAttributeName")
    if task.startswith(("Verification", "Adjustment")):
        if not isinstance(audit, str) or not audit:
            raise BadInput(
                f"LabelCategoryConfigS3Uri: a {task} job needs auditLabelAttributeName in its "
                "label category file (the attribute whose labels are reviewed)"
            )
        if audit == attribute:
            raise BadInput(
                f"LabelAttributeName {attribute!r} must differ from the reviewed attribute "
                "(auditLabelAttributeName), as in Ground Truth"
            )
    else:
        audit = None
    data_source = request["InputConfig"]["DataSource"]
    manifest = (data_source.get("S3DataSource") or {}).get("ManifestS3Uri")
    streaming = data_source.get("SnsDataSource") is not None

    settings: dict[str, Any] = {
        "task": {
            "title": human["TaskTitle"],
            "description": human["TaskDescription"],
            "keywords": list(human.get("TaskKeywords") or []),
        },
        "sagemaker": {"request": request},
        "output": {"path": request["OutputConfig"]["S3OutputPath"]},
        **extra_settings,
    }
    auto_label = _auto_label(request, task_type, warnings)
    if auto_label is not None:
        settings["auto_label"] = auto_label
    if streaming:
        settings["streaming"] = True
    stopping = request.get("StoppingConditions") or {}
    spec = JobCreate(
        name=name,
        task_type=task_type,
        label_config=label_config,
        dataset=name,
        workers_per_item=human["NumberOfHumanWorkersPerDataObject"],
        teams=[team_of(human["WorkteamArn"])],
        instructions=instructions
        if instructions is not None
        else _instructions(human, label_config),
        task_time_limit=human["TaskTimeLimitInSeconds"],
        task_availability=human.get("TaskAvailabilityLifetimeInSeconds", 864000),
        max_concurrent_tasks=human.get("MaxConcurrentTaskCount", 1000),
        max_human_labeled=stopping.get("MaxHumanLabeledObjectCount"),
        max_percentage_labeled=stopping.get("MaxPercentageOfInputDatasetLabeled"),
        label_attribute=attribute,
        settings=settings,
    )
    return GroundTruthJob(
        spec=spec, manifest=manifest, team=spec.teams[0], audit_attribute=audit, warnings=warnings
    )
