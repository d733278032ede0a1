"""Jobs and teams as the SageMaker API describes them (DescribeLabelingJob's and
DescribeWorkteam's shapes); times are epoch seconds, as AWS JSON 1.1 sends them."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from truthset.jobs.service import counters
from truthset.sagemaker import repository
from truthset.sagemaker.service import DEFAULT_ACCOUNT, job_arn, workteam_arn
from truthset.sagemaker.shapes import service_model
from truthset.store.models import Job, Team

STATUS = {
    "initializing": "Initializing",
    "in_progress": "InProgress",
    "stopping": "Stopping",
    "stopped": "Stopped",
    "completed": "Completed",
    "failed": "Failed",
}
STATES = {status: state for state, status in STATUS.items()}
SUMMARY_KEYS = (
    "LabelingJobName",
    "LabelingJobArn",
    "CreationTime",
    "LastModifiedTime",
    "LabelingJobStatus",
    "LabelCounters",
    "WorkteamArn",
    "PreHumanTaskLambdaArn",
    "AnnotationConsolidationLambdaArn",
    "FailureReason",
    "LabelingJobOutput",
    "InputConfig",
)


def output_manifest_uri(path: str, job_name: str) -> str:
    """Where Ground Truth (and truthset's output layout) puts a job's output manifest."""
    return f"{path.rstrip('/')}/{job_name}/manifests/output/output.manifest"


def label_counters(session: Session, job: Job) -> dict[str, int]:
    c = counters(session, job.id)
    return {
        "TotalLabeled": c["human_labeled"] + c["machine_labeled"],
        "HumanLabeled": c["human_labeled"],
        "MachineLabeled": c["machine_labeled"],
        "FailedNonRetryableError": c["failed"],
        "Unlabeled": c["unlabeled"],
    }


def describe_job(session: Session, job: Job, *, region: str) -> dict[str, Any]:
    """DescribeLabelingJob: the request as it was sent, with what the job is now (status,
    counters, times, and the fields that may have changed since: workers, limits)."""
    kept = job.settings.get("sagemaker") or {}
    request: dict[str, Any] = copy.deepcopy(kept.get("request") or {})
    request.pop("Tags", None)
    human = request.setdefault("HumanTaskConfig", {})
    human.update(
        NumberOfHumanWorkersPerDataObject=job.workers_per_item,
        TaskTimeLimitInSeconds=job.task_time_limit,
        TaskAvailabilityLifetimeInSeconds=job.task_availability,
        MaxConcurrentTaskCount=job.max_concurrent_tasks,
    )
    task = job.settings.get("task") or {}
    human.setdefault("TaskTitle", task.get("title") or job.name)
    human.setdefault("TaskDescription", task.get("description") or job.task_type)
    if "WorkteamArn" not in human:
        team = repository.first_team_of_job(session, job.id)
        if team is not None:
            human["WorkteamArn"] = workteam_arn(region, team)
    stopping = {
        "MaxHumanLabeledObjectCount": job.max_human_labeled,
        "MaxPercentageOfInputDatasetLabeled": (
            None if job.max_percentage_labeled is None else int(job.max_percentage_labeled)
        ),
    }
    request["StoppingConditions"] = {k: v for k, v in stopping.items() if v is not None}
    if not request["StoppingConditions"]:
        del request["StoppingConditions"]
    output_path = (job.settings.get("output") or {}).get("path")
    if output_path:
        request.setdefault("OutputConfig", {})["S3OutputPath"] = output_path
    out: dict[str, Any] = {
        **request,
        "LabelingJobName": job.name,
        "LabelingJobArn": kept.get("arn") or job_arn(region, DEFAULT_ACCOUNT, job.name),
        "LabelingJobStatus": STATUS.get(job.state, "Failed"),
        "LabelCounters": label_counters(session, job),
        "CreationTime": job.created_at,
        "LastModifiedTime": job.updated_at,
        "JobReferenceCode": kept.get("reference_code") or f"{DEFAULT_ACCOUNT}{job.id:012d}",
        "LabelAttributeName": job.label_attribute,
    }
    if output_path:
        out["LabelingJobOutput"] = {
            "OutputDatasetS3Uri": output_manifest_uri(output_path, job.name)
        }
    if job.failure_reason:
        out["FailureReason"] = job.failure_reason[:1024]
    members = service_model().operation_model("DescribeLabelingJob").output_shape.members
    return {k: v for k, v in out.items() if k in members}


def job_summary(session: Session, job: Job, *, region: str) -> dict[str, Any]:
    """ListLabelingJobs' LabelingJobSummary."""
    described = describe_job(session, job, region=region)
    human = described.get("HumanTaskConfig") or {}
    flat = {
        **described,
        "WorkteamArn": human.get("WorkteamArn"),
        "PreHumanTaskLambdaArn": human.get("PreHumanTaskLambdaArn"),
        "AnnotationConsolidationLambdaArn": (human.get("AnnotationConsolidationConfig") or {}).get(
            "AnnotationConsolidationLambdaArn"
        ),
    }
    return {k: flat[k] for k in SUMMARY_KEYS if flat.get(k) is not None}


def job_for_workteam(session: Session, job: Job, *, region: str) -> dict[str, Any]:
    """ListLabelingJobsForWorkteam's LabelingJobForWorkteamSummary."""
    described = describe_job(session, job, region=region)
    c = counters(session, job.id)
    account = described["JobReferenceCode"][:12] if described.get("JobReferenceCode") else ""
    return {
        "LabelingJobName": job.name,
        "JobReferenceCode": described["JobReferenceCode"],
        "WorkRequesterAccountId": account or DEFAULT_ACCOUNT,
        "CreationTime": job.created_at,
        "LabelCounters": {
            "HumanLabeled": c["human_labeled"],
            "PendingHuman": c["unlabeled"],
            "Total": c["total"],
        },
        "NumberOfHumanWorkersPerDataObject": job.workers_per_item,
    }


def describe_team(session: Session, team: Team, *, region: str, host: str) -> dict[str, Any]:
    members = repository.member_count(session, team.id)
    return {
        "WorkteamName": team.name,
        "WorkteamArn": workteam_arn(region, team.name),
        "WorkforceArn": f"arn:aws:sagemaker:{region}:{DEFAULT_ACCOUNT}:workforce/truthset",
        # A private team's members are truthset accounts; the team is their group.
        "MemberDefinitions": [{"OidcMemberDefinition": {"Groups": [team.name]}}],
        "Description": f"truthset team {team.name} ({members} member{'s' * (members != 1)})",
        "SubDomain": host,
        "CreateDate": team.created_at,
        "LastUpdatedDate": team.created_at,
    }
