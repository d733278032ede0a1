"""Automated labeling over HTTP: the per-iteration report of a job, and its model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from truthset.api.deps import ReadSession, StaffUser, WriteSession, get_workspace
from truthset.autolabel import features, prelabel, service
from truthset.errors import NotFound
from truthset.jobs.service import get_job
from truthset.runs.files import fetch_model

router = APIRouter(tags=["autolabel"])


class PrelabelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    detector: str = Field(
        description="face or cat-face (OpenCV Haar) for bounding-box jobs; energy or webrtcvad"
        " (voice activity) for audio segment jobs; onnx: the job's own model"
        " (settings.prelabel.onnx) for box, classification and segmentation jobs"
    )
    label: str | None = Field(default=None, description="the job label its boxes get")


@router.post("/jobs/{name}/prelabel", status_code=202)
def start_prelabel(
    name: str, body: PrelabelRequest, user: StaffUser, session: WriteSession
) -> dict[str, Any]:
    """Put a detector's boxes (or an audio job's voice-activity segments, or the job's own
    ONNX model's boxes, classes or masks) into the job's unstarted items as predictions
    for workers to correct (a background run; see truthset.autolabel.prelabel)."""
    from truthset.runs import service as runs_service

    job = get_job(session, name)
    label = prelabel.check_request(job, body.detector, body.label)
    run = runs_service.enqueue(
        session,
        "prelabel",
        {"job": job.name, "detector": body.detector, "label": label},
        job_id=job.id,
        created_by=user.id,
    )
    return runs_service.run_as_dict(run)


class LabelIssuesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    folds: int = Field(default=5, ge=2, le=20, description="cross-validation folds")


@router.post("/jobs/{name}/label-issues", status_code=202)
def start_label_issues(
    name: str, body: LabelIssuesRequest, user: StaffUser, session: WriteSession
) -> dict[str, Any]:
    """Check the job's human labels with a cross-validated model and flag the likely
    errors for review (a background run; see truthset.autolabel.label_issues)."""
    from truthset.autolabel.label_issues import check_job
    from truthset.runs import service as runs_service

    job = get_job(session, name)
    check_job(job)
    run = runs_service.enqueue(
        session,
        "label_issues",
        {"job": job.name, "folds": body.folds},
        job_id=job.id,
        created_by=user.id,
    )
    return runs_service.run_as_dict(run)


@router.get("/jobs/{name}/label-issues")
def list_label_issues(name: str, _user: StaffUser, session: ReadSession) -> dict[str, Any]:
    """The labels flagged as likely wrong and not reviewed yet, most suspicious first."""
    from truthset.autolabel.label_issues import label_issues

    return label_issues(session, get_job(session, name))


@router.get("/jobs/{name}/autolabel")
def autolabel_report(name: str, _user: StaffUser, session: ReadSession) -> dict[str, Any]:
    """Settings and one entry per finished iteration (see `service.autolabel_report`)."""
    return service.autolabel_report(session, get_job(session, name))


@router.get(
    "/jobs/{name}/autolabel/model",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def autolabel_model(
    name: str, request: Request, _user: StaffUser, session: ReadSession
) -> FileResponse:
    """The job's newest trained model: a joblib file of the featurizer and classifier
    (`truthset.learning.models.load_model` reads it; `predict_proba` takes raw texts or
    image arrays). Another job warm-starts from it with `auto_label.warm_start`."""
    job = get_job(session, name)
    settings = get_workspace(request).settings
    path = features.model_path(settings.data_dir / "autolabel", job.id)
    # In a cluster the worker that trained it may be on another host (runs/files.py).
    if not fetch_model(settings, path):
        raise NotFound(f"job {name!r} has not trained a model yet")
    return FileResponse(
        path, media_type="application/octet-stream", filename=f"{job.name}-model.joblib"
    )
