"""Creating jobs from CreateLabelingJob requests: the label file and manifest fetched from
local roots or the real S3 server, the team, reviews of imported labels, and nothing
left behind when a request is refused."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import make_workspace, require
from sagemaker.gt_requests import label_file, request
from support import write_manifest
from truthset.config import load_settings
from truthset.errors import BadInput, Conflict
from truthset.jobs.service import counters, get_job
from truthset.media.storage import s3_client
from truthset.sagemaker.service import create_from_request
from truthset.store.models import Dataset, Job
from truthset.workforce.service import create_team
from truthset.workspace import Workspace, open_workspace


@pytest.fixture
def bucket() -> str:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    name = f"gt-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "gt"
    folder.mkdir()
    return folder


def workspace_with_roots(tmp_path: Path, *roots: str) -> Workspace:
    make_workspace(tmp_path).close()
    ws = open_workspace(load_settings(tmp_path / "data", None, list(roots)))
    with ws.db.session_scope() as s:
        create_team(s, "crew")
    return ws


def create(ws: Workspace, body: dict, **kw):
    with ws.db.session_scope() as s:
        created = create_from_request(
            s,
            body,
            roots=ws.roots(),
            allowed_roots=ws.allowed_roots,
            endpoint_url=ws.settings.s3_endpoint_url,
            created_by=None,
            **kw,
        )
        return created.job.name, created.mapped.warnings, created.imported


def local_request(files: Path, **kw) -> dict:
    write_manifest(files / "in.manifest", [{"source": f"text {i}"} for i in range(3)])
    (files / "labels.json").write_text(json.dumps(label_file("pos", "neg")))
    return request(
        "reviews",
        "TextMultiClass",
        manifest=str(files / "in.manifest"),
        labels=str(files / "labels.json"),
        output=str(files / "out"),
        **kw,
    )


def test_a_request_over_local_files_creates_the_job_and_its_dataset(tmp_path, files):
    ws = workspace_with_roots(tmp_path, str(files))
    name, warnings, imported = create(ws, local_request(files), region="eu-west-1")
    assert name == "reviews" and imported["added"] == 3
    assert any(w.startswith("RoleArn") for w in warnings)
    with ws.db.session_scope(write=False) as s:
        job = get_job(s, "reviews")
        assert counters(s, job.id)["unlabeled"] == 3
        assert s.get(Dataset, job.dataset_id).name == "reviews"
        sm = job.settings["sagemaker"]
        assert sm["arn"] == "arn:aws:sagemaker:eu-west-1:123456789012:labeling-job/reviews"
        assert sm["warnings"] == warnings and sm["request"]["LabelingJobName"] == "reviews"
        assert job.instructions.startswith("# Cats or dogs")
        assert job.settings["output"]["path"] == str(files / "out")
    ws.close()


def _counts(ws: Workspace) -> tuple[int, int]:
    with ws.db.session_scope(write=False) as s:
        return (
            s.scalar(select(func.count()).select_from(Job)),
            s.scalar(select(func.count()).select_from(Dataset)),
        )


def test_a_refused_request_leaves_nothing_behind(tmp_path, files):
    ws = workspace_with_roots(tmp_path, str(files))
    body = local_request(files, team="nobody")
    with pytest.raises(BadInput, match="there is no team named 'nobody'"):
        create(ws, body)
    # A bad manifest line: the import is refused and nothing stays.
    write_manifest(files / "in.manifest", [{"source": "ok"}, "{not json"])
    body = local_request(files)
    write_manifest(files / "in.manifest", [{"source": "ok"}, "{not json"])
    with pytest.raises(BadInput):
        create(ws, body)
    # The job fails after the import (a label file truthset refuses): rolled back too.
    (files / "labels.json").write_text(json.dumps(label_file("only-one")))
    write_manifest(files / "in.manifest", [{"source": "ok"}])
    with pytest.raises(BadInput, match="at least 2 labels"):
        create(ws, {**body})
    assert _counts(ws) == (0, 0)
    ws.close()


def test_files_outside_the_roots_and_bad_label_files_are_refused(tmp_path, files):
    ws = workspace_with_roots(tmp_path)  # the request's folder is not an allowed root
    with pytest.raises(BadInput, match="LabelCategoryConfigS3Uri: .* outside the server's"):
        create(ws, local_request(files))
    ws.close()
    ws = workspace_with_roots(tmp_path / "2", str(files))
    body = local_request(files)
    (files / "labels.json").write_text("{nope")
    with pytest.raises(BadInput, match="not a JSON label category file"):
        create(ws, body)
    body["LabelCategoryConfigS3Uri"] = "relative/labels.json"
    with pytest.raises(BadInput, match="must be an s3:// URI or an absolute path"):
        create(ws, body)
    ws.close()


def test_a_taken_name_is_a_conflict(tmp_path, files):
    ws = workspace_with_roots(tmp_path, str(files))
    create(ws, local_request(files))
    with pytest.raises(Conflict, match="already exists"):
        create(ws, local_request(files))
    ws.close()


def test_an_adjustment_job_reviews_the_imported_labels_named_by_the_label_file(tmp_path, files):
    lines = []
    for i in range(3):
        line = {"source-ref": str(files / f"img{i}.png")}
        if i < 2:  # two labeled lines, one without labels
            line["boxes"] = {
                "image_size": [{"width": 100, "height": 80, "depth": 3}],
                "annotations": [{"class_id": 0, "left": 10, "top": 10, "width": 20, "height": 20}],
            }
            line["boxes-metadata"] = {
                "objects": [{"confidence": 0.8}],
                "class-map": {"0": "dog"},
                "type": "groundtruth/object-detection",
                "human-annotated": "yes",
                "creation-date": "2018-10-18T22:18:13.527256",
                "job-name": "labeling-job/boxes",
            }
        lines.append(line)
        (files / f"img{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    write_manifest(files / "out.manifest", lines)
    (files / "adjust.json").write_text(
        json.dumps(label_file("dog", "bone", auditLabelAttributeName="boxes"))
    )
    ws = workspace_with_roots(tmp_path, str(files))
    body = request(
        "adjust-boxes",
        "AdjustmentBoundingBox",
        manifest=str(files / "out.manifest"),
        labels=str(files / "adjust.json"),
        output=str(files / "out"),
        attribute="adjusted-boxes",
    )
    name, _warnings, _imported = create(ws, body)
    with ws.db.session_scope(write=False) as s:
        job = get_job(s, name)
        assert job.settings["adjustment"] is True and job.input_job_id is not None
        assert s.get(Job, job.input_job_id).label_attribute == "boxes"
        assert counters(s, job.id)["total"] == 2  # one task per labeled line
    ws.close()


def test_a_request_over_s3(tmp_path, bucket):
    s3 = s3_client()
    lines = [{"source-ref": f"s3://{bucket}/img/{i}.jpg"} for i in range(4)]
    s3.put_object(
        Bucket=bucket, Key="in/input.manifest", Body="\n".join(map(json.dumps, lines)).encode()
    )
    s3.put_object(Bucket=bucket, Key="in/labels.json", Body=json.dumps(label_file()).encode())
    ws = workspace_with_roots(tmp_path, f"s3://{bucket}")
    body = request(
        "pets",
        manifest=f"s3://{bucket}/in/input.manifest",
        labels=f"s3://{bucket}/in/labels.json",
        output=f"s3://{bucket}/out/",
    )
    name, _warnings, imported = create(ws, body)
    assert imported["added"] == 4
    missing = {**body, "LabelingJobName": "pets2", "LabelAttributeName": "pets2"}
    missing["LabelCategoryConfigS3Uri"] = f"s3://{bucket}/in/none.json"
    with pytest.raises(BadInput, match="cannot be read"):
        create(ws, missing)
    ws.close()
