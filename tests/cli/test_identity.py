"""`truthset oidc`, `truthset source-ip` and `truthset audit` as an operator types them."""

from __future__ import annotations

import json
import time

from typer.testing import CliRunner

from truthset.cli.identity import parse_group_mapping
from truthset.cli.main import app

runner = CliRunner()


def cli(*args: str, data_dir, env: dict[str, str] | None = None) -> object:
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env)


def test_oidc_set_list_and_remove(tmp_path):
    data = tmp_path / "data"
    r = cli(
        "oidc",
        "set",
        "corp",
        "--issuer",
        "https://idp.example",
        "--client-id",
        "truthset",
        "--map",
        "labelers=eu,eu-night",
        "--map",
        "cn=leads,ou=groups=eu:reviewer",
        "--require-group",
        data_dir=data,
        env={"TRUTHSET_OIDC_CLIENT_SECRET": "from-the-environment"},
    )
    assert r.exit_code == 0, r.output
    shown = json.loads(r.stdout)
    assert shown["group_map"] == {
        "labelers": {"teams": ["eu", "eu-night"], "role": None},
        "cn=leads,ou=groups": {"teams": ["eu"], "role": "reviewer"},
    }
    assert shown["has_client_secret"] is True and shown["require_group"] is True
    r = cli("oidc", "list", data_dir=data)
    assert r.exit_code == 0 and "from-the-environment" not in r.stdout
    assert [p["name"] for p in json.loads(r.stdout)] == ["corp"]
    r = cli("oidc", "remove", "corp", data_dir=data)
    assert r.exit_code == 0 and "removed OIDC provider corp" in r.output
    assert json.loads(cli("oidc", "list", data_dir=data).stdout) == []


def test_oidc_set_refuses_what_is_wrong_by_name(tmp_path):
    r = cli(
        "oidc",
        "set",
        "corp",
        "--issuer",
        "https://idp.example",
        "--client-id",
        "x",
        data_dir=tmp_path / "data",
        env={"TRUTHSET_OIDC_CLIENT_SECRET": ""},
    )
    assert r.exit_code == 2
    assert "error (bad_input): client_secret is required for a new provider" in r.output
    r = cli(
        "oidc",
        "set",
        "corp",
        "--issuer",
        "https://idp.example",
        "--client-id",
        "x",
        "--client-secret",
        "s",
        "--map",
        "nogroup",
        data_dir=tmp_path / "data",
    )
    assert r.exit_code == 2 and "--map 'nogroup' must be GROUP=TEAM,TEAM" in r.output


def test_parse_group_mapping():
    assert parse_group_mapping("g=a,b") == ("g", {"teams": ["a", "b"], "role": None})
    assert parse_group_mapping("g=:admin") == ("g", {"teams": [], "role": "admin"})


def test_source_ip_lists_and_the_audit_log(tmp_path):
    data = tmp_path / "data"
    r = cli("source-ip", "set", "10.9.0.0/16", "192.0.2.1", data_dir=data)
    assert r.exit_code == 0 and "workforce: 10.9.0.0/16, 192.0.2.1/32" in r.output
    assert cli("team", "add", "crew", data_dir=data).exit_code == 0
    r = cli("user", "add", "ann", "--team", "crew", data_dir=data)
    assert r.exit_code == 0, r.output
    r = cli("source-ip", "set", "198.51.100.0/24", "--team", "crew", data_dir=data)
    assert r.exit_code == 0 and "team:crew: 198.51.100.0/24" in r.output
    r = cli("source-ip", "trusted-proxies", "10.0.0.1", data_dir=data)
    assert r.exit_code == 0 and "trusted proxies: 10.0.0.1/32" in r.output
    shown = json.loads(cli("source-ip", "show", data_dir=data).stdout)
    assert shown == {
        "cidrs": ["10.9.0.0/16", "192.0.2.1/32"],
        "trusted_proxies": ["10.0.0.1/32"],
        "teams": {"crew": ["198.51.100.0/24"]},
    }
    r = cli("source-ip", "set", "10.0.0.0/99", data_dir=data)
    assert r.exit_code == 2 and "cidrs[0] '10.0.0.0/99' is not a CIDR" in r.output
    r = cli("source-ip", "set", data_dir=data)
    assert r.exit_code == 0 and "workforce: anywhere" in r.output

    events = json.loads(cli("audit", "list", "--json", data_dir=data).stdout)
    assert [(e["action"], e["target"]) for e in events] == [
        ("source_ip.set", "workforce"),
        ("trusted_proxies.set", "workforce"),
        ("source_ip.set", "team:crew"),
        ("source_ip.set", "workforce"),
    ]
    assert all(e["actor"].startswith("cli") for e in events)
    r = cli("audit", "list", "--target", "team:crew", data_dir=data)
    assert r.exit_code == 0
    [line] = r.stdout.strip().splitlines()
    assert "  source_ip.set  team:crew  ok  -" in line
    r = cli("audit", "list", "--since", "2999-01-01", data_dir=data)
    assert r.exit_code == 0 and r.stdout == ""
    r = cli("audit", "prune", "--before", "2999-01-01", data_dir=data)
    assert r.exit_code == 2 and "before must not be in the future" in r.output
    r = cli("audit", "prune", "--before", str(time.time()), data_dir=data)
    assert r.exit_code == 0 and "deleted 4 audit event(s)" in r.output
    [pruned] = json.loads(cli("audit", "list", "--json", data_dir=data).stdout)
    assert pruned["action"] == "audit.prune" and pruned["detail"]["deleted"] == 4
    r = cli("audit", "list", "--since", "yesterday", data_dir=data)
    assert r.exit_code == 2
    assert "--since 'yesterday' is neither UNIX seconds nor an ISO 8601 time" in r.output
