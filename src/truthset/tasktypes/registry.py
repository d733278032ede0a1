"""One registry of task types. Built-ins register through the same entry-point group
(`truthset.task_types`) that third-party plugins use."""

from __future__ import annotations

from importlib.metadata import entry_points

from truthset.errors import BadInput
from truthset.tasktypes.base import TaskType

ENTRY_POINT_GROUP = "truthset.task_types"

_registry: dict[str, TaskType] = {}
_loaded = False


def _load_entry_points() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        task_type = ep.load()
        if not isinstance(task_type, TaskType):
            raise TypeError(f"entry point {ep.name} does not implement the TaskType protocol")
        _registry.setdefault(task_type.name, task_type)


def register_task_type(task_type: TaskType) -> None:
    """Add a task type at run time (tests, notebooks); plugins use the entry point."""
    _load_entry_points()
    _registry[task_type.name] = task_type


def get_task_type(name: str) -> TaskType:
    found = _registry.get(name)
    if found is not None:
        return found
    # Load just this type's entry point: the others may import heavy libraries.
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        task_type = ep.load()
        if not isinstance(task_type, TaskType):
            raise TypeError(f"entry point {ep.name} does not implement the TaskType protocol")
        _registry.setdefault(task_type.name, task_type)
        return _registry[name]
    _load_entry_points()
    try:
        return _registry[name]
    except KeyError:
        known = ", ".join(sorted(_registry))
        raise BadInput(f"unknown task type {name!r}; known types: {known}") from None


def all_task_types() -> dict[str, TaskType]:
    _load_entry_points()
    return dict(_registry)
