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
    stderr_progress,
    workspace,
)
from truthset.datasets import service
from truthset.datasets.importer import import_source

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
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import a Ground Truth input manifest, a CSV, a folder, or an S3 prefix/manifest."""
    ws = workspace(data_dir, database_url, allow_root)
    if skip_invalid and report is None:
        report = Path(f"{name}-import-errors-{time.strftime('%Y%m%dT%H%M%S')}.jsonl")
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
        )
    r = result.as_dict()
    typer.echo(
        f"\n{name}: {r['added']:,} items added, {r['duplicates']:,} duplicates, "
        f"{r['invalid']:,} invalid lines, {r['lines']:,} lines in {r['seconds']:.2f} s",
        err=True,
    )
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
