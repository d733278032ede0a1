"""`truthset oidc`, `truthset source-ip` and `truthset audit`: sign-in providers, where
workers may work from, and the audit log, for whoever runs the server.

Changes made here are in the audit log too, by "cli:<operating-system user>".
"""

from __future__ import annotations

import getpass
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from truthset.audit import service as audit
from truthset.cli.common import (
    DatabaseUrl,
    DataDir,
    echo_json,
    handle_errors,
    read_json_file,
    workspace,
)
from truthset.errors import BadInput
from truthset.master_key import master_key
from truthset.workforce import ip_allow, oidc_config

oidc = typer.Typer(help="OpenID Connect providers people sign in through.", no_args_is_help=True)
source_ip = typer.Typer(
    help="Source-IP allow-lists of the workforce and of teams, and trusted proxies.",
    no_args_is_help=True,
)
audit_log = typer.Typer(
    help="The audit log of admins' and requesters' actions.", no_args_is_help=True
)


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name for this uid (a container): still say it was the CLI
        return "cli"


def _record(session: Any, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
    audit.record(
        session, actor=None, actor_name=_operator(), action=action, target=target, detail=detail
    )


def parse_group_mapping(value: str) -> tuple[str, dict[str, Any]]:
    """'GROUP=TEAM,TEAM[:ROLE]' (the last '=' ends the group, which may hold '=' and ','
    itself, as LDAP names do)."""
    group, sep, rest = value.rpartition("=")
    if not sep or not group:
        raise BadInput(f"--map {value!r} must be GROUP=TEAM,TEAM or GROUP=TEAM,TEAM:ROLE")
    teams, _, role = rest.partition(":")
    return group, {"teams": [t for t in teams.split(",") if t], "role": role or None}


@oidc.command("set")
@handle_errors
def oidc_set(
    name: str,
    issuer: Annotated[str, typer.Option(help="the provider's issuer URL, exactly")],
    client_id: Annotated[str, typer.Option(help="this server's client id at the provider")],
    client_secret: Annotated[
        str | None,
        typer.Option(
            envvar="TRUTHSET_OIDC_CLIENT_SECRET",
            help="the client secret (better from TRUTHSET_OIDC_CLIENT_SECRET); "
            "leave out to keep the stored one",
        ),
    ] = None,
    display_name: Annotated[str | None, typer.Option(help="the sign-in button's name")] = None,
    discovery_url: Annotated[
        str | None, typer.Option(help="default: ISSUER/.well-known/openid-configuration")
    ] = None,
    scopes: str = "openid profile email",
    groups_claim: str = "groups",
    map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="GROUP=TEAM,TEAM or GROUP=TEAM,TEAM:ROLE (repeat for each group)",
        ),
    ] = None,
    map_file: Annotated[
        Path | None, typer.Option(help="a JSON object: group -> {teams: [...], role: ...}")
    ] = None,
    default_role: str = "worker",
    require_group: Annotated[
        bool, typer.Option(help="refuse people in none of the mapped groups")
    ] = False,
    redirect_base: Annotated[
        str | None,
        typer.Option(help="this server's public URL, when behind a proxy (https://...)"),
    ] = None,
    enabled: Annotated[bool, typer.Option(help="offer it on the sign-in page")] = True,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add or replace a provider. Register this server at the provider with the redirect
    URI <public URL>/api/auth/oidc/NAME/callback."""
    group_map: dict[str, Any] = {}
    if map_file is not None:
        group_map.update(read_json_file(map_file, "group map"))
    for value in map or []:
        group, entry = parse_group_mapping(value)
        group_map[group] = entry
    settings = oidc_config.ProviderSettings(
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        display_name=display_name,
        discovery_url=discovery_url,
        scopes=scopes,
        groups_claim=groups_claim,
        group_map=group_map,
        default_role=default_role,
        require_group=require_group,
        redirect_base=redirect_base,
        enabled=enabled,
    )
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        provider, created = oidc_config.put_provider(
            session, name, settings, master_key=master_key(ws.settings.data_dir)
        )
        described = oidc_config.describe(provider)
        _record(
            session,
            "oidc.provider.create" if created else "oidc.provider.update",
            name,
            {**described, "client_secret": "set" if client_secret else "kept"},
        )
    typer.echo(f"{'added' if created else 'updated'} OIDC provider {name}", err=True)
    echo_json(described)


@oidc.command("list")
@handle_errors
def oidc_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Every provider's settings (never the secret)."""
    from truthset.workforce.service import oidc_providers

    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        echo_json([oidc_config.describe(p) for p in oidc_providers(session)])


@oidc.command("remove")
@handle_errors
def oidc_remove(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Remove a provider (its accounts stay, with their local passwords if any)."""
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        oidc_config.delete_provider(session, name)
        _record(session, "oidc.provider.delete", name)
    typer.echo(f"removed OIDC provider {name}")


@source_ip.command("show")
@handle_errors
def source_ip_show(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        echo_json(ip_allow.describe(session))


@source_ip.command("set")
@handle_errors
def source_ip_set(
    cidrs: Annotated[list[str] | None, typer.Argument(help="CIDRs; none lifts the list")] = None,
    team: Annotated[str | None, typer.Option(help="the team's list, not the workforce's")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Where workers (or a team's members) may work from."""
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        if team is None:
            checked = ip_allow.set_workforce_cidrs(session, cidrs or [])
        else:
            checked = ip_allow.set_team_cidrs(session, team, cidrs or [])
        target = "workforce" if team is None else f"team:{team}"
        _record(session, "source_ip.set", target, {"cidrs": checked})
    typer.echo(f"{target}: {', '.join(checked) or 'anywhere'}")


@source_ip.command("trusted-proxies")
@handle_errors
def source_ip_trusted_proxies(
    cidrs: Annotated[list[str] | None, typer.Argument(help="CIDRs; none trusts no proxy")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The proxies whose X-Forwarded-For names the client."""
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        checked = ip_allow.set_trusted_proxies(session, cidrs or [])
        _record(session, "trusted_proxies.set", "workforce", {"cidrs": checked})
    typer.echo(f"trusted proxies: {', '.join(checked) or 'none'}")


def _seconds(option: str, value: str | None) -> float | None:
    """UNIX seconds, or an ISO 8601 time ('2026-12-01', '2026-12-01T10:00:00Z'; UTC when
    it names no zone)."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{option} {value!r} is neither UNIX seconds nor an ISO 8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # a time without a zone is UTC, as the log's
    return parsed.timestamp()


@audit_log.command("prune")
@handle_errors
def audit_prune(
    before: Annotated[str, typer.Option(help="UNIX seconds or ISO 8601: older events go")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete old events (nothing is deleted otherwise); the pruning is itself recorded."""
    cutoff = _seconds("--before", before)
    assert cutoff is not None
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        deleted = audit.prune(session, before=cutoff)
        _record(session, "audit.prune", "audit", {"before": cutoff, "deleted": deleted})
    typer.echo(f"deleted {deleted} audit event(s) older than {before}")


@audit_log.command("list")
@handle_errors
def audit_list(
    actor: Annotated[str | None, typer.Option(help="the account that acted")] = None,
    action: Annotated[str | None, typer.Option(help="an action or its beginning: 'user.'")] = None,
    target: str | None = None,
    outcome: Annotated[str | None, typer.Option(help="ok, refused or failed")] = None,
    since: Annotated[str | None, typer.Option(help="UNIX seconds or ISO 8601, inclusive")] = None,
    until: Annotated[str | None, typer.Option(help="UNIX seconds or ISO 8601, exclusive")] = None,
    offset: int = 0,
    limit: int = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of lines")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Events newest first."""
    if offset < 0 or not 1 <= limit <= 10000:
        raise BadInput("--offset must be >= 0 and --limit 1-10000")
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        events = [
            audit.describe(e)
            for e in audit.list_events(
                session,
                actor=actor,
                action=action,
                target=target,
                outcome=outcome,
                since=_seconds("--since", since),
                until=_seconds("--until", until),
                offset=offset,
                limit=limit,
            )
        ]
    if as_json:
        echo_json(events)
        return
    for e in events:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e["at"]))
        status = f" {e['status']}" if e["status"] is not None else ""
        typer.echo(
            f"{when}  {e['actor'] or '-'}  {e['action']}  {e['target'] or '-'}  "
            f"{e['outcome']}{status}  {e['address'] or '-'}"
        )
