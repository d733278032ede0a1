"""The layer rule of docs/architecture.md: dependencies point down only.

Walks every import of `src/truthset` (module level and function level alike, with stdlib
`ast`) and fails on an import from a lower layer to a higher one, on an import circle
between modules, and on a circle between domains (top-level packages, each part of one on
its own layer). A lower layer that
must reach a higher one offers a registry (`truthset.registry`) and the higher one
registers into it by name: such names are strings, which this walk does not follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "truthset"

# Longest prefix wins. Keep in step with docs/architecture.md "Layers".
LAYERS: dict[str, int] = {
    "truthset": 0,
    "truthset.errors": 0,
    "truthset.config": 0,
    "truthset.registry": 0,
    "truthset.master_key": 0,
    # 1: storage and pure libraries (numpy / scipy / scikit-learn, nothing of the platform)
    "truthset.store": 1,
    "truthset.consensus": 1,
    "truthset.geometry": 1,
    "truthset.learning": 1,
    "truthset.media.storage": 1,
    "truthset.media.info": 1,
    "truthset.media.audio_source": 1,
    "truthset.media.audio_windows": 1,
    "truthset.media.sequences": 1,
    "truthset.media.point_clouds": 1,
    "truthset.media.point_cloud_frames": 1,
    "truthset.workspace": 1,
    "truthset.sdk": 1,
    # 2: request plumbing, task types, background runs
    "truthset.api": 2,
    "truthset.tasktypes": 2,
    "truthset.runs": 2,
    # 3: jobs and the one label writer
    "truthset.jobs": 3,
    "truthset.labels": 3,
    "truthset.audit": 3,
    # 4: domain services
    "truthset.work": 4,
    "truthset.quality": 4,
    "truthset.datasets": 4,
    "truthset.exports": 4,
    "truthset.workforce": 4,
    "truthset.media": 4,
    "truthset.web": 4,
    "truthset.templates": 4,
    # 5: orchestration over several domains
    "truthset.autolabel": 5,
    "truthset.simulate": 5,
    "truthset.demo": 5,
    "truthset.sagemaker": 5,
    "truthset.gtimport": 5,
    "truthset.hooks": 5,
    # 6: the composition root, then the command line
    "truthset.server": 6,
    "truthset.cli": 6,
}
# The pure libraries import nothing of the platform but the ground floor and each other
# (consensus matches video tracks expanded by geometry).
PURE = ("truthset.consensus", "truthset.geometry", "truthset.learning")


def layer_of(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{module} has no layer: add it to LAYERS and docs/architecture.md")


def domain_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor) + (f".{base}" if base else "")
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            if name.split(".")[0] == "truthset":
                target = _resolve(name)
                if target is not None and target != module:
                    out.add(target)
    return out


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_import_points_up():
    upward = [
        f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if domain_of(target) != domain_of(module) and layer_of(target) > layer_of(module)
    ]
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_pure_libraries_import_only_the_ground_floor():
    leaks = [
        f"{module} imports {target}"
        for module, targets in sorted(GRAPH.items())
        if module.startswith(PURE)
        for target in sorted(targets)
        if domain_of(target) != domain_of(module)
        and layer_of(target) > 0
        and not target.startswith(PURE)
    ]
    assert not leaks, "\n".join(leaks)


def test_no_import_circle_between_modules():
    assert _circles(GRAPH) == []


def floor_of(module: str) -> str:
    """A domain's part on one layer: `media` keeps its storage on layer 1 and its router on
    layer 4, and those are two floors."""
    return f"{domain_of(module)}@{layer_of(module)}"


def test_no_import_circle_between_domains():
    floors: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        own = floor_of(module)
        floors.setdefault(own, set()).update(floor_of(t) for t in targets if floor_of(t) != own)
    assert _circles(floors) == []


@pytest.mark.parametrize(
    ("graph", "circle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set(), "c": {"a"}}, []),
    ],
)
def test_the_circle_finder_finds_circles(graph, circle):
    assert _circles(graph) == circle


def test_an_upward_import_would_be_seen():
    # The walk sees function-level imports too (they hid the old circles).
    assert "truthset.jobs.settings" in GRAPH["truthset.jobs.service"]
    assert layer_of("truthset.autolabel.settings") > layer_of("truthset.jobs.service")
