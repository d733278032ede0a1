"""Run kinds: a name, a plain function `fn(ctx, **params) -> dict`, and whether an
interrupted run may be started again from the beginning.

A run's definition knows nothing about who executes it: the embedded executor in the
server process, `truthset worker` processes on other hosts polling the same database, or a
queue library's worker calling `execute_run(run_id)` (see `truthset.runs.executor`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from truthset.registry import Registry


@dataclass(frozen=True)
class RunKind:
    name: str
    fn: Callable[..., dict[str, Any]]
    # Safe to start again after a crash (its effects are idempotent or transactional).
    resumable: bool


# Where the built-in kinds are defined: importing a module registers its kinds. Only the
# module of the kind asked for is imported (auto-labeling pulls in scikit-learn, which a
# CLI export should not wait for). Plugins add kinds through the entry-point group
# `truthset.run_kinds` (a module that registers with `run_kind`, or a RunKind).
BUILTIN_KIND_MODULES = {
    "autolabel": "truthset.autolabel.runs",
    "consolidate": "truthset.quality.runs",
    "export": "truthset.exports.runs",
    "groundtruth_output": "truthset.exports.output_runs",
    "import": "truthset.datasets.runs",
    "label_issues": "truthset.autolabel.runs",
    "post_annotation": "truthset.hooks.post",
    "pre_annotation": "truthset.hooks.pre",
    "prelabel": "truthset.autolabel.runs",
    "sweep": "truthset.work.runs",
    "webhooks": "truthset.hooks.webhooks",
}


RUN_KINDS: Registry[RunKind] = Registry(
    "run kind", "truthset.run_kinds", BUILTIN_KIND_MODULES, instance_of=RunKind
)


def run_kind(
    name: str, *, resumable: bool
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    def register(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        RUN_KINDS.register(name, RunKind(name=name, fn=fn, resumable=resumable))
        return fn

    return register


def get_run_kind(name: str) -> RunKind:
    return RUN_KINDS.get(name)


def all_run_kinds() -> dict[str, RunKind]:
    return RUN_KINDS.load_all()
