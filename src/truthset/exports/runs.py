"""Exports as background runs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from truthset.exports import repository
from truthset.exports.destinations import check_export_destination
from truthset.exports.formats import get_exporter
from truthset.exports.gt_archive import archive_instead
from truthset.exports.layout import label_file_path
from truthset.jobs.service import get_job
from truthset.media.storage import write_bytes
from truthset.runs.files import export_location
from truthset.runs.registry import run_kind
from truthset.store.models import Job


@run_kind("export", resumable=True)  # writes to a temp name and renames: safe to redo
def export_run(
    ctx: Any,
    *,
    job: str,
    format: str = "groundtruth",
    out: str | None = None,
    labeled_only: bool = False,
) -> dict[str, Any]:
    exporter = get_exporter(format)
    if out is not None:
        out = check_export_destination(out, ctx.settings, from_api=False)
    started = time.perf_counter()
    with ctx.db.session_scope(write=False) as session:
        the_job = get_job(session, job)
        exporter.check_job(the_job)
        exporter = archive_instead(session, the_job, exporter, out)
        # Without a destination: the data folder, or in a cluster the shared files
        # prefix, where the app process that serves the download can read it.
        dest = out or export_location(ctx.settings, f"{the_job.name}-{ctx.run_id}{exporter.suffix}")
        total = repository.non_gold_task_count(session, the_job.id)
        ctx.progress(0, total, "exporting", force=True)

        def write(chunks: Iterator[bytes]) -> None:
            write_bytes(dest, chunks, endpoint_url=ctx.settings.s3_endpoint_url)

        # Label files go where Ground Truth puts them, in a folder of the job they belong
        # to beside the manifest (`<job>/annotations/consolidated-annotation/output/`,
        # named by object and label date): an adjustment job's masks never replace the
        # first job's, and a chained export points at the earlier job's real file.
        base = dest.rsplit("/", 1)[0]

        def artifact_sink(
            owner: Job, position: int, created: float, data: bytes, name: str | None
        ) -> str:
            location = f"{base}/{owner.name}/{label_file_path(position, created, name)}"
            write_bytes(location, [data], endpoint_url=ctx.settings.s3_endpoint_url)
            return location

        lines = exporter.export(
            session,
            the_job,
            write,
            progress=lambda n: ctx.progress(n, total),
            now=time.time(),
            labeled_only=labeled_only,
            artifact_sink=artifact_sink,
        )
    ctx.progress(lines, total, "done", force=True)
    return {
        "job": job,
        "format": exporter.name,
        "out": dest,
        "lines": lines,
        "seconds": round(time.perf_counter() - started, 3),
    }
