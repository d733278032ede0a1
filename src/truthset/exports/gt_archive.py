"""The Ground Truth output manifest with its mask files, as one zip archive streamed as
it is written (`groundtruth-zip`; what `groundtruth` becomes for a job with masks when
no destination is given, so the download carries them).

    output.manifest
    <job>/annotations/consolidated-annotation/output/<datasetObjectId>_<creation-date>.png

The `-ref` value of each mask is its path inside the archive (relative to the manifest's
folder, the archive's root), never a path on the server. Each job of a chain has its own
folder, as in Ground Truth's output (an adjustment job's masks never replace the first
job's), and masks imported with a Ground Truth manifest are copied in too, their lines'
`-ref` values pointing at the copies. The file names are Ground Truth's with `-` for the
`:` of the time, which Windows cannot unpack. Masks go in as they come (stored: a PNG is
compressed already); the manifest waits in a temporary file and goes in last, so memory
holds a chunk whatever the job's size.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from truthset.exports import repository
from truthset.exports.archives import ZipSink
from truthset.exports.formats import Exporter
from truthset.exports.groundtruth import iter_output_lines, label_file_name
from truthset.exports.labels import CHUNK_BYTES
from truthset.exports.layout import label_file_path
from truthset.store.models import Job
from truthset.tasktypes import get_task_type

MANIFEST = "output.manifest"


def archive_mask_name(owner: Job, position: int, created: float, name: str | None = None) -> str:
    return f"{owner.name}/{label_file_path(position, created, name).replace(':', '-')}"


def export_groundtruth_zip(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    now: float = 0.0,
    labeled_only: bool = False,
    **_: Any,
) -> int:
    """Stream the archive into `write`; returns how many manifest lines."""
    count = 0

    def chunks() -> Iterator[bytes]:
        nonlocal count
        sink = ZipSink()
        written: set[str] = set()
        with (
            zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive,
            tempfile.TemporaryFile() as manifest,
        ):

            def to_archive(
                owner: Job, position: int, created: float, data: bytes, file_name: str | None
            ) -> str:
                name = archive_mask_name(owner, position, created, file_name)
                if name not in written:  # a chained job's mask is on every line of it
                    # A PNG is compressed already; a label document (JSON) is not.
                    method = zipfile.ZIP_STORED if file_name is None else zipfile.ZIP_DEFLATED
                    archive.writestr(name, data, compress_type=method)
                    written.add(name)
                return name

            for line in iter_output_lines(
                session,
                job,
                labeled_only=labeled_only,
                now=now,
                artifact_sink=to_archive,
                carried_files=True,
            ):
                manifest.write(line)
                count += 1
                if sink.pending >= CHUNK_BYTES:
                    yield sink.take()
                    if progress:
                        progress(count)
            manifest.seek(0)
            with archive.open(MANIFEST, "w", force_zip64=True) as entry:
                while block := manifest.read(CHUNK_BYTES):
                    entry.write(block)
                    if sink.pending >= CHUNK_BYTES:
                        yield sink.take()
        yield sink.take()
        if progress:
            progress(count)

    write(chunks())
    return count


def has_files(session: Session, job: Job) -> bool:
    """Whether the job's export carries files: a label of it, or of a job it is chained
    on, is a mask or a task type's label file."""
    current: Job | None = job
    while current is not None:
        # A label-file type's labels are all files (SeqLabel.json), whatever the row holds.
        every_label_a_file = label_file_name(get_task_type(current.task_type)) is not None
        if repository.has_labels(session, current.id, files=not every_label_a_file):
            return True
        parent = current.input_job_id
        current = repository.job_by_id(session, parent) if parent is not None else None
    return False


def archive_instead(session: Session, job: Job, exporter: Exporter, out: str | None) -> Exporter:
    """The exporter an export run uses: the Ground Truth manifest becomes the archive
    when it goes to a `.zip`, or when its masks would otherwise stay on the server (no
    destination given: the server's exports folder, downloaded through the API)."""
    if exporter.name != "groundtruth":
        return exporter
    if (out is not None and out.endswith(".zip")) or (out is None and has_files(session, job)):
        return GROUNDTRUTH_ZIP
    return exporter


GROUNDTRUTH_ZIP = Exporter(
    "groundtruth-zip",
    ".zip",
    "Ground Truth output manifest with its mask files, zipped (masks by relative path)",
    export_groundtruth_zip,
)
