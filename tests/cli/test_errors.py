"""The command line's expected failures — the database cannot be opened, refuses the
connection, does not exist or is locked; a bad database URL; a bad setting — print one
line naming the problem and exit 1, with no traceback (they printed Python's)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from truthset.cli.common import handle_errors
from truthset.cli.main import app

TRUTHSET = str(Path(sys.executable).parent / "truthset")


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TRUTHSET_")}
    environ.update(env or {})
    out = subprocess.run(
        [TRUTHSET, *args, "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    return out.returncode, out.stderr


def _one_line(status: int, stderr: str, *expected: str) -> None:
    assert status == 1, stderr
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    for part in expected:
        assert part in lines[0], lines[0]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", ("error (database): bad database URL", "Could not parse")),
        ("nosuchdialect://x/y", ("error (database): bad database URL", "nosuchdialect")),
        (
            # A folder that cannot be made: its parent is a file (the test writes it).
            "sqlite:///{tmp}/a-file/x.db",
            ("error: File exists: ", "/a-file"),
        ),
        (
            "postgresql+psycopg://u:p@127.0.0.1:1/db",
            ("error (database):", "Connection refused", "is the database server running"),
        ),
    ],
)
def test_a_database_that_cannot_be_used_is_one_line(tmp_path, url, expected):
    (tmp_path / "a-file").write_text("not a folder")
    url = url.format(tmp=tmp_path)
    _one_line(*_run(tmp_path, "migrate", "--database-url", url), *expected)


def test_a_missing_postgresql_database_is_one_line(tmp_path, pg_url):
    url = make_url(pg_url).set(database="truthset_no_such_database")
    status, stderr = _run(
        tmp_path, "job", "list", "--database-url", url.render_as_string(hide_password=False)
    )
    _one_line(status, stderr, 'database "truthset_no_such_database" does not exist')


def test_a_bad_setting_is_one_line(tmp_path):
    status, stderr = _run(tmp_path, "job", "list", env={"TRUTHSET_MAX_LEASES_PER_WORKER": "zero"})
    _one_line(status, stderr, "error (settings): TRUTHSET_MAX_LEASES_PER_WORKER must be")


def test_a_locked_database_is_one_line(tmp_path, capsys):
    """SQLite's own 'database is locked' (raised at once here: no busy wait), through the
    handler every command has."""
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})

    @handle_errors
    def command() -> None:
        with engine.begin() as c:
            c.execute(text("INSERT INTO t VALUES (1)"))

    try:
        with pytest.raises(typer.Exit) as info:
            command()
    finally:
        holder.close()
        engine.dispose()
    assert info.value.exit_code == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "error (database): database is locked "
        "(another process holds its write lock; try again when it is done)"
    )


def test_a_bug_keeps_its_traceback():
    @handle_errors
    def command() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        command()


def _commands(group: typer.Typer, prefix: str = "") -> dict[str, object]:
    found = {
        f"{prefix}{c.name or c.callback.__name__}": c.callback for c in group.registered_commands
    }
    for sub in group.registered_groups:
        found.update(_commands(sub.typer_instance, f"{prefix}{sub.name} "))
    return found


def test_every_command_handles_errors():
    commands = _commands(app)
    assert len(commands) > 30
    bare = sorted(name for name, fn in commands.items() if not getattr(fn, "handles_errors", False))
    assert bare == []
