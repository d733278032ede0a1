"""Datasets and imports."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request, UploadFile

from truthset.api.deps import ReadSession, StaffUser, WriteSession, get_workspace
from truthset.audit.middleware import record_request
from truthset.datasets import service
from truthset.datasets.importer import ImportResult, import_source
from truthset.datasets.schemas import DatasetCreate, ImportRequest
from truthset.datasets.sources import SourceSpec
from truthset.datasets.video_import import check_frames_destination
from truthset.errors import BadInput
from truthset.runs import service as runs_service

router = APIRouter(tags=["datasets"])
MAX_UPLOAD_BYTES = 2 << 30


@router.get("/datasets")
def list_datasets(_user: StaffUser, session: ReadSession) -> list[dict[str, Any]]:
    return service.list_datasets(session)


@router.post("/datasets", status_code=201)
def create_dataset(body: DatasetCreate, _user: StaffUser, session: WriteSession) -> dict[str, Any]:
    return service.describe(service.create_dataset(session, body.name), items=0)


@router.get("/datasets/{name}")
def get_dataset(name: str, _user: StaffUser, session: ReadSession) -> dict[str, Any]:
    return service.describe_dataset(session, service.get_dataset(session, name))


@router.get("/datasets/{name}/items")
def list_items(
    name: str,
    _user: StaffUser,
    session: ReadSession,
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    return service.list_items(
        session, service.get_dataset(session, name), offset=offset, limit=limit
    )


@router.delete("/datasets/{name}", status_code=204)
def delete_dataset(name: str, _user: StaffUser, session: WriteSession) -> None:
    service.delete_dataset(session, service.get_dataset(session, name))


def _report_path(request: Request, dataset: str) -> Path:
    ws = get_workspace(request)
    folder = ws.settings.data_dir / "import-reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{dataset}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}.jsonl"


@router.post("/datasets/{name}/imports", status_code=202)
def start_import(
    name: str, body: ImportRequest, request: Request, user: StaffUser, session: WriteSession
) -> dict[str, Any]:
    """Import from a path or s3:// URI the server can read (inside its allowed roots)."""
    ws = get_workspace(request)
    service.check_api_source(body.source, ws.roots())
    report = _report_path(request, name) if body.skip_invalid else None
    if body.extract_video_frames is not None:
        if body.wait:
            raise BadInput(
                "extract_video_frames: decoding videos runs in the background; omit wait"
            )
        check_frames_destination(body.extract_video_frames, ws.allowed_roots)
    if body.wait:
        result = import_source(
            session,
            name,
            body.source,
            allowed_roots=ws.allowed_roots,
            id_key=body.id_key,
            skip_invalid=body.skip_invalid,
            report_path=report,
            endpoint_url=ws.settings.s3_endpoint_url,
            labels=body.labels,
            label_configs=body.label_configs,
            created_by=user.id,
        )
        _record_import(session, request, user, "dataset.import", name, body.source, result)
        return {"run": None, "result": result.as_dict()}
    run = runs_service.enqueue(
        session,
        "import",
        {
            "dataset": name,
            "source": body.source,
            "id_key": body.id_key,
            "skip_invalid": body.skip_invalid,
            "report_path": str(report) if report else None,
            "labels": body.labels,
            "label_configs": body.label_configs,
            **(
                {"extract_video_frames": body.extract_video_frames}
                if body.extract_video_frames is not None
                else {}
            ),
        },
        created_by=user.id,
    )
    return {"run": runs_service.run_as_dict(run), "result": None}


@router.post("/datasets/{name}/upload", status_code=201)
def upload_manifest(
    name: str,
    file: UploadFile,
    request: Request,
    user: StaffUser,
    session: WriteSession,
    id_key: str = "id",
    skip_invalid: bool = False,
    labels: bool = True,
) -> dict[str, Any]:
    """Upload a manifest (.manifest/.jsonl) or CSV and import it in this request; the
    labels of a Ground Truth output manifest become labels (`labels=false`: kept as keys)."""
    ws = get_workspace(request)
    uploads = ws.settings.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    suffix = Path(file.filename or "upload.manifest").suffix.lower() or ".manifest"
    if suffix not in (".manifest", ".jsonl", ".json", ".ndjson", ".csv"):
        raise BadInput(f"file {file.filename!r}: upload a .manifest, .jsonl or .csv file")
    dest = uploads / f"{uuid.uuid4().hex}{suffix}"
    size = 0
    with open(dest, "wb") as fh:
        while chunk := file.file.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                fh.close()
                dest.unlink()
                raise BadInput("the file is larger than 2 GiB; import it from a path or S3")
            fh.write(chunk)
    kind = "csv" if suffix == ".csv" else "manifest"
    try:
        result = import_source(
            session,
            name,
            str(dest),
            allowed_roots=ws.allowed_roots,
            id_key=id_key,
            skip_invalid=skip_invalid,
            report_path=_report_path(request, name) if skip_invalid else None,
            spec=SourceSpec(kind, str(dest)),
            labels=labels,
            created_by=user.id,
        )
    finally:
        dest.unlink(missing_ok=True)
    _record_import(session, request, user, "dataset.upload", name, file.filename, result)
    return result.as_dict()


# -- the console's datasets page -------------------------------------------------------------


def _record_import(
    session: Any,
    request: Request,
    user: Any,
    action: str,
    dataset: str,
    source: str | None,
    result: ImportResult,
) -> None:
    """The import's audit event, with what it did: the dataset's import history reads it
    (an import that fails is recorded by the audit middleware, with its status)."""
    record_request(
        session,
        request,
        actor=user,
        action=action,
        target=dataset,
        detail=service.import_event_detail(source, result.as_dict()),
    )


@router.get("/datasets/{name}/overview")
def dataset_overview(name: str, _user: StaffUser, session: ReadSession) -> dict[str, Any]:
    """The dataset, what its items hold (`kinds`, counted on `sampled` items spread over
    it), the task types a job over it may have, and the jobs that read it."""
    return service.overview(session, service.get_dataset(session, name))


@router.get("/datasets/{name}/page")
def dataset_page(
    name: str,
    _user: StaffUser,
    session: ReadSession,
    after: str | None = Query(None, max_length=200, description="the last id of the page before"),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """Items in id order, one page (keyset: as fast deep in a million items as on page 1);
    `next` is the `after` of the next page, null on the last."""
    return service.items_page(session, service.get_dataset(session, name), after=after, limit=limit)


@router.get("/datasets/{name}/import-history")
def import_history(
    name: str, request: Request, _user: StaffUser, session: ReadSession
) -> list[dict[str, Any]]:
    """The dataset's imports, newest first, each with its bad-line report's name if any."""
    dataset = service.get_dataset(session, name)
    data_dir = get_workspace(request).settings.data_dir
    return service.import_history(session, dataset.name, data_dir)


@router.get("/datasets/{name}/import-reports/{file}")
def import_report(
    name: str, file: str, request: Request, _user: StaffUser, session: ReadSession
) -> dict[str, Any]:
    """The bad lines of one import (line number and reason), the first 1,000."""
    dataset = service.get_dataset(session, name)
    data_dir = get_workspace(request).settings.data_dir
    return service.read_import_report(data_dir, dataset.name, file)
