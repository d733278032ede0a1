"""A whole finished Ground Truth job in: its output folder (local or S3) becomes a dataset
named after the job and the imported job of the job's label attribute, with Ground Truth's
consolidated labels (`truthset.datasets.importer`) and now every worker's answer, so that
the job can be consolidated again here (`quality.service.reconsolidate_job`) and show
worker skills, agreement and label issues.

Each `workerId` becomes an account of its own (role worker, no password, disabled, and
`imported_as` the worker id, so the same worker in a later job's folder is the same
account). Each answer is an assignment (submitted; leased at `acceptanceTime`, ended at
`submissionTime`) and an answer (`timeSpentInSeconds`) validated by the job's task type;
one that fails is reported (file, worker, reason) and skipped. A task needed the answers
it got; the job's workers per item is the most any object got.

All or nothing: everything is written inside one savepoint of the caller's transaction,
and a folder that is not a job's (no output manifest, a file that cannot be read) is an
error naming the file, with nothing written. Rules only: the session is the caller's.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.datasets import repository as datasets_repository
from truthset.datasets.checking import item_identity
from truthset.datasets.gt_labels import labeled_attributes
from truthset.datasets.importer import ImportResult, import_source
from truthset.datasets.sources import read_json_document
from truthset.errors import BadInput, Conflict
from truthset.exports.layout import OUTPUT_MANIFEST
from truthset.gtimport import repository
from truthset.gtimport.answers import ResponseAnswer, read_response_file, tool_payload
from truthset.gtimport.folder import JobFolder, ResponseFile
from truthset.jobs.service import imported_job_of
from truthset.media.storage import AllowedRoots
from truthset.store.models import Job, User
from truthset.tasktypes import get_task_type

MAX_WORKER_ID = 300
# How many skipped answers the summary lists (all are counted).
MAX_LISTED_SKIPPED = 1000
_USER_NAME = re.compile(r"[^A-Za-z0-9_.@-]+")


@dataclass
class GroundTruthJobImport:
    job: str
    dataset: str
    attribute: str
    task_type: str
    folder: str
    items: int
    labels: int
    answers: int
    files: int
    iterations: list[int]
    workers_per_item: int
    # workerId -> the account's name, for every worker with an imported answer.
    workers: dict[str, str] = field(default_factory=dict)
    new_accounts: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    skipped_count: int = 0
    dataset_import: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "dataset": self.dataset,
            "attribute": self.attribute,
            "task_type": self.task_type,
            "folder": self.folder,
            "items": self.items,
            "labels": self.labels,
            "workers": self.workers,
            "new_accounts": self.new_accounts,
            "answers": self.answers,
            "files": self.files,
            "iterations": self.iterations,
            "workers_per_item": self.workers_per_item,
            "skipped_answers": self.skipped_count,
            "skipped": self.skipped[:MAX_LISTED_SKIPPED],
            "dataset_import": self.dataset_import,
        }


@dataclass
class _Line:
    """What the import needs of one manifest line: its identity and, for lines that
    worker responses answer, the line itself (the item the answers are checked against)."""

    digest: str
    data: dict[str, Any] | None


@dataclass
class _Pending:
    task_id: int
    worker: str
    content: dict[str, Any]
    answer: ResponseAnswer


def import_ground_truth_job(
    session: Session,
    path: str,
    *,
    allowed_roots: list[str],
    endpoint_url: str | None = None,
    labels: str | None = None,
    attribute: str | None = None,
    dataset: str | None = None,
    id_key: str = "id",
    created_by: int | None = None,
    now: float | None = None,
) -> GroundTruthJobImport:
    """Import the finished Ground Truth job whose output folder is `path` (inside
    `allowed_roots`, as are `labels`, its label category file, and the manifest's
    `source-ref`s). `attribute` names the job's label attribute when its metadata's
    job-name does not tell it; `dataset` the dataset (default: the job's name)."""
    now = time.time() if now is None else now
    roots = AllowedRoots(allowed_roots)
    folder = JobFolder(path, roots, endpoint_url=endpoint_url)
    label_config = (
        read_json_document(labels, "label category file", roots=roots, endpoint_url=endpoint_url)
        if labels is not None
        else None
    )
    # The layout is checked before anything is written: a stray file is refused here.
    files = folder.response_files()
    manifest, spool = folder.manifest_copy()
    try:
        wanted = {f.object_id for f in files}
        lines, job_names = _scan_manifest(manifest, id_key, wanted)
        chosen = _choose_attribute(folder, job_names, attribute)
        savepoint = session.begin_nested()
        try:
            result = _import(
                session,
                folder,
                manifest,
                files,
                lines,
                chosen,
                label_config=label_config,
                dataset_name=dataset or _dataset_name(folder.name),
                allowed_roots=allowed_roots,
                endpoint_url=endpoint_url,
                id_key=id_key,
                created_by=created_by,
                now=now,
            )
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()
        return result
    finally:
        if spool is not None:
            spool.close()


def _dataset_name(job_name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", job_name).strip("-._")[:200]
    return name or "ground-truth-job"


def _scan_manifest(
    manifest: str, id_key: str, wanted: set[int]
) -> tuple[list[_Line], dict[str, set[str]]]:
    """Each line's identity (the item it becomes), the lines worker responses answer,
    and per label attribute the job names its metadata gives. Lines that do not parse
    are left to the import, which refuses them by number."""
    lines: list[_Line] = []
    job_names: dict[str, set[str]] = {}
    with open(manifest, "rb") as fh:
        for object_id, raw in enumerate(fh):
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                obj = None
            if not isinstance(obj, dict):
                lines.append(_Line("", None))
                continue
            for attr in labeled_attributes(obj):
                names = job_names.setdefault(attr, set())
                name = obj[f"{attr}-metadata"].get("job-name")
                if isinstance(name, str) and len(names) < 100:
                    names.add(name)
            lines.append(_Line(item_identity(obj, id_key), obj if object_id in wanted else None))
    return lines, job_names


def _choose_attribute(
    folder: JobFolder, job_names: dict[str, set[str]], attribute: str | None
) -> str:
    """The job's label attribute: the one given, else the one whose metadata names this
    job (`labeling-job/<job>`, or the bare name), else the manifest's only one."""

    def listing() -> str:
        return "; ".join(
            f"{attr} (job-name {', '.join(sorted(names)) or 'none'})"
            for attr, names in sorted(job_names.items())
        )

    where = folder.uri(OUTPUT_MANIFEST)
    if attribute is not None:
        if attribute not in job_names:
            raise BadInput(
                f"{where} has no labels under {attribute!r}; its label attributes: "
                f"{listing() or 'none'}"
            )
        return attribute
    if not job_names:
        raise BadInput(
            f"{where} holds no Ground Truth labels (no <attribute>-metadata with a "
            "groundtruth/ type): it is not a finished job's output manifest"
        )
    ours = {f"labeling-job/{folder.name}", folder.name}
    found = [attr for attr, names in job_names.items() if names & ours]
    if len(found) == 1:
        return found[0]
    if not found and len(job_names) == 1:
        return next(iter(job_names))
    raise BadInput(
        f"{where}: cannot tell which label attribute is job {folder.name!r}'s "
        f"({listing()}); name it with --attribute"
    )


def _import_manifest(session: Session, folder: JobFolder, manifest: str, **kw: Any) -> ImportResult:
    """The output manifest into the dataset, its labels into imported jobs; a refusal
    names the manifest (the importer names the lines)."""
    where = folder.uri(OUTPUT_MANIFEST)
    try:
        return import_source(session, source=manifest, **kw)
    except BadInput as exc:
        detail = exc.detail
        if isinstance(detail, dict) and "message" in detail:
            raise BadInput({**detail, "message": f"{where}: {detail['message']}"}) from None
        raise BadInput(f"{where}: {detail}") from None


def _import(
    session: Session,
    folder: JobFolder,
    manifest: str,
    files: list[ResponseFile],
    lines: list[_Line],
    attribute: str,
    *,
    label_config: Any,
    dataset_name: str,
    allowed_roots: list[str],
    endpoint_url: str | None,
    id_key: str,
    created_by: int | None,
    now: float,
) -> GroundTruthJobImport:
    imported = _import_manifest(
        session,
        folder,
        manifest,
        dataset_name=dataset_name,
        allowed_roots=allowed_roots,
        endpoint_url=endpoint_url,
        id_key=id_key,
        labels=True,
        label_configs={attribute: label_config} if label_config is not None else None,
        created_by=created_by,
    )
    if attribute in imported.skipped_attributes:
        raise BadInput(f"{attribute}: {imported.skipped_attributes[attribute]}")
    dataset = datasets_repository.dataset_named(session, dataset_name)
    assert dataset is not None
    job = imported_job_of(session, dataset.id, attribute)
    if job is None:  # pragma: no cover - the manifest's labels made it above
        raise BadInput(f"{folder.uri(OUTPUT_MANIFEST)} has no labels under {attribute!r}")
    earlier = repository.answer_count(session, job.id)
    if earlier:
        raise Conflict(
            f"job {job.name!r} (dataset {dataset_name!r}, attribute {attribute!r}) already "
            f"holds {earlier} answers: its worker responses were imported before"
        )
    pending, skipped = _read_answers(session, folder, files, lines, job, dataset.id)
    users, new_accounts = _accounts(session, sorted({p.worker for p in pending}), now)
    counts = _write_answers(session, job, pending, users, now)
    job.workers_per_item = max(counts.values(), default=job.workers_per_item)
    iterations = sorted({f.iteration for f in files})
    job.settings = {
        **job.settings,
        "imported": {
            **job.settings["imported"],
            "worker_responses": {
                "folder": folder.path,
                "files": len(files),
                "iterations": iterations,
                "answers": len(pending),
                "skipped": len(skipped),
            },
        },
    }
    job.updated_at = now
    session.flush()
    summary = imported.labels.get(attribute, {})
    return GroundTruthJobImport(
        job=job.name,
        dataset=dataset_name,
        attribute=attribute,
        task_type=job.task_type,
        folder=folder.path,
        items=imported.lines,
        labels=int(summary.get("labels", 0)),
        answers=len(pending),
        files=len(files),
        iterations=iterations,
        workers_per_item=job.workers_per_item,
        workers={p.worker: users[p.worker].name for p in pending},
        new_accounts=new_accounts,
        skipped=skipped[:MAX_LISTED_SKIPPED],
        skipped_count=len(skipped),
        dataset_import=imported.as_dict(),
    )


def _read_answers(
    session: Session,
    folder: JobFolder,
    files: list[ResponseFile],
    lines: list[_Line],
    job: Job,
    dataset_id: int,
) -> tuple[list[_Pending], list[dict[str, Any]]]:
    """Every answer of the worker-response files, validated by the job's task type, and
    the ones skipped with why."""
    task_type = get_task_type(job.task_type)
    config = task_type.parse_label_config(job.label_config)
    digests = sorted({lines[f.object_id].digest for f in files if f.object_id < len(lines)})
    items = datasets_repository.items_by_identity(session, dataset_id, digests)
    tasks = repository.tasks_by_item(session, job.id)
    pending: list[_Pending] = []
    skipped: list[dict[str, Any]] = []
    first_file: dict[tuple[int, str], str] = {}

    def skip(where: str, worker: str, reason: str) -> None:
        skipped.append({"file": where, "worker": worker, "reason": reason})

    for f, data in _files_in_range(folder, files, len(lines)):
        where = folder.uri(f.rel)
        answers = read_response_file(data, where)
        line = lines[f.object_id]
        hit = items.get(line.digest)
        task = tasks.get(hit[0]) if hit is not None else None
        for answer in answers:
            if len(answer.worker_id) > MAX_WORKER_ID:
                raise BadInput(f"{where}: a workerId is longer than {MAX_WORKER_ID} characters")
            if task is None or line.data is None:
                skip(
                    where,
                    answer.worker_id,
                    f"line {f.object_id + 1} of the output manifest carries no "
                    f"{job.label_attribute!r} label or failure, so the job has no task for it",
                )
                continue
            key = (task[0], answer.worker_id)
            if key in first_file:
                skip(
                    where,
                    answer.worker_id,
                    f"a second answer of this worker to object {f.object_id} (the first is in "
                    f"{first_file[key]})",
                )
                continue
            try:
                content = task_type.validate_answer(
                    tool_payload(answer.content, job.task_type, task_type), config, line.data
                )
            except (BadInput, ValueError, TypeError, KeyError) as exc:
                reason = exc.detail if isinstance(exc, BadInput) else str(exc)
                skip(where, answer.worker_id, f"not a {job.task_type} answer: {reason}")
                continue
            first_file[key] = where
            pending.append(_Pending(task[0], answer.worker_id, content, answer))
    return pending, skipped


def _files_in_range(
    folder: JobFolder, files: list[ResponseFile], n_lines: int
) -> Iterator[tuple[ResponseFile, bytes]]:
    for f in files:
        if f.object_id >= n_lines:
            raise BadInput(
                f"{folder.uri(f.rel)}: datasetObjectId {f.object_id} is not a line of "
                f"{folder.uri(OUTPUT_MANIFEST)}, which has {n_lines} lines"
            )
    yield from folder.read_all(files)


def _accounts(session: Session, worker_ids: list[str], now: float) -> tuple[dict[str, User], int]:
    """The account of each worker id: the one imported for it before, else a new one
    (role worker, no password, disabled) named after it."""
    found = repository.imported_users(session, worker_ids)
    made = 0
    for worker in worker_ids:
        if worker in found:
            continue
        user = User(
            name=_free_user_name(session, worker),
            role="worker",
            password_hash=None,
            active=False,
            created_at=now,
            imported_as=worker,
        )
        session.add(user)
        session.flush()
        found[worker] = user
        made += 1
    return found, made


def _free_user_name(session: Session, worker: str) -> str:
    """The worker id as an account name (the characters names allow), with `-2`, `-3`
    ... when an account of that name exists."""
    base = _USER_NAME.sub("-", worker).strip("-")[:100]
    if not base or not base[0].isalnum():
        base = f"gt-{base}"[:100]
    name, n = base, 1
    while repository.user_named(session, name) is not None:
        n += 1
        name = f"{base[: 99 - len(str(n))]}-{n}"
    return name


def _write_answers(
    session: Session, job: Job, pending: list[_Pending], users: dict[str, User], now: float
) -> dict[int, int]:
    """Assignments, answers and the activity log (accept, submit) of the answers;
    returns the answer count per task."""
    ids = repository.new_assignment_ids(session, len(pending))
    worker_of = [users[p.worker].id for p in pending]
    repository.insert_assignments(
        session,
        [
            (
                assignment_id,
                p.task_id,
                job.id,
                worker,
                "submitted",
                p.answer.accepted_at,
                p.answer.submitted_at,  # its deadline: it was answered in time
                p.answer.submitted_at,
                p.answer.submitted_at,
            )
            for p, assignment_id, worker in zip(pending, ids, worker_of, strict=True)
        ],
    )
    repository.insert_answers(
        session,
        [
            (
                assignment_id,
                p.task_id,
                job.id,
                worker,
                orjson.dumps(p.content).decode(),
                p.answer.submitted_at,
                p.answer.time_spent,
                False,
            )
            for p, assignment_id, worker in zip(pending, ids, worker_of, strict=True)
        ],
    )
    repository.insert_activity(
        session,
        [
            (job.id, p.task_id, assignment_id, worker, event, at)
            for p, assignment_id, worker in zip(pending, ids, worker_of, strict=True)
            for event, at in (("accept", p.answer.accepted_at), ("submit", p.answer.submitted_at))
        ],
    )
    counts: dict[int, int] = {}
    for p in pending:
        counts[p.task_id] = counts.get(p.task_id, 0) + 1
    repository.set_task_answers(session, counts, now)
    return counts
