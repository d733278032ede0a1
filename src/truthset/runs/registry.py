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

from truthset.errors import BadInput


@dataclass(frozen=True)
class RunKind:
    name: str
    fn: Callable[..., dict[str, Any]]
    # Safe to start again after a crash (its effects are idempotent or transactional).
    resumable: bool


_KINDS: dict[str, RunKind] = {}


def run_kind(
    name: str, *, resumable: bool
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    def register(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        _KINDS[name] = RunKind(name=name, fn=fn, resumable=resumable)
        return fn

    return register


def get_run_kind(name: str) -> RunKind:
    load_builtin_kinds()
    try:
        return _KINDS[name]
    except KeyError:
        raise BadInput(f"unknown run kind {name!r}") from None


def all_run_kinds() -> dict[str, RunKind]:
    load_builtin_kinds()
    return dict(_KINDS)


def load_builtin_kinds() -> None:
    # Importing the modules registers their kinds.
    from truthset.autolabel import runs as _autolabel_runs  # noqa: F401
    from truthset.datasets import runs as _dataset_runs  # noqa: F401
    from truthset.exports import runs as _export_runs  # noqa: F401
    from truthset.quality import runs as _quality_runs  # noqa: F401
    from truthset.work import runs as _work_runs  # noqa: F401
