"""Import as a background run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from truthset.datasets.importer import import_source
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
) -> dict[str, Any]:
    ws = Workspace(ctx.settings, ctx.db)
    with ctx.db.session_scope() as session:
        result = import_source(
            session,
            dataset,
            source,
            allowed_roots=[*ws.allowed_roots, *(extra_roots or [])],
            id_key=id_key,
            skip_invalid=skip_invalid,
            report_path=Path(report_path) if report_path else None,
            endpoint_url=ctx.settings.s3_endpoint_url,
            progress=lambda n: ctx.progress(n, message="lines read"),
            labels=labels,
            label_configs=label_configs,
        )
    return result.as_dict()
