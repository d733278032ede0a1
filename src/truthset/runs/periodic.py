"""Periodic run hooks: functions the run executors call between runs to enqueue work that
has become due (the auto-labeling scheduler). Higher domains register them here, so the
executor never imports them; built-ins are entry points of `truthset.periodic_runs`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from truthset.registry import Registry

PeriodicHook = Callable[[Session], Any]


class Throttle:
    """How often a periodic hook really works, per database: one process may serve
    several workspaces (an executor per app in tests, the CLI beside a server), and a
    module-wide "last time" let one workspace's executor take every turn of another's."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def due(self, session: Session, now: float, every: float) -> bool:
        """True (and the turn is taken) when `every` seconds have passed for this
        session's database since its last turn; a clock that went back is due."""
        bind = session.get_bind()
        key = str(bind.engine.url)
        last = self._last.get(key)
        if last is not None and 0.0 <= now - last < every:
            return False
        self._last[key] = now
        return True

    def reset(self) -> None:
        self._last.clear()


def _as_hook(name: str, obj: Any) -> PeriodicHook:
    if not callable(obj):
        raise TypeError(f"periodic run entry point {name!r} is not callable")
    hook: PeriodicHook = obj
    return hook


PERIODIC_RUNS: Registry[PeriodicHook] = Registry(
    "periodic run hook",
    "truthset.periodic_runs",
    {
        "autolabel": "truthset.autolabel.runs:schedule_due",
        "groundtruth_output": "truthset.exports.output_runs:schedule_due",
        "post_annotation": "truthset.hooks.post:schedule_due",
        "pre_annotation": "truthset.hooks.pre:schedule_due",
        "webhooks": "truthset.hooks.webhooks:schedule_due",
    },
    check=_as_hook,
)


def run_periodic_hooks(session: Session) -> None:
    """Call every hook in name order (each decides itself how often it really works)."""
    for _name, hook in sorted(PERIODIC_RUNS.load_all().items()):
        hook(session)
