"""The JSON shapes of Ground Truth's Lambda contracts and events, in one place."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from truthset.store.models import Job

VERSION = "2018-10-16"
ACCOUNT = "000000000000"  # no AWS account stands behind a truthset job


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def job_arn(job: Job) -> str:
    """The job's ARN as SageMaker names it (`truthset.sagemaker` describes jobs so too)."""
    return f"arn:aws:sagemaker:{region()}:{ACCOUNT}:labeling-job/{job.name.lower()}"


def pre_annotation_request(job: Job, data_object: Any) -> dict[str, Any]:
    return {"version": VERSION, "labelingJobArn": job_arn(job), "dataObject": data_object}


def label_categories(job: Job) -> list[str]:
    labels = (job.label_config or {}).get("labels") or []
    return [e["label"] for e in labels if isinstance(e, dict) and isinstance(e.get("label"), str)]


def post_annotation_request(job: Job, payload_uri: str) -> dict[str, Any]:
    return {
        "version": VERSION,
        "labelingJobArn": job_arn(job),
        "labelCategories": label_categories(job),
        "labelAttributeName": job.label_attribute,
        "roleArn": "",
        "payload": {"s3Uri": payload_uri},
    }


# Ground Truth's job status names for truthset's final states.
GT_STATUS = {"completed": "Completed", "failed": "Failed", "stopped": "Stopped"}


def job_state_event(job: Job, counters: dict[str, int], now: float) -> dict[str, Any]:
    """EventBridge's "SageMaker Ground Truth Labeling Job State Change" event."""
    arn = job_arn(job)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "SageMaker Ground Truth Labeling Job State Change",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "region": region(),
        "resources": [arn],
        "detail": {
            "LabelingJobStatus": GT_STATUS[job.state],
            "LabelingJobName": job.name,
            "LabelingJobArn": arn,
            "LabelCounters": {
                "TotalLabeled": counters["human_labeled"] + counters["machine_labeled"],
                "HumanLabeled": counters["human_labeled"],
                "MachineLabeled": counters["machine_labeled"],
                "FailedNonRetryableError": counters["failed"],
                "Unlabeled": counters["unlabeled"],
            },
        },
    }
