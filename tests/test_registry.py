"""The one registry shape: built-ins as entry points, plugins through installed packages."""

from __future__ import annotations

import sys
import textwrap

import pytest

from truthset.errors import BadInput
from truthset.registry import REGISTRIES, Registry


@pytest.fixture(autouse=True)
def _forget_test_registries():
    """The registries made here must not stay among the platform's (tests/test_docs.py)."""
    before = dict(REGISTRIES)
    yield
    REGISTRIES.clear()
    REGISTRIES.update(before)


def _install_plugin(tmp_path, monkeypatch, group: str, entries: dict[str, str], code: str):
    """A real distribution on sys.path: importlib.metadata finds its entry points."""
    package = tmp_path / "fake_plugin_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(code))
    info = tmp_path / "fake_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugin\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {value}" for name, value in entries.items())
    (info / "entry_points.txt").write_text(f"[{group}]\n{lines}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fake_plugin_pkg", raising=False)


def _registry(group: str, **kwargs) -> Registry[int]:
    def check(name: str, obj: object) -> int:
        if not isinstance(obj, int):
            raise TypeError(f"{name} is not an int")
        return obj

    return Registry("number", group, {"one": "truthset.errors:BadInput"}, check=check, **kwargs)


def test_builtins_plugins_and_run_time_entries(tmp_path, monkeypatch):
    group = "truthset.test_numbers_a"
    _install_plugin(
        tmp_path,
        monkeypatch,
        group,
        {"two": "fake_plugin_pkg:TWO", "one": "fake_plugin_pkg:ONE"},
        "TWO = 2\nONE = 11\n",
    )
    numbers = Registry("number", group, {"one": "fake_plugin_pkg:ONE_BUILTIN"})
    # The built-in keeps its name: a plugin cannot silently replace it.
    assert numbers.entry_points()["one"].value == "fake_plugin_pkg:ONE_BUILTIN"
    assert numbers.names() == ["one", "two"]
    assert numbers.get("two") == 2
    numbers.register("three", 3)
    assert "three" in numbers and "four" not in numbers
    with pytest.raises(BadInput, match=r"unknown number 'four'; known: one, two, three"):
        numbers.get("four")
    assert REGISTRIES[group] is numbers


def test_a_plugin_of_the_wrong_shape_is_refused(tmp_path, monkeypatch):
    group = "truthset.test_numbers_b"
    _install_plugin(tmp_path, monkeypatch, group, {"bad": "fake_plugin_pkg:BAD"}, "BAD = 'x'\n")
    numbers = _registry(group)
    with pytest.raises(TypeError, match="bad is not an int"):
        numbers.get("bad")


def test_a_module_entry_registers_itself(tmp_path, monkeypatch):
    group = "truthset.test_numbers_c"
    code = f"""
        from truthset.registry import REGISTRIES
        REGISTRIES[{group!r}].register("seven", 7)
    """
    _install_plugin(tmp_path, monkeypatch, group, {"seven": "fake_plugin_pkg"}, code)
    numbers = Registry("number", group)
    assert numbers.find("seven") == 7
    # A module that does not register the name it is listed under is a broken plugin.
    _install_plugin(tmp_path / "x", monkeypatch, "truthset.test_numbers_d", {"eight": "os"}, "")
    broken = Registry("number", "truthset.test_numbers_d")
    with pytest.raises(TypeError, match="did not register 'eight'"):
        broken.get("eight")


def test_an_entry_of_another_type_is_refused(tmp_path, monkeypatch):
    group = "truthset.test_numbers_e"
    _install_plugin(tmp_path, monkeypatch, group, {"text": "fake_plugin_pkg:TEXT"}, "TEXT = 'x'\n")
    numbers: Registry[int] = Registry("number", group, instance_of=int)
    with pytest.raises(TypeError, match="number entry point 'text' is not a int"):
        numbers.get("text")
