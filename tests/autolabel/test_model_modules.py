"""A job's `auto_label.model` names code: a registered model, or `python:module:Class` from
a module inside the operator's allow-list of prefixes (TRUTHSET_MODEL_MODULES, none by
default). A module outside it is refused with a 400 BEFORE it is imported: the attack's
`python:this:Nope` ran the module's top-level code in the server first."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import make_workspace
from support import Setup
from truthset.errors import BadInput
from truthset.jobs.service import get_job, update_job
from truthset.learning.models import create_model
from truthset.learning.models.base import ModelError
from truthset.learning.models.byo import module_allowed

TOP_LEVEL = """
import pathlib
pathlib.Path({marker!r}).write_text("imported")

class Model:
    def __init__(self, **params):
        self.params = params
    def fit(self, X, y):
        return self
    def predict_proba(self, X):
        return [[0.5, 0.5] for _ in X]
"""


@pytest.fixture
def tripwire(tmp_path, monkeypatch):
    """A module on sys.path whose import leaves a marker file."""
    name = f"tripwire_{tmp_path.name.replace('-', '_')}"
    marker = tmp_path / "imported.txt"
    folder = tmp_path / "site"
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text("")
    (folder / name / "models.py").write_text(TOP_LEVEL.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(folder))
    yield name, marker
    for module in [m for m in sys.modules if m.split(".")[0] == name]:
        del sys.modules[module]


def _workspace(tmp_path: Path, monkeypatch, modules: str | None):
    if modules is None:
        monkeypatch.delenv("TRUTHSET_MODEL_MODULES", raising=False)
    else:
        monkeypatch.setenv("TRUTHSET_MODEL_MODULES", modules)
    return make_workspace(tmp_path)


@pytest.mark.parametrize("modules", [None, "acme", "tripwire", "os,json"])
def test_a_module_outside_the_allow_list_is_never_imported(
    tmp_path, monkeypatch, tripwire, modules
):
    name, marker = tripwire
    ws = _workspace(tmp_path, monkeypatch, modules)
    try:
        setup = Setup(ws, n_items=3, n_workers=1)
        spec = f"python:{name}.models:Model"
        with pytest.raises(BadInput) as info:
            setup.job("j", settings={"auto_label": {"model": spec}})
        assert f"module '{name}.models' is not one the server allows models from" in str(
            info.value.detail
        )
        assert not marker.exists() and f"{name}.models" not in sys.modules
        # A change to the settings is checked the same way.
        setup.job("k", settings={"auto_label": {"model": "linear"}})
        with pytest.raises(BadInput, match="not one the server allows"), ws.db.session_scope() as s:
            update_job(s, get_job(s, "k"), {"settings": {"auto_label": {"model": spec}}})
        assert not marker.exists()
    finally:
        ws.close()


def test_a_module_inside_the_allow_list_is_taken(tmp_path, monkeypatch, tripwire):
    name, marker = tripwire
    ws = _workspace(tmp_path, monkeypatch, f"elsewhere, {name}.models")
    try:
        setup = Setup(ws, n_items=3, n_workers=1)
        setup.job(
            "j",
            settings={
                "auto_label": {"model": f"python:{name}.models:Model", "model_params": {"a": 1}}
            },
        )
        assert marker.read_text() == "imported"
    finally:
        ws.close()


def test_registered_models_need_no_allow_list(tmp_path, monkeypatch):
    ws = _workspace(tmp_path, monkeypatch, None)
    try:
        Setup(ws, n_items=3, n_workers=1).job("j", settings={"auto_label": {"model": "linear"}})
    finally:
        ws.close()


@pytest.mark.parametrize(
    "spec",
    ["python:os:system", "python:.relative:X", "python:a..b:X", "python:a b:X", "python:a:"],
)
def test_bad_or_unlisted_specs_are_refused_by_the_library(spec):
    with pytest.raises(ModelError, match="not one the server allows|must look like"):
        create_model(spec, allowed_modules=("acme",))


def test_prefixes_match_whole_module_names():
    allowed = ("acme.models", " tools. ")
    assert module_allowed("acme.models", allowed)
    assert module_allowed("acme.models.text", allowed)
    assert module_allowed("tools.x", allowed)
    assert not module_allowed("acme.modelsx", allowed)
    assert not module_allowed("acme", allowed)
    assert not module_allowed("anything", ())
