"""Import as a background run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from truthset.datasets.importer import import_source
from truthset.datasets.video_import import extract_for_import
from truthset.media.video_frames import remove_sequences
from truthset.runs.registry import run_kind
from truthset.workspace import Workspace


@run_kind("import", resumable=True)  # one transaction: a restart imports from scratch
def import_run(
    ctx: Any,
    *,
    dataset: str,
    source: str,
    id_key: str = "id",
    skip_invalid: bool = False,
    report_path: str | None = None,
    extra_roots: list[str] | None = None,
    labels: bool = True,
    label_configs: dict[str, Any] | None = None,
    extract_video_frames: str | None = None,
) -> dict[str, Any]:
    ws = Workspace(ctx.settings, ctx.db)
    roots = [*ws.allowed_roots, *(extra_roots or [])]
    extracted = None
    if extract_video_frames is not None:
        # Before the import's transaction: decoding takes minutes.
        extracted = extract_for_import(
            source,
            extract_video_frames,
            allowed_roots=roots,
            endpoint_url=ctx.settings.s3_endpoint_url,
            progress=lambda n: ctx.progress(n, message="video frames extracted"),
        )
        source = extracted["manifest"]
    try:
        result = _import(
            ctx, dataset, source, roots, id_key, skip_invalid, report_path, labels, label_configs
        )
    except BaseException:
        if extracted is not None:
            remove_sequences(extracted, endpoint_url=ctx.settings.s3_endpoint_url)
        raise
    if extracted is not None:
        result["video_frames"] = {k: extracted[k] for k in ("manifest", "videos", "frames")}
    return result


def _import(
    ctx: Any,
    dataset: str,
    source: str,
    roots: list[str],
    id_key: str,
    skip_invalid: bool,
    report_path: str | None,
    labels: bool,
    label_configs: dict[str, Any] | None,
) -> dict[str, Any]:
    with ctx.db.session_scope() as session:
        result = import_source(
            session,
            dataset,
            source,
            allowed_roots=roots,
            id_key=id_key,
            skip_invalid=skip_invalid,
            report_path=Path(report_path) if report_path else None,
            endpoint_url=ctx.settings.s3_endpoint_url,
            progress=lambda n: ctx.progress(n, message="lines read"),
            labels=labels,
            label_configs=label_configs,
        )
    return result.as_dict()
