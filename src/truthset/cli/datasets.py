from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from truthset.cli.common import (
    DatabaseUrl,
    DataDir,
    echo_json,
    handle_errors,
    run_here,
    stderr_progress,
    workspace,
)
from truthset.datasets import service
from truthset.datasets.importer import import_source
from truthset.datasets.sources import read_json_document

app = typer.Typer(help="Datasets: import and inspect items.", no_args_is_help=True)


@app.command("import")
@handle_errors
def import_cmd(
    name: Annotated[str, typer.Argument(help="dataset name (created if missing)")],
    source: Annotated[str, typer.Argument(help="manifest, CSV, folder or s3://bucket/prefix")],
    id_key: Annotated[str, typer.Option(help="manifest key that holds the item id")] = "id",
    skip_invalid: Annotated[bool, typer.Option(help="import good lines, report bad ones")] = False,
    report: Annotated[Path | None, typer.Option(help="where to write the bad lines")] = None,
    allow_root: Annotated[
        list[str] | None,
        # No square brackets in help text: typer renders it as rich markup, where
        # "[/prefix]" is a closing tag and crashes --help.
        typer.Option(
            help="extra folder, s3://bucket or s3://bucket/prefix that source-refs may use"
        ),
    ] = None,
    labels: Annotated[
        list[str] | None,
        typer.Option(
            help="label category file (local or s3://) the lines' class ids must follow; "
            "ATTRIBUTE=FILE for one label attribute, FILE for all; repeatable"
        ),
    ] = None,
    read_labels: Annotated[
        bool,
        typer.Option(
            "--read-labels/--no-labels",
            help="read Ground Truth labels (attr and attr-metadata) of the lines as labels",
        ),
    ] = True,
    extract_video_frames: Annotated[
        str | None,
        typer.Option(
            help="folder or s3:// prefix inside the allowed roots: the source's videos are "
            "extracted there into frame sequences, imported as sequence items"
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import a Ground Truth input or output manifest, a CSV, a folder, or an S3
    prefix/manifest. The labels of an output manifest become labels of the dataset."""
    ws = workspace(data_dir, database_url, allow_root)
    label_configs = {}
    for entry in labels or []:
        attribute, sep, ref = entry.partition("=")
        if not sep or "/" in attribute or attribute.startswith("s3:"):
            attribute, ref = "*", entry
        label_configs[attribute] = read_json_document(
            ref, "label category file", endpoint_url=ws.settings.s3_endpoint_url
        )
    if skip_invalid and report is None:
        report = Path(f"{name}-import-errors-{time.strftime('%Y%m%dT%H%M%S')}.jsonl")
    if extract_video_frames is not None:
        # The run's code, here: extraction first, then the import, undone on failure.
        summary = run_here(
            ws,
            "import",
            {
                "dataset": name,
                "source": source,
                "id_key": id_key,
                "skip_invalid": skip_invalid,
                "report_path": str(report) if report else None,
                # The operator names the folder, as a folder imported from is allowed.
                "extra_roots": [*(allow_root or []), extract_video_frames],
                "labels": read_labels,
                "label_configs": label_configs,
                "extract_video_frames": extract_video_frames,
            },
            what="import",
        )
        echo_json(summary)
        return
    with ws.db.session_scope() as session:
        result = import_source(
            session,
            name,
            source,
            allowed_roots=ws.allowed_roots,
            id_key=id_key,
            skip_invalid=skip_invalid,
            report_path=report,
            endpoint_url=ws.settings.s3_endpoint_url,
            progress=stderr_progress("lines"),
            labels=read_labels,
            label_configs=label_configs,
        )
    r = result.as_dict()
    typer.echo(
        f"\n{name}: {r['added']:,} items added, {r['merged']:,} merged, "
        f"{r['duplicates']:,} duplicates, "
        f"{r['invalid']:,} invalid lines, {r['lines']:,} lines in {r['seconds']:.2f} s",
        err=True,
    )
    for attribute, summary in r["labels"].items():
        typer.echo(
            f"{attribute}: {summary['labels']:,} {summary['task_type']} labels in imported "
            f"job {summary['job']!r}",
            err=True,
        )
    for attribute, why in r["skipped_attributes"].items():
        typer.echo(f"{attribute}: not read as labels: {why}", err=True)
    if r["report_path"]:
        typer.echo(f"bad lines written to {r['report_path']}", err=True)
    echo_json(r)


@app.command("list")
@handle_errors
def list_cmd(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        echo_json(service.list_datasets(session))


@app.command("show")
@handle_errors
def show_cmd(
    name: str, limit: int = 10, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        ds = service.get_dataset(session, name)
        echo_json(
            {
                "name": ds.name,
                "version": ds.version,
                "items": service.list_items(session, ds, limit=limit),
            }
        )
