"""Task types: what a worker sees and answers, and how answers become a label."""

from truthset.tasktypes.base import Consolidation, LabelConfig, TaskType, WorkerAnswer
from truthset.tasktypes.registry import all_task_types, get_task_type, register_task_type

__all__ = [
    "Consolidation",
    "LabelConfig",
    "TaskType",
    "WorkerAnswer",
    "all_task_types",
    "get_task_type",
    "register_task_type",
]
