"""Writing a job's results into Ground Truth's output folder (`exports/layout.py` has the
paths and shapes): one call writes the tasks people finished since the last call as the
next iteration (each worker's answers, the consolidation request and response, the masks),
then the output manifest — the final one once the job has completed or stopped, else an
intermediate one when anything changed.

What was written so far (the iteration and intermediate counts, the time up to which
finished tasks were written, a fingerprint of the job's answers and labels) is the state in
the result of the last `groundtruth_output` run that succeeded, so nothing else is stored
and a failed run leaves the state as it was: the next run writes the same tasks again,
under the same file names.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from tempfile import SpooledTemporaryFile
from typing import IO, Any

import orjson
from sqlalchemy.orm import Session

from truthset.config import Settings
from truthset.errors import BadInput
from truthset.exports import repository
from truthset.exports.groundtruth import iter_output_lines, label_file_name, label_metadata
from truthset.exports.labels import write_pieces
from truthset.exports.layout import (
    OUTPUT_MANIFEST,
    OutputLocation,
    consolidation_path,
    data_object,
    element_name,
    intermediate_manifest_path,
    iso_time,
    label_file_path,
    worker_id,
    worker_metadata,
    worker_response_path,
)
from truthset.exports.output_settings import check_output_path, output_settings
from truthset.jobs.service import LIVE_STATES, get_job
from truthset.store.db import Database
from truthset.store.models import Job, Run
from truthset.store.raw import stored_json
from truthset.tasktypes import get_task_type

RUN_KIND = "groundtruth_output"
# A running job's finished tasks are written once their last answer is this many seconds
# old, so that a submit whose transaction is still committing (its time was taken before
# its commit) is never passed over by a window already written.
SETTLE_SECONDS = 5.0
CHUNK = 500
SPOOL_BYTES = 8 << 20


@dataclass
class OutputState:
    iteration: int = 0
    # Finished tasks whose last answer came up to this time are written.
    through: float = 0.0
    intermediate: int = 0
    fingerprint: list[Any] | None = None
    # The job's updated_at when its final manifest was written (None: not yet).
    final_for: float | None = None
    masks: int = 0
    files: int = 0
    # Label files (a task type's label_file_name) of labels made up to this time are in the
    # folder: a later run writes only newer ones (or one that is missing).
    label_files_through: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_run(cls, run: Run | None) -> OutputState:
        result = stored_json(run.result) if run is not None else None
        saved = (result or {}).get("state") if isinstance(result, dict) else None
        if not isinstance(saved, dict):
            return cls()
        known = {k: v for k, v in saved.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("extra")
        return out


def last_state(session: Session, job_id: int) -> OutputState:
    """What the job's last successful output run had written."""
    return OutputState.of_run(repository.last_succeeded_run(session, job_id, RUN_KIND))


class JobOutput:
    """One job's folder, `<path>/<job>/`, and the writing of its files."""

    def __init__(self, session: Session, job: Job, location: OutputLocation):
        self.session = session
        self.job = job
        self.location = location
        self.task_type = get_task_type(job.task_type)
        self.element = element_name(job.task_type, self.task_type)
        self.label_file_name = label_file_name(self.task_type)
        self.files = 0
        self.masks = 0
        # The label files written in this call, by path: their label's creation time.
        self._label_files: dict[str, float] = {}
        # Label files of labels made up to this time were written by an earlier run.
        self.label_files_through = 0.0

    def rel(self, path: str, job: Job | None = None) -> str:
        return f"{(job or self.job).name}/{path}"

    def write(self, path: str, chunks: Any) -> str:
        self.files += 1
        return self.location.write(self.rel(path), chunks)

    def mask(
        self,
        owner: Job,
        position: int,
        created: float,
        data: bytes | Callable[[], bytes],
        name: str | None = None,
    ) -> str:
        """A label's file in its job's folder (an earlier job's in a chain goes to that
        job's folder). A mask (named by its date) is written once, whoever asks for it
        again gets its location; a task type's `label_file_name` (`<object>/SeqLabel.json`,
        one name for every version of the label) is written again when its label is newer
        than the last written, so the file is the current label."""
        rel = self.rel(label_file_path(position, created, name), owner)
        if name is None:
            if not self.location.exists(rel):
                self.location.put(rel, data() if callable(data) else data)
                self.masks += 1
        elif self._label_files.get(rel) != created and (
            created > self.label_files_through or not self.location.exists(rel)
        ):
            self.location.put(rel, data() if callable(data) else data)
            self._label_files[rel] = created
            self.masks += 1
        return self.location.uri(rel)

    # -- an iteration ---------------------------------------------------------------------

    def write_iteration(
        self, iteration: int, task_ids: list[int], at: float, progress: Callable[[int], None]
    ) -> int:
        """The worker responses of these tasks, then one consolidation request and one
        response for them all; returns how many objects were written."""
        request, response = JsonArraySpool(), JsonArraySpool()
        written = 0
        for start in range(0, len(task_ids), CHUNK):
            chunk = task_ids[start : start + CHUNK]
            answers: dict[int, list[Any]] = {}
            for row in repository.answers_of_tasks(self.session, chunk):
                answers.setdefault(int(row[0]), []).append(row)
            for row in repository.tasks_with_labels(self.session, chunk):
                task_id, position, data, value, meta, human, created, has_file = row
                own = answers.get(int(task_id))
                if not own:
                    continue
                self._worker_response(iteration, int(position), own)
                request.append(self._request_entry(int(position), stored_json(data), own))
                if value is not None:
                    if has_file:
                        value = self.mask(
                            self.job,
                            int(position),
                            float(created),
                            self._file_of(int(task_id)),
                            self.label_file_name,
                        )
                    elif self.label_file_name and not isinstance(value, str):
                        value = self.mask(
                            self.job,
                            int(position),
                            float(created),
                            orjson.dumps(value),
                            self.label_file_name,
                        )
                    response.append(
                        self._response_entry(int(position), value, meta, human, created)
                    )
                written += 1
            progress(min(start + CHUNK, len(task_ids)))
        # Every object's files first: the consolidation files say the iteration is whole.
        self.location.flush()
        self.write(consolidation_path("request", iteration, at), request.chunks())
        self.write(consolidation_path("response", iteration, at), response.chunks())
        return written

    def _file_of(self, task_id: int) -> Callable[[], bytes]:
        return lambda: repository.label_file_of_task(self.session, task_id)

    def _worker_response(self, iteration: int, position: int, answers: list[Any]) -> None:
        """`worker-response/iteration-<n>/<object>/<time>.json`: every answer to the object,
        named by the time of the last one."""
        body = {"answers": [self._answer(row) for row in answers]}
        finished = max(float(row[6]) for row in answers)
        self.files += 1
        self.location.put(
            self.rel(worker_response_path(iteration, position, finished)), orjson.dumps(body)
        )

    def _answer(self, row: Any) -> dict[str, Any]:
        _task, user_id, user_name, user_created, content, leased_at, submitted_at, spent = row
        return {
            "workerId": worker_id(user_id, user_name, user_created),
            "answerContent": {self.element: content},
            "acceptanceTime": iso_time(leased_at),
            "submissionTime": iso_time(submitted_at),
            "timeSpentInSeconds": round(float(spent or 0.0), 3),
            "workerMetadata": worker_metadata(user_name),
        }

    def _request_entry(self, position: int, item: dict[str, Any], answers: list[Any]) -> bytes:
        """One dataset object of the post-annotation (consolidation) request's payload."""
        return orjson.dumps(
            {
                "datasetObjectId": str(position),
                "dataObject": data_object(item),
                "annotations": [
                    {
                        "workerId": worker_id(user_id, user_name, user_created),
                        "annotationData": {
                            "content": orjson.dumps({self.element: content}).decode()
                        },
                    }
                    for _task, user_id, user_name, user_created, content, *_rest in answers
                ],
            }
        )

    def _response_entry(
        self, position: int, value: Any, meta: Any, human: Any, created: float
    ) -> bytes:
        """One object of the consolidation response: the label as the output manifest
        holds it, under the label attribute and its `-metadata`."""
        attr = self.job.label_attribute
        return orjson.dumps(
            {
                "datasetObjectId": str(position),
                "consolidatedAnnotation": {
                    "content": {
                        attr: value,
                        f"{attr}-metadata": label_metadata(
                            self.job,
                            self.task_type.output_type,
                            meta if isinstance(meta, dict) else {},
                            bool(human),
                            float(created),
                        ),
                    }
                },
            }
        )

    # -- manifests ------------------------------------------------------------------------

    def write_manifest(self, path: str, now: float) -> int:
        """The output manifest, every line (unlabeled ones as they came), masks written."""

        def sink(owner: Job, position: int, created: float, data: bytes, name: str | None) -> str:
            return self.mask(owner, position, created, data, name)

        lines = iter_output_lines(self.session, self.job, now=now, artifact_sink=sink)

        def write(chunks: Iterator[bytes]) -> None:
            self.write(path, chunks)

        count = write_pieces(write, lines)
        self.location.flush()  # the masks it named
        return count


class JsonArraySpool:
    """A JSON array written entry by entry to a temporary file (in memory while small), so
    an iteration of any size is sent as one file without being held whole."""

    def __init__(self) -> None:
        # Closed by chunks() once sent.
        self._file: IO[bytes] = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self._file.write(b"[")
        self._empty = True

    def append(self, entry: bytes) -> None:
        if not self._empty:
            self._file.write(b",")
        self._file.write(entry)
        self._empty = False

    def chunks(self) -> Iterator[bytes]:
        self._file.write(b"]")
        self._file.seek(0)
        try:
            yield from iter(lambda: self._file.read(1 << 20), b"")
        finally:
            self._file.close()


def write_output(
    db: Database,
    settings: Settings,
    job_name: str,
    *,
    now: float | None = None,
    progress: Callable[..., None] | None = None,
) -> dict[str, Any]:
    """Write what is due of one job's output folder; returns the run's result (with the
    new state)."""
    now = time.time() if now is None else now
    started = time.perf_counter()
    with db.session_scope(write=False) as session:
        job = get_job(session, job_name)
        opts = output_settings(job.settings)
        if opts is None:
            raise BadInput(f"job {job.name!r} has no output path (settings.output.path)")
        # The allowed roots may have changed since the job was created.
        check_output_path(opts["path"], settings)
        location = OutputLocation(opts["path"], endpoint_url=settings.s3_endpoint_url)
        try:
            location.check_reachable()
            result = _write_due(
                JobOutput(session, job, location),
                last_state(session, job.id),
                now,
                progress or (lambda *a, **k: None),
            )
        finally:
            location.close()
    return {
        "job": job_name,
        "folder": location.uri(job_name),
        **result,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _write_due(
    out: JobOutput, previous: OutputState, now: float, report: Callable[..., None]
) -> dict[str, Any]:
    """The next iteration (when people finished tasks), then the final manifest of a
    finished job or an intermediate one of a running job that changed."""
    session, job = out.session, out.job
    out.label_files_through = previous.label_files_through
    state = OutputState(**previous.as_dict())
    finished = job.state not in LIVE_STATES
    through = now if finished else now - SETTLE_SECONDS
    task_ids = repository.finished_task_ids(session, job.id, previous.through, through)
    objects = 0
    if task_ids:
        state.iteration += 1
        report(0, len(task_ids), f"iteration {state.iteration}: {len(task_ids)} objects")
        objects = out.write_iteration(
            state.iteration, task_ids, now, lambda n: report(n, len(task_ids))
        )
    state.through = max(previous.through, through)
    fingerprint = repository.output_fingerprint(session, job.id)
    manifest: str | None = None
    if finished:
        manifest = OUTPUT_MANIFEST
        state.final_for = job.updated_at
    elif fingerprint != previous.fingerprint:
        state.intermediate += 1
        manifest = intermediate_manifest_path(state.intermediate)
    lines = 0
    if manifest is not None:
        report(0, None, f"writing {manifest}", force=True)
        lines = out.write_manifest(manifest, now)
    state.fingerprint = fingerprint
    state.masks = previous.masks + out.masks
    state.files = previous.files + out.files
    if manifest is not None:
        # Every label file of the manifest is in the folder now; a label made after this
        # (its transaction settled: SETTLE_SECONDS, as for finished tasks) is newer.
        state.label_files_through = max(previous.label_files_through, now - SETTLE_SECONDS)
    return {
        "iteration": state.iteration if task_ids else None,
        "objects": objects,
        "manifest": out.location.uri(out.rel(manifest)) if manifest else None,
        "lines": lines,
        "final": finished,
        "state": state.as_dict(),
    }
