"""`truthset job import-ground-truth PATH`: a whole finished Ground Truth job in, from its
output folder (local or s3://), so that it can be consolidated again here."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from truthset.cli.common import DatabaseUrl, DataDir, echo_json, handle_errors, workspace
from truthset.cli.jobs import app
from truthset.gtimport.service import import_ground_truth_job


@app.command("import-ground-truth")
@handle_errors
def import_ground_truth_cmd(
    path: Annotated[
        str,
        typer.Argument(
            help="the job's output folder: a local folder or s3://bucket/prefix/JOB/, "
            "holding manifests/output/output.manifest and annotations/worker-response/"
        ),
    ],
    labels: Annotated[
        str | None,
        typer.Option(help="the job's label category file (local or s3://), its class ids"),
    ] = None,
    attribute: Annotated[
        str | None,
        typer.Option(help="the job's label attribute, when its metadata's job-name does not say"),
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="dataset to import into; default the job's name")
    ] = None,
    id_key: Annotated[str, typer.Option(help="manifest key that holds the item id")] = "id",
    allow_root: Annotated[
        list[str] | None,
        # No square brackets in help text: rich reads them as markup.
        typer.Option(help="extra folder, s3://bucket or s3://bucket/prefix the images are in"),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import a finished Ground Truth job (output manifest, label file, worker responses)
    as a finished job with every worker's answers, to consolidate it again here."""
    ws = workspace(data_dir, database_url, allow_root)
    if not path.startswith("s3://"):
        path = os.path.abspath(path)
    if labels is not None and not labels.startswith("s3://"):
        labels = os.path.abspath(labels)
    # The folder and the label file are the operator's to name, as a dataset import's
    # source is: they join the workspace's allowed roots for this import.
    roots = [*ws.allowed_roots, path, *([labels] if labels else [])]
    with ws.db.session_scope() as session:
        result = import_ground_truth_job(
            session,
            path,
            allowed_roots=roots,
            endpoint_url=ws.settings.s3_endpoint_url,
            labels=labels,
            attribute=attribute,
            dataset=dataset,
            id_key=id_key,
        ).as_dict()
    n_workers = len(result["workers"])
    typer.echo(
        f"job {result['job']!r}: {result['task_type']} labels under {result['attribute']!r} "
        f"in dataset {result['dataset']!r}, from {result['folder']}",
        err=True,
    )
    typer.echo(
        f"  {result['items']:,} items, {result['labels']:,} labels, {n_workers:,} workers "
        f"({result['new_accounts']:,} new accounts), {result['answers']:,} answers from "
        f"{result['files']:,} worker-response files "
        f"(iterations {', '.join(map(str, result['iterations'])) or 'none'}), "
        f"{result['skipped_answers']:,} answers skipped",
        err=True,
    )
    for entry in result["skipped"]:
        typer.echo(
            f"  skipped: {entry['file']}: worker {entry['worker']}: {entry['reason']}", err=True
        )
    if result["skipped_answers"] > len(result["skipped"]):
        typer.echo(f"  ... and {result['skipped_answers'] - len(result['skipped'])} more", err=True)
    typer.echo(
        f"next: truthset job consolidate {result['job']} --method auto; "
        f"truthset job agreement {result['job']}",
        err=True,
    )
    echo_json(result)
