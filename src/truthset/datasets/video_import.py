"""The import option `extract_video_frames`: a source of video files (a manifest, CSV,
folder or S3 prefix, as any import reads it) becomes frame sequences first, and the
manifest of their sequence files is what is imported, so each video is one item whose
`source-ref` is its sequence file: the items of a video frame detection or tracking job.

The extraction runs before the import opens its transaction (decoding a long video takes
minutes, which a write transaction on SQLite must not be held for), and its files are
removed again when the import fails, so a bad line leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from truthset.datasets.sources import detect_source, iter_records
from truthset.errors import BadInput
from truthset.media.storage import AllowedRoots
from truthset.media.video_frames import check_destination, check_video_line, extract_lines


def check_frames_destination(dest: str, allowed_roots: list[str]) -> str:
    """Where the frames go must be inside the allowed roots: the sequences' items are
    imported from there, and the server serves their frames only from there."""
    return check_destination(dest, AllowedRoots(allowed_roots))


def extract_for_import(
    source: str,
    dest: str,
    *,
    allowed_roots: list[str],
    endpoint_url: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Extract every video of `source` into `dest`; the result's `manifest` is the
    source to import (see `media.video_frames.extract_lines`)."""
    spec = detect_source(source, endpoint_url=endpoint_url)
    roots = AllowedRoots(allowed_roots)
    check_destination(dest, roots)
    if spec.implicit_root:
        roots.add(spec.implicit_root)
    lines: list[dict[str, Any]] = []
    for record in iter_records(spec, endpoint_url=endpoint_url):
        where = f"source {source}: line {record.line_no}"
        if record.error is not None:
            raise BadInput(f"{where}: {record.error}")
        obj = record.obj
        if obj is None:
            if not (record.text or "").strip():
                continue
            try:
                obj = orjson.loads(record.text or "")
            except orjson.JSONDecodeError as exc:
                raise BadInput(f"{where}: not JSON ({exc})") from None
        lines.append(check_video_line(obj, where))
    return extract_lines(lines, dest, roots=roots, endpoint_url=endpoint_url, progress=progress)
