"""Shared CLI plumbing: the workspace options every command takes, error printing."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from truthset.config import load_settings
from truthset.errors import AppError, BadInput
from truthset.workspace import Workspace, open_workspace

DataDir = Annotated[
    str | None,
    typer.Option(
        "--data-dir",
        envvar="TRUTHSET_DATA_DIR",
        help="Data directory (SQLite file, media, exports). Default ./truthset-data",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="TRUTHSET_DATABASE_URL",
        help="SQLAlchemy URL; default the SQLite file in the data directory",
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def workspace(
    data_dir: str | None, database_url: str | None, allowed_roots: list[str] | None = None
) -> Workspace:
    return open_workspace(load_settings(data_dir, database_url, allowed_roots))


def print_error(exc: AppError) -> None:
    detail = exc.detail
    if isinstance(detail, dict | list):
        if isinstance(detail, dict) and "message" in detail and "errors" in detail:
            typer.echo(f"error ({exc.kind}): {detail['message']}", err=True)
            for err in detail["errors"]:
                typer.echo(f"  line {err['line']}: {err['reason']}", err=True)
            shown = len(detail["errors"])
            total = detail.get("invalid_lines", shown)
            if total > shown:
                typer.echo(f"  ... and {total - shown} more", err=True)
            return
        detail = json.dumps(detail, indent=2)
    typer.echo(f"error ({exc.kind}): {detail}", err=True)


def handle_errors(fn: F) -> F:
    """Turn AppErrors into a clear message and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AppError as exc:
            print_error(exc)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


def stderr_progress(label: str) -> Callable[[int], None]:
    tty = sys.stderr.isatty()

    def report(n: int) -> None:
        if tty:
            sys.stderr.write(f"\r{label}: {n:,}")
            sys.stderr.flush()

    return report


def run_here(
    ws: Workspace, kind: str, params: dict[str, Any], *, job_id: int | None = None, what: str
) -> dict[str, Any]:
    """Queue a background run and execute it in this process (so a CLI command's work
    still shows in `truthset run list`); exits 2 naming `what` when it fails. Returns the
    run's result."""
    from truthset.runs import service as runs_service
    from truthset.runs.executor import execute_run

    with ws.db.session_scope() as session:
        run_id = runs_service.enqueue(session, kind, params, job_id=job_id).id
        runs_service.claim_next_specific(session, run_id, runs_service.owner_name())
    execute_run(ws.db, ws.settings, run_id)
    with ws.db.session_scope(write=False) as session:
        run = runs_service.run_as_dict(runs_service.get_run(session, run_id))
    if run["state"] != "succeeded":
        typer.echo(f"error: {what} failed: {run['error']}", err=True)
        raise typer.Exit(2)
    return dict(run["result"])


def read_json_file(path: Path, what: str) -> Any:
    """A JSON file the operator names (settings, a request, a manifest line)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{what} file {str(path)!r} does not exist") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{what} file {str(path)!r} is not valid JSON: {exc}") from None
