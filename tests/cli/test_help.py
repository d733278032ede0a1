"""Every command's --help renders: typer renders help text as rich markup, so a bracket
in a help string (`s3://bucket[/prefix]`) is a closing tag and crashes the help page."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from truthset.cli.main import app

runner = CliRunner()


def command_paths(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The path of every command and group under `command`, itself included (typer's groups
    hold their subcommands in `commands`; typer vendors its own click, so no isinstance)."""
    paths = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        paths.extend(command_paths(sub, (*path, name)))
    return paths


ALL_PATHS = command_paths(typer.main.get_command(app))


def test_the_walk_reaches_nested_commands():
    # Guards the walk itself: a walk that stopped at the top would pass vacuously.
    assert ("dataset", "import") in ALL_PATHS
    assert len([p for p in ALL_PATHS if len(p) == 2]) >= 10


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: " ".join(p) or "truthset")
def test_help_renders(path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, f"{' '.join(path)} --help: {result.exception!r}\n{result.output}"
    assert "Usage" in result.output
