"""Every registered name is documented (as Datasette's test_docs.py does for its hooks)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from truthset.registry import REGISTRIES

DOC = Path(__file__).resolve().parents[1] / "docs" / "registries.md"
# The modules that define the registries (importing one makes its registry known).
REGISTRY_MODULES = (
    "truthset.tasktypes.registry",
    "truthset.learning.models",
    "truthset.runs.registry",
    "truthset.runs.periodic",
    "truthset.jobs.settings",
    "truthset.quality.methods",
    "truthset.exports.formats",
)
for _module in REGISTRY_MODULES:
    importlib.import_module(_module)


def _sections() -> dict[str, str]:
    """Entry-point group -> the text of its section."""
    text = DOC.read_text()
    found = {}
    for match in re.finditer(r"^## `([\w.]+)`.*?(?=^## |\Z)", text, re.M | re.S):
        found[match.group(1)] = match.group(0)
    return found


SECTIONS = _sections()


def test_every_registry_has_a_section():
    assert set(SECTIONS) == set(REGISTRIES)


@pytest.mark.parametrize("group", sorted(REGISTRIES))
def test_every_registered_name_is_documented(group):
    registry = REGISTRIES[group]
    # Entry points only: a test may register an entry of its own at run time.
    names = set(registry.entry_points())
    loaded = registry.load_all()  # a built-in that fails to load fails here
    assert names <= set(loaded)
    section = SECTIONS.get(group, "")
    missing = sorted(name for name in names if f"`{name}`" not in section)
    assert not missing, f"{group}: not in docs/registries.md: {missing}"
