"""Access keys: ids and secrets shaped as AWS's, secrets derived from the master key and
never stored, expiry and revocation, the master key file, the CLI, the table's migration."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from truthset.cli.main import app
from truthset.errors import BadInput, NotFound
from truthset.sagemaker import keys
from truthset.store import migrate
from truthset.store.models import AccessKey
from truthset.workforce.service import create_user


def test_a_key_is_aws_shaped_and_only_a_hash_of_its_secret_is_stored(ws):
    master = keys.master_key(ws.settings.data_dir)
    with ws.db.session_scope() as s:
        user = create_user(s, "ada", role="requester")
        issued = keys.issue_access_key(s, user, master, name="laptop", now=1000.0)
    assert len(issued.key_id) == 20 and issued.key_id.startswith("AKIA")
    assert issued.key_id[4:].isalnum() and issued.key_id.isupper()
    assert len(issued.secret) == 40
    with ws.db.session_scope(write=False) as s:
        row = s.scalar(select(AccessKey))
        assert row.key_id == issued.key_id and row.name == "laptop"
        assert row.secret_hash == keys.secret_hash(issued.secret) != issued.secret
        found = keys.key_secret(s, master, issued.key_id)
        assert found is not None and found[0] == issued.secret and found[1].name == "ada"
        # Under another master key the key is unknown (rotating the master key revokes all).
        assert keys.key_secret(s, b"\x01" * 32, issued.key_id) is None
        assert keys.key_secret(s, master, "AKIA" + "A" * 16) is None


def test_expired_and_revoked_keys_stop_working(ws):
    master = keys.master_key(ws.settings.data_dir)
    with ws.db.session_scope() as s:
        user = create_user(s, "ada", role="requester")
        short = keys.issue_access_key(s, user, master, expires_in=60, now=1000.0)
        kept = keys.issue_access_key(s, user, master)
        with pytest.raises(BadInput):
            keys.issue_access_key(s, user, master, expires_in=0)
    with ws.db.session_scope() as s:
        assert keys.key_secret(s, master, short.key_id, now=1059.0) is not None
        assert keys.key_secret(s, master, short.key_id, now=1061.0) is None
        keys.revoke_access_key(s, kept.key_id)
        with pytest.raises(NotFound):
            keys.revoke_access_key(s, kept.key_id)
    with ws.db.session_scope(write=False) as s:
        assert keys.key_secret(s, master, kept.key_id) is None


def test_the_master_key_file_is_private_and_stable(tmp_path, monkeypatch):
    monkeypatch.delenv(keys.MASTER_KEY_ENV, raising=False)
    keys.forget_master_keys()
    first = keys.master_key(tmp_path)
    path = tmp_path / keys.MASTER_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) == 32
    keys.forget_master_keys()
    assert keys.master_key(tmp_path) == first
    monkeypatch.setenv(keys.MASTER_KEY_ENV, "ab" * 32)
    assert keys.master_key(tmp_path) == bytes.fromhex("ab" * 32)
    monkeypatch.setenv(keys.MASTER_KEY_ENV, "not hex")
    with pytest.raises(BadInput, match="64 hexadecimal digits"):
        keys.master_key(tmp_path)


def test_user_token_aws_prints_a_key_once(tmp_path):
    runner = CliRunner()
    data = str(tmp_path / "data")
    assert runner.invoke(app, ["user", "add", "ada", "--role", "requester", "--data-dir", data])
    r = runner.invoke(app, ["user", "token", "ada", "--aws", "--data-dir", data])
    assert r.exit_code == 0, r.output
    lines = dict(line.split(" = ") for line in r.stdout.strip().splitlines())
    key_id, secret = lines["aws_access_key_id"], lines["aws_secret_access_key"]
    assert key_id.startswith("AKIA") and len(secret) == 40
    assert secret == keys.derive_secret(keys.master_key(tmp_path / "data"), key_id)
    r = runner.invoke(app, ["user", "token", "ada", "--data-dir", data])
    assert r.stdout.startswith("ts_")


def test_the_access_keys_migration_matches_the_model(ws):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from truthset.store.models import Base

    with ws.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "access_keys" in repr(d)] == []
    cfg = migrate.alembic_config()
    with ws.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    with ws.db.engine.connect() as conn:
        assert not inspect(conn).has_table("access_keys")
    migrate.upgrade(ws.db)
    with ws.db.engine.connect() as conn:
        assert inspect(conn).has_table("access_keys")
