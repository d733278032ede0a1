"""One registry of task types. Built-ins register through the same entry-point group
(`truthset.task_types`, in pyproject.toml) that third-party plugins use."""

from __future__ import annotations

from truthset.registry import Registry
from truthset.tasktypes.base import TaskType

ENTRY_POINT_GROUP = "truthset.task_types"


TASK_TYPES: Registry[TaskType] = Registry("task type", ENTRY_POINT_GROUP, instance_of=TaskType)


def register_task_type(task_type: TaskType) -> None:
    """Add a task type at run time (tests, notebooks); plugins use the entry point."""
    TASK_TYPES.register(task_type.name, task_type)


def get_task_type(name: str) -> TaskType:
    # Only this type's entry point is loaded: the others may import heavy libraries.
    return TASK_TYPES.get(name)


def all_task_types() -> dict[str, TaskType]:
    return TASK_TYPES.load_all()
