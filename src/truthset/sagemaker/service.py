"""Creating, stopping and listing labeling jobs the way the SageMaker API does, over
truthset's jobs, datasets and teams. Rules only: sessions are the caller's, nothing here
commits, and a request refused halfway (a bad manifest line, a name taken) leaves
nothing behind once the caller rolls back."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from truthset.datasets.importer import import_source
from truthset.datasets.repository import dataset_named
from truthset.datasets.service import create_dataset
from truthset.errors import BadInput, Conflict, Forbidden
from truthset.jobs import repository as jobs_repository
from truthset.jobs import service as jobs_service
from truthset.media.storage import AllowedRoots, local_path_of, parse_s3_uri, s3_client
from truthset.sagemaker.repository import team_named
from truthset.sagemaker.request import (
    CUSTOM_TASK,
    TEMPLATE_FIELD,
    GroundTruthJob,
    check_request,
    lambda_function_name,
    map_request,
)
from truthset.store.models import Job
from truthset.workspace import settings_of_session

# The account in ARNs of what a request did not name (teams, jobs made without one).
DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
MAX_LABEL_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class CreatedJob:
    job: Job
    mapped: GroundTruthJob
    imported: dict[str, Any] | None


def resolve_location(uri: str, roots: AllowedRoots, field: str, *, base_dir: Path | None) -> str:
    """An s3:// URI as is, or a local path (relative to `base_dir` when one is given) that
    must lie inside the allowed roots: through the API a request must not make the server
    read files nobody opened to it."""
    if uri.startswith("s3://"):
        parse_s3_uri(uri)  # refuses s3:// without a bucket
        return uri
    if "://" in uri and not uri.startswith("file://"):
        raise BadInput(f"{field}: {uri!r} must be an s3:// URI or a local path")
    path = local_path_of(uri)
    assert path is not None
    if not path.is_absolute():
        if base_dir is None:
            raise BadInput(f"{field}: {uri!r} must be an s3:// URI or an absolute path")
        path = base_dir / path
    resolved = str(path.resolve())
    if not roots.allows(resolved):
        raise BadInput(f"{field}: {uri!r} is outside the server's allowed roots")
    if not Path(resolved).is_file():
        raise BadInput(f"{field}: {uri!r} does not exist")
    return resolved


def read_label_file(location: str, *, endpoint_url: str | None) -> Any:
    """The JSON of a label category file (2018 or 2020 format, passed through as is)."""
    field = "LabelCategoryConfigS3Uri"
    try:
        if location.startswith("s3://"):
            loc = parse_s3_uri(location)
            body = s3_client(endpoint_url).get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
            data = body.read(MAX_LABEL_FILE_BYTES + 1)
        else:
            with open(location, "rb") as fh:
                data = fh.read(MAX_LABEL_FILE_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"{field}: {location!r} cannot be read ({exc.strerror})") from None
    except Exception as exc:  # botocore's ClientError: no such bucket or key, no access
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code is None:
            raise
        raise BadInput(f"{field}: {location!r} cannot be read ({code})") from None
    if len(data) > MAX_LABEL_FILE_BYTES:
        raise BadInput(f"{field}: {location!r} is larger than {MAX_LABEL_FILE_BYTES:,} bytes")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{field}: {location!r} is not a JSON label category file: {exc}") from None


def check_s3_object(uri: str, field: str, *, endpoint_url: str | None) -> None:
    """A clear error naming the field when an s3:// object cannot be read."""
    loc = parse_s3_uri(uri)
    try:
        s3_client(endpoint_url).head_object(Bucket=loc.bucket, Key=loc.key)
    except Exception as exc:  # botocore's ClientError: no such bucket or key, no access
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code is None:
            raise
        reason = "it does not exist" if code in ("404", "NoSuchKey", "NoSuchBucket") else code
        raise BadInput(f"{field}: {uri!r} cannot be read ({reason})") from None


def job_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:labeling-job/{name.lower()}"


def workteam_arn(region: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{DEFAULT_ACCOUNT}:workteam/private-crowd/{name}"


def account_of(role_arn: str) -> str:
    found = re.match(r"arn:aws[a-z-]*:iam::(\d{12}):", role_arn)
    return found[1] if found else DEFAULT_ACCOUNT


def create_from_request(
    session: Session,
    request: Any,
    *,
    roots: AllowedRoots,
    allowed_roots: list[str],
    endpoint_url: str | None,
    created_by: int | None,
    region: str = DEFAULT_REGION,
    instructions: str | None = None,
    base_dir: Path | None = None,
    now: float | None = None,
) -> CreatedJob:
    """Create the job a CreateLabelingJob request asks for: fetch its label file, import
    its manifest into the dataset named after the job, and create the job with its team.
    A verification or adjustment job reviews the dataset's job (imported or not) whose
    label attribute the label file's auditLabelAttributeName names."""
    now = time.time() if now is None else now
    check_request(request)  # every check that needs no I/O, before any download
    label_config = None
    if request.get("LabelCategoryConfigS3Uri") is not None:
        where = resolve_location(
            request["LabelCategoryConfigS3Uri"],
            roots,
            "LabelCategoryConfigS3Uri",
            base_dir=base_dir,
        )
        label_config = read_label_file(where, endpoint_url=endpoint_url)
    template_html = None
    if check_request(request) == CUSTOM_TASK:
        from truthset.templates.sources import read_text_document

        location = resolve_location(
            request["HumanTaskConfig"]["UiConfig"]["UiTemplateS3Uri"],
            roots,
            TEMPLATE_FIELD,
            base_dir=base_dir,
        )
        template_html = read_text_document(location, TEMPLATE_FIELD, endpoint_url=endpoint_url)
    mapped = map_request(
        request,
        label_config,
        instructions=instructions,
        template_html=template_html,
        handlers=lambda_handlers(session, request),
    )
    spec = mapped.spec
    if team_named(session, mapped.team) is None:
        raise BadInput(
            f"HumanTaskConfig.WorkteamArn: there is no team named {mapped.team!r} "
            f"(create it with `truthset team add {mapped.team}`)"
        )
    if jobs_repository.job_id_named(session, spec.name) is not None:
        raise Conflict(f"a labeling job named {spec.name!r} already exists")

    imported = None
    if mapped.manifest is not None:
        field = "InputConfig.DataSource.S3DataSource.ManifestS3Uri"
        source = resolve_location(mapped.manifest, roots, field, base_dir=base_dir)
        if source.startswith("s3://"):
            check_s3_object(source, field, endpoint_url=endpoint_url)
        result = import_source(
            session, spec.name, source, allowed_roots=allowed_roots, endpoint_url=endpoint_url
        )
        imported = result.as_dict()
    elif dataset_named(session, spec.name) is None:
        create_dataset(session, spec.name, now=now)  # a streaming job's dataset starts empty

    account = account_of(request["RoleArn"])
    spec.settings["sagemaker"] = {
        **spec.settings["sagemaker"],
        "arn": job_arn(region, account, spec.name),
        "region": region,
        "reference_code": _reference_code(account),
        "warnings": list(mapped.warnings),
    }
    job = jobs_service.create_job(session, spec, created_by=created_by, now=now)
    return CreatedJob(job=job, mapped=mapped, imported=imported)


def lambda_handlers(session: Session, request: Any) -> dict[str, str]:
    """A custom workflow's Lambda ARNs -> the handler files that run their code here: a
    function `my-pre` is `<folder>/my-pre.py` or `<folder>/my-pre/lambda_function.py` (a
    Lambda's default file name) in a folder the admin allowed for handlers."""
    settings = settings_of_session(session)
    folders = [Path(d) for d in (settings.hook_handler_dirs if settings else ())]
    human = request.get("HumanTaskConfig") or {}
    arns = [
        human.get("PreHumanTaskLambdaArn"),
        (human.get("AnnotationConsolidationConfig") or {}).get("AnnotationConsolidationLambdaArn"),
    ]
    found: dict[str, str] = {}
    for arn in arns:
        if not isinstance(arn, str):
            continue
        name = lambda_function_name(arn)
        if not name or "/" in name or name.startswith("."):
            continue
        for folder in folders:
            for candidate in (folder / f"{name}.py", folder / name / "lambda_function.py"):
                if candidate.is_file():
                    found.setdefault(arn, str(candidate.resolve()))
    return found


def _reference_code(account: str) -> str:
    return f"{account}{uuid.uuid4().hex[:12].upper()}"


def check_can_change_jobs(role: str) -> None:
    if role not in ("admin", "requester"):
        raise Forbidden("only an admin or requester can create or stop labeling jobs")


def filters_fingerprint(params: dict[str, Any]) -> str:
    """What a NextToken belongs to: the call's filters and order (not its page)."""
    kept = {k: v for k, v in params.items() if k not in ("NextToken", "MaxResults")}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:16]


def env_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
