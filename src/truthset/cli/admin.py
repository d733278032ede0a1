from __future__ import annotations

import time
from typing import Annotated

import typer

from truthset.api import tokens
from truthset.cli.common import DatabaseUrl, DataDir, echo_json, handle_errors, workspace
from truthset.runs import service as runs_service
from truthset.workforce import service

users = typer.Typer(help="Accounts and API tokens.", no_args_is_help=True)
teams = typer.Typer(help="Teams of workers.", no_args_is_help=True)
runs = typer.Typer(help="Background runs.", no_args_is_help=True)


@users.command("add")
@handle_errors
def user_add(
    name: str,
    role: Annotated[str, typer.Option(help="admin, requester, reviewer or worker")] = "worker",
    team: Annotated[list[str] | None, typer.Option(help="team (created if missing)")] = None,
    password: Annotated[
        str | None, typer.Option(help="password for the browser; omit for token-only accounts")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        user = service.create_user(session, name, role=role, password=password, teams=team or [])
        typer.echo(f"created {user.role} {user.name} (teams: {', '.join(team or []) or 'none'})")


@users.command("token")
@handle_errors
def user_token(
    name: str,
    label: Annotated[str | None, typer.Option("--name")] = None,
    aws: Annotated[
        bool,
        typer.Option(
            "--aws",
            help="an access key id and secret for the SageMaker API (boto3), instead",
        ),
    ] = False,
    expires_days: Annotated[
        float | None, typer.Option(help="the token (or --aws key) stops working after this")
    ] = None,
    revoke: Annotated[
        str | None,
        typer.Option(
            "--revoke",
            metavar="TOKEN_NAME_OR_PREFIX",
            help="revoke the user's API token of this name, or starting with these characters",
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Issue an API token (printed once; only its hash is stored), or with --aws an access
    key for the SageMaker API (the secret is printed once and never stored); with --revoke,
    end one API token instead (every app process stops accepting it within a second)."""
    ws = workspace(data_dir, database_url)
    expires_in = None if expires_days is None else expires_days * 86400
    with ws.db.session_scope() as session:
        user = service.get_user(session, name)
        if revoke is not None:
            typer.echo(f"revoked {tokens.revoke_api_token(session, user, revoke)}")
            return
        if not aws:
            typer.echo(tokens.issue_token(session, user, name=label, expires_in=expires_in))
            return
        from truthset.sagemaker.keys import issue_access_key, master_key

        key = issue_access_key(
            session,
            user,
            master_key(ws.settings.data_dir),
            name=label,
            expires_in=expires_in,
        )
    typer.echo(f"aws_access_key_id = {key.key_id}")
    typer.echo(f"aws_secret_access_key = {key.secret}")


@users.command("password")
@handle_errors
def user_password(
    name: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        service.set_password(session, service.get_user(session, name), password)
    typer.echo(f"password of {name} changed")


@users.command("list")
@handle_errors
def user_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        for u in service.list_users(session):
            teams_ = ", ".join(service.team_names_of(session, u.id))
            typer.echo(f"{u.name:24} {u.role:10} {'active' if u.active else 'disabled':9} {teams_}")


@teams.command("add")
@handle_errors
def team_add(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        service.create_team(session, name)
    typer.echo(f"created team {name}")


@teams.command("member")
@handle_errors
def team_member(
    team: str, user: str, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        service.add_member(session, team, service.get_user(session, user))
    typer.echo(f"{user} is in {team}")


def _bar(done: int, total: int | None, width: int = 30) -> str:
    if not total:
        return f"[{'?' * width}] {done:,}"
    frac = min(done / total, 1.0)
    fill = int(frac * width)
    return f"[{'#' * fill}{'.' * (width - fill)}] {done:,}/{total:,} {frac:6.1%}"


@runs.command("list")
@handle_errors
def run_list(limit: int = 20, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        for r in runs_service.list_runs(session, limit=limit):
            ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.created_at))
            typer.echo(
                f"{r.id:6} {r.kind:12} {r.state:10} {ts} "
                f"{_bar(r.progress_done, r.progress_total)} {r.error or ''}"
            )


@runs.command("show")
@handle_errors
def run_show(run_id: int, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        run = runs_service.get_run(session, run_id)
        typer.echo(_bar(run.progress_done, run.progress_total))
        echo_json(runs_service.run_as_dict(run))
