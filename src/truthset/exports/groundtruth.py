"""The Ground Truth output (augmented) manifest: each input line plus `<attr>` and
`<attr>-metadata`, streamed in batches so memory stays flat on any job size."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.datasets.gt_labels import parse_creation_date
from truthset.exports import repository
from truthset.exports.formats import Exporter
from truthset.exports.labels import BATCH, write_pieces
from truthset.store.models import Job
from truthset.tasktypes import get_task_type

_SECONDS: dict[int, str] = {}


def creation_date(ts: float) -> str:
    """Ground Truth's timestamp format: `2018-10-18T22:18:13.527256` (UTC, no zone)."""
    sec = int(ts)
    base = _SECONDS.get(sec)
    if base is None:
        if len(_SECONDS) > 100_000:
            _SECONDS.clear()
        base = _SECONDS[sec] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    micro = min(int(round((ts - sec) * 1e6)), 999_999)
    return f"{base}.{micro:06d}"


def label_metadata(
    job: Job,
    output_type: str,
    meta: dict[str, Any],
    human: bool,
    created: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    out = dict(meta)
    out["type"] = output_type
    out["job-name"] = f"labeling-job/{job.name}"
    out["human-annotated"] = "yes" if human else "no"
    out["creation-date"] = creation_date(created)
    if extra:
        out.update(extra)
    return out


def _job_chain(session: Session, job: Job) -> list[Job]:
    """The job and the jobs whose output it takes as input, oldest first."""
    chain = [job]
    while chain[0].input_job_id is not None:
        parent = repository.job_by_id(session, chain[0].input_job_id)
        assert parent is not None
        chain.insert(0, parent)
    return chain


def _label_rows(session: Session, job: Job, item_ids: list[int]) -> dict[int, tuple[Any, ...]]:
    if not item_ids:
        return {}
    rows = repository.item_label_rows(session, job.id, item_ids)
    return {r[0]: tuple(r[1:]) for r in rows}


def _attrs_for(
    job: Job, output_type: str, row: tuple[Any, ...] | None, now: float
) -> dict[str, Any] | None:
    if row is None:
        return None
    status, value, meta, human, created, reviewed = row
    if status == "failed":
        return {
            f"{job.label_attribute}-metadata": {
                "failure-reason": "ClientError: the item was declined by its workers or expired "
                "without answers",
                "type": output_type,
                "job-name": f"labeling-job/{job.name}",
                "human-annotated": "yes",
                "creation-date": creation_date(now),
            }
        }
    if value is None:
        return None
    if isinstance(value, str):
        value = orjson.loads(value)
    if isinstance(meta, str):
        meta = orjson.loads(meta)
    extra = {"reviewed": "yes"} if reviewed else None
    return {
        job.label_attribute: value,
        f"{job.label_attribute}-metadata": label_metadata(
            job, output_type, meta, bool(human), created, extra
        ),
    }


# Writes a label's file and returns its location, which becomes the label's value. Called
# with the job the label belongs to (the exported job, or one it is chained on), the item's
# position (Ground Truth's datasetObjectId), the label's creation time, the file's bytes and
# its name: None for a mask (named by object and date), else the task type's
# `label_file_name` (`<datasetObjectId>/SeqLabel.json`; `layout.label_file_path`).
ArtifactSink = Callable[[Job, int, float, bytes, "str | None"], str]


def label_file_name(task_type: Any) -> str | None:
    """The LABEL-FILE RULE: a task type with a class attribute `label_file_name` has its
    label written to `<job>/annotations/consolidated-annotation/output/<object>/<name>`
    (the label row's file when it has one, else the label value as JSON) and the label
    attribute (which ends in `-ref`) set to that file's location, as Ground Truth writes
    video frame and point-cloud tracking labels."""
    name = getattr(task_type, "label_file_name", None)
    return name if isinstance(name, str) and name else None


def _label_file_bytes(value: Any) -> bytes | None:
    """A label-file type's value as its file: the document as JSON. A string is the
    location of a file already written (a label imported from Ground Truth): None."""
    if value is None or isinstance(value, str):
        return None
    return orjson.dumps(value)


# The most a label file given by its location (an imported SeqLabel.json) may weigh when an
# archive copies it in.
MAX_LABEL_FILE_BYTES = 256 << 20


def _located_file(value: Any) -> str | None:
    """The location a label-file type's label value names (a label imported from Ground
    Truth: the `-ref` URI of its SeqLabel.json), else None; the value may be stored JSON."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)  # SQLite hands back the stored JSON text
        except orjson.JSONDecodeError:
            return value or None  # PostgreSQL the string itself
    return value if isinstance(value, str) and value else None


def _copy_located_file(
    sink: ArtifactSink, owner: Job, position: int, created: float, name: str, location: str
) -> str:
    """An archive is self-contained: the file a label names by location is read (local
    path or s3://, as the import took it) and written through the sink; its new location."""
    from truthset.media.storage import read_document

    data = read_document(location, f"{owner.label_attribute} {name}", limit=MAX_LABEL_FILE_BYTES)
    return sink(owner, position, created, data, name)


def _ancestor_files(
    session: Session, chain: list[Job], item_ids: list[int], sink: ArtifactSink | None
) -> dict[int, dict[int, float]]:
    """For each job the exported one is chained on: {item id: label created at} of its
    labels that are files (only read when there is a sink to write them)."""
    if sink is None or not item_ids:
        return {}
    return {j.id: repository.label_files_of_items(session, j.id, item_ids) for j in chain[:-1]}


def _write_ancestor_file(
    session: Session,
    sink: ArtifactSink | None,
    anc: Job,
    attrs: dict[str, Any],
    files: dict[int, dict[int, float]],
    item_id: int,
    position: int,
) -> None:
    """An earlier job's mask: written, and its location as that job's label value (not the
    placeholder the label row holds)."""
    created = files.get(anc.id, {}).get(item_id)
    if sink is None or created is None or anc.label_attribute not in attrs:
        return
    blob = repository.label_artifact(session, anc.id, item_id)
    name = label_file_name(get_task_type(anc.task_type))
    attrs[anc.label_attribute] = sink(anc, position, created, bytes(blob), name)


def _write_ancestor_document(
    sink: ArtifactSink | None,
    anc: Job,
    name: str | None,
    attrs: dict[str, Any],
    created: float,
    position: int,
    carried_files: bool,
) -> None:
    """An earlier job's label of a label-file type (no file of its own): its document
    written, and its location as that job's label value; with `carried_files`, a label
    given by its file's location gets that file copied."""
    if sink is None or name is None or anc.label_attribute not in attrs:
        return
    value = attrs[anc.label_attribute]
    data = _label_file_bytes(value)
    if data is not None:
        attrs[anc.label_attribute] = sink(anc, position, created, data, name)
    elif carried_files and (location := _located_file(value)) is not None:
        attrs[anc.label_attribute] = _copy_located_file(
            sink, anc, position, created, name, location
        )


def iter_output_lines(
    session: Session,
    job: Job,
    *,
    labeled_only: bool = False,
    now: float = 0.0,
    artifact_sink: ArtifactSink | None = None,
    carried_files: bool = False,
) -> Iterator[bytes]:
    """One output-manifest line (bytes, with newline) per task of the job, in import order.

    A label with a file (a segmentation mask), the job's own or an earlier job's in the
    chain, is handed to `artifact_sink(job, position, created_at, bytes)`, which writes it
    and returns its location; that location becomes the label's value. `carried_files`:
    so are the files of labels the line carries (imported with a Ground Truth manifest),
    whose lines are otherwise written as they came, pointing where Ground Truth wrote
    them (an archive carries its own copy), and the files a label-file type's labels name
    by location (an imported SeqLabel.json's `-ref`): read and copied in, the line pointing
    at the copy. Without it (a folder or S3 destination) such a label stays its location,
    as Ground Truth writes it."""
    chain = _job_chain(session, job)
    types = {j.id: get_task_type(j.task_type).output_type for j in chain}
    file_names = {j.id: label_file_name(get_task_type(j.task_type)) for j in chain}
    own_file = file_names[job.id]
    simple = len(chain) == 1 and own_file is None
    attr_key = orjson.dumps(job.label_attribute).decode()
    head = (
        f'"type":{orjson.dumps(types[job.id]).decode()},'
        f'"job-name":{orjson.dumps(f"labeling-job/{job.name}").decode()},'
    )
    suffix_yes = head + '"human-annotated":"yes","creation-date":"'
    suffix_no = head + '"human-annotated":"no","creation-date":"'
    last_pos = -1
    while True:
        rows = repository.manifest_rows(session, job.id, last_pos, BATCH)
        if not rows:
            return
        last_pos = rows[-1][0]
        ancestors = {j.id: _label_rows(session, j, [r[1] for r in rows]) for j in chain[:-1]}
        files = _ancestor_files(session, chain, [r[1] for r in rows], artifact_sink)
        for pos, item_id, data, *label, _external_id, has_artifact in rows:
            status, value, meta, human, created, reviewed = label
            if (
                simple
                and status == "complete"
                # SQLite hands back the stored JSON text, or a number (NUMERIC affinity).
                and type(value) in (str, int)
                and type(meta) is str
                and len(meta) > 2
                and not reviewed
                and not has_artifact
                and attr_key not in data
            ):
                # The common case, without parsing: the stored JSON texts are spliced.
                yield (
                    f'{data.rstrip()[:-1]},{attr_key}:{value},{attr_key[:-1]}-metadata":'
                    f"{meta[:-1]},{suffix_yes if human else suffix_no}"
                    f'{creation_date(created)}"}}}}\n'
                ).encode()
                continue
            carried = _carried_by_line(data, job.label_attribute, status, value, meta, created)
            own = None if carried else _attrs_for(job, types[job.id], tuple(label), now)
            if has_artifact and carried and carried_files and artifact_sink is not None:
                own = {job.label_attribute: None}
            located = (
                _located_file(value)
                if carried_files and own_file and not has_artifact and artifact_sink is not None
                else None
            )
            if located is not None and artifact_sink is not None and own_file:
                own = dict(own or {})
                own[job.label_attribute] = _copy_located_file(
                    artifact_sink, job, pos, label[4], own_file, located
                )
            elif has_artifact and own and artifact_sink is not None:
                blob = repository.label_artifact(session, job.id, item_id)
                own[job.label_attribute] = artifact_sink(job, pos, label[4], bytes(blob), own_file)
            elif own_file and own and artifact_sink is not None:
                document = _label_file_bytes(own.get(job.label_attribute))
                if document is not None:
                    own[job.label_attribute] = artifact_sink(job, pos, label[4], document, own_file)
            if labeled_only and not carried and (own is None or job.label_attribute not in own):
                continue
            attrs: dict[str, Any] = {}
            for anc in chain[:-1]:
                anc_row = ancestors[anc.id].get(item_id)
                if _line_has(data, anc, anc_row):
                    # Labels that came with the lines: the line already has them (and,
                    # with carried_files, the copy of its file replaces the location).
                    if carried_files and item_id in files.get(anc.id, {}):
                        attrs[anc.label_attribute] = None
                        _write_ancestor_file(
                            session, artifact_sink, anc, attrs, files, item_id, pos
                        )
                    elif (
                        carried_files
                        and artifact_sink is not None
                        and anc_row is not None
                        and (name := file_names[anc.id])
                        and (location := _located_file(anc_row[1])) is not None
                    ):
                        attrs[anc.label_attribute] = _copy_located_file(
                            artifact_sink, anc, pos, anc_row[4], name, location
                        )
                    continue
                anc_attrs = _attrs_for(anc, types[anc.id], anc_row, now)
                if anc_attrs:
                    if item_id in files.get(anc.id, {}):
                        _write_ancestor_file(
                            session, artifact_sink, anc, anc_attrs, files, item_id, pos
                        )
                    elif anc_row is not None:
                        _write_ancestor_document(
                            artifact_sink,
                            anc,
                            file_names[anc.id],
                            anc_attrs,
                            anc_row[4],
                            pos,
                            carried_files,
                        )
                    attrs.update(anc_attrs)
            if own:
                attrs.update(own)
            yield _merge_line(data, attrs)


# The metadata keys this export writes itself (`label_metadata`); the rest is the label's.
_WRITTEN_META = ("type", "job-name", "human-annotated", "creation-date")


def _carried_by_line(
    data: str, attr: str, status: str, value: Any, meta: Any, created: float
) -> bool:
    """Whether the item's line already carries this very label under `attr` (labels that
    came with a Ground Truth output manifest, kept by a job on the same attribute): the
    line is then written as it came, byte for byte, not rebuilt. A label made again here
    (a job consolidated again, a review) is not the line's, even with the same value and
    metadata: it is newer than the line's `creation-date`."""
    if status not in ("complete", "auto") or f'"{attr}-metadata"' not in data:
        return False
    line = orjson.loads(data)
    carried = line.get(f"{attr}-metadata")
    if not isinstance(carried, dict) or attr not in line:
        return False
    if "creation-date" in carried:
        date = parse_creation_date(carried["creation-date"])
        if date is None or abs(date - created) > 1e-5:
            return False
    value = orjson.loads(value) if isinstance(value, str) else value
    meta = orjson.loads(meta) if isinstance(meta, str) else meta
    own_meta = {k: v for k, v in carried.items() if k not in _WRITTEN_META}
    return bool(line[attr] == value and own_meta == meta)


def _line_has(data: str, job: Job, row: tuple[Any, ...] | None) -> bool:
    """Whether the item's line already holds what an earlier job of the chain would add:
    its label, as it came with the line (not one made again here), or, for an imported
    job without a label, the failure the line records itself."""
    if row is None or row[1] is None:
        return bool((job.settings or {}).get("imported"))
    status, value, meta, _human, created, _reviewed = row
    return _carried_by_line(data, job.label_attribute, status, value, meta, created)


def _merge_line(data: str, attrs: dict[str, Any]) -> bytes:
    if not attrs:
        return data.encode() + b"\n"
    if any(f'"{k}"' in data for k in attrs):
        # The input already holds one of these keys (e.g. re-labeling an output manifest):
        # replace rather than duplicate it.
        obj = orjson.loads(data)
        obj.update(attrs)
        return orjson.dumps(obj) + b"\n"
    body = data.rstrip()
    assert body.endswith("}")
    extra = orjson.dumps(attrs)[1:]  # drop the opening brace
    return body[:-1].encode() + b"," + extra + b"\n"


def export_groundtruth(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    now: float = 0.0,
    labeled_only: bool = False,
    artifact_sink: ArtifactSink | None = None,
) -> int:
    """Stream the manifest into `write` (which consumes an iterator of byte chunks)."""
    lines = iter_output_lines(
        session, job, labeled_only=labeled_only, now=now, artifact_sink=artifact_sink
    )
    return write_pieces(write, lines, progress)


GROUNDTRUTH = Exporter(
    "groundtruth", ".manifest", "Ground Truth output (augmented) manifest", export_groundtruth
)
