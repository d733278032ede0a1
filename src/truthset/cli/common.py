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
    """Turn AppErrors into a clear message and exit status 2, and the failures a command
    meets through no fault of its code (the database cannot be opened, is locked or
    refuses the connection; a bad database URL or setting; a file that cannot be read or
    written) into one line and exit status 1, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AppError as exc:
            print_error(exc)
            raise typer.Exit(2) from None
        except Exception as exc:
            line = expected_failure(exc)
            if line is None:
                raise
            typer.echo(line, err=True)
            raise typer.Exit(1) from None

    wrapper.handles_errors = True  # type: ignore[attr-defined]  # checked by tests/cli
    return wrapper  # type: ignore[return-value]


# What the driver's words mean for the person at the command line.
_DATABASE_HINTS = (
    ("database is locked", "another process holds its write lock; try again when it is done"),
    ("unable to open database file", "check that its folder exists and can be written"),
    ("connection refused", "is the database server running, at that host and port?"),
    ("password authentication failed", "check the user and password in the URL"),
    ("does not exist", "create it first, or check its name in the URL"),
)


def expected_failure(exc: BaseException) -> str | None:
    """The one line a command prints for a failure it was not written to prevent, or None
    for anything else (a bug: its traceback is what a report needs)."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from truthset.config import SettingsError

    if isinstance(exc, DBAPIError):
        words = str(exc.orig).strip().splitlines()
        said = words[0].strip() if words else type(exc.orig).__name__
        hint = next((h for key, h in _DATABASE_HINTS if key in said.lower()), None)
        return f"error (database): {said}" + (f" ({hint})" if hint else "")
    if isinstance(exc, ArgumentError):  # the URL: unparseable, or an unknown dialect
        return f"error (database): bad database URL: {str(exc).strip().splitlines()[0]}"
    if isinstance(exc, SettingsError):
        return f"error (settings): {exc}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"error: {exc.strerror or exc}{where}"
    return None


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
