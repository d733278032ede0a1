"""The `truthset` command."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

import truthset.cli.gtimport  # noqa: F401 - adds `job import-ground-truth`
from truthset.cli import admin, datasets, gold, identity, jobs, simulate, templates, video
from truthset.cli.common import (
    DatabaseUrl,
    DataDir,
    echo_json,
    handle_errors,
    run_here,
    workspace,
)

app = typer.Typer(
    help="truthset: self-hosted data labeling (the open equivalent of SageMaker Ground Truth).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(datasets.app, name="dataset")
app.add_typer(jobs.app, name="job")
app.add_typer(gold.app, name="gold")
app.add_typer(templates.app, name="template")
app.command("simulate")(simulate.simulate)
app.add_typer(admin.users, name="user")
app.add_typer(admin.teams, name="team")
app.add_typer(admin.runs, name="run")
app.add_typer(identity.oidc, name="oidc")
app.add_typer(identity.source_ip, name="source-ip")
app.add_typer(identity.audit_log, name="audit")
app.add_typer(video.app, name="video")


@app.command()
@handle_errors
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="app processes (PostgreSQL or SQLite)")] = 1,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    log_level: str = "warning",
) -> None:
    """Start the API and web server."""
    from truthset.server.serve import run_server

    run_server(
        host=host,
        port=port,
        workers=workers,
        data_dir=data_dir,
        database_url=database_url,
        log_level=log_level,
    )


@app.command()
@handle_errors
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    seed_only: Annotated[bool, typer.Option(help="seed the workspace and exit")] = False,
) -> None:
    """Seed a demo workspace (tweets and photos, an admin, three workers, a reviewer) and
    serve it."""
    from truthset.demo.seed import seed_demo

    ws = workspace(data_dir, database_url)
    logins = seed_demo(ws)
    ws.close()
    typer.echo(f"\ntruthset demo: http://{host}:{port}/")
    typer.echo(f"data directory: {ws.settings.data_dir}")
    for name, role, password in logins:
        typer.echo(f"  {role:8} {name:10} password: {password}")
    sys.stdout.flush()
    if seed_only:
        return
    from truthset.server.serve import run_server

    run_server(
        host=host,
        port=port,
        workers=1,
        data_dir=str(ws.settings.data_dir),
        database_url=database_url,
        log_level="warning",
    )


@app.command()
@handle_errors
def worker(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    once: Annotated[bool, typer.Option(help="run what is queued, then exit")] = False,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="runs at a time (PostgreSQL)")
    ] = 1,
    stalled_after: Annotated[
        float | None,
        typer.Option(
            min=1.0,
            help="seconds without a worker's heartbeat before its runs are retried elsewhere"
            " (PostgreSQL; the same on every worker; default TRUTHSET_WORKER_STALLED_AFTER"
            " or 30)",
        ),
    ] = None,
) -> None:
    """Execute background runs (scale-out: on any host). On PostgreSQL a procrastinate
    worker (LISTEN/NOTIFY, SKIP LOCKED, retries, the periodic work once per cluster) until
    SIGINT / SIGTERM; on SQLite the runs table is polled on this host."""
    import time

    from truthset.runs.executor import run_pending
    from truthset.runs.service import recover_interrupted

    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        recover_interrupted(session, data_dir=ws.settings.data_dir)
    if once:
        typer.echo(f"ran {run_pending(ws.db, ws.settings)} run(s)")
        return
    if not ws.db.is_sqlite:
        from truthset.runs.procrastinate_app import serve_until_signal, stalled_after_from_env

        serve_until_signal(
            ws.db,
            ws.settings,
            concurrency=concurrency,
            stalled_after=stalled_after or stalled_after_from_env(),
        )
        return
    while True:
        if not run_pending(ws.db, ws.settings):
            time.sleep(0.5)


@app.command()
@handle_errors
def migrate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the database schema."""
    ws = workspace(data_dir, database_url)
    typer.echo(f"schema up to date: {ws.settings.database_url.split('@')[-1]}")


@app.command("export")
@handle_errors
def export_cmd(
    job: str,
    format: Annotated[
        str,
        typer.Option(
            help="groundtruth (a zip with its masks for a job with masks and no --out, or an"
            " --out ending .zip), groundtruth-zip, coco, yolo, voc (box jobs), yolo-seg"
            " (polygon jobs), conll (entity jobs), rttm, events-csv (audio segment jobs),"
            " webvtt, srt (segment transcripts)"
        ),
    ] = "groundtruth",
    out: Annotated[str | None, typer.Option(help="file path or s3://bucket/key")] = None,
    labeled_only: bool = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export a job's labels (runs as a background run, shown with its progress)."""
    ws = workspace(data_dir, database_url)
    if out and not out.startswith("s3://"):
        out = os.path.abspath(out)
    params = {"job": job, "format": format, "out": out, "labeled_only": labeled_only}
    result = run_here(ws, "export", params, what="export")
    typer.echo(
        f"wrote {result['lines']:,} lines to {result['out']} in {result['seconds']} s", err=True
    )
    echo_json(result)


def _register_optional_commands() -> None:
    """Commands that live with their domain packages."""
    try:
        from truthset.cli.consolidate import register as register_consolidate
    except ImportError:
        return
    register_consolidate(app)


_register_optional_commands()

if __name__ == "__main__":  # pragma: no cover
    app()
