"""Consolidation methods for job-level consolidation, by name, and the `quality` settings
section that names one.

A method is made in two steps: `plan(session, job, cache_dir)` reads a snapshot (training
a model may take minutes, and on SQLite a write transaction would stop every submit that
long), then `apply(session, job, plan, now)` writes the labels in one short transaction.
The aggregators of the consensus library (mv, wawa, ds, ...) register here as methods
whose plan is nothing and whose apply refits the aggregator; methods of higher layers
(crowdlab, in auto-labeling) register through the registry's entry points
(`truthset.consolidation_methods`), so quality never imports them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from truthset.consensus.aggregation import AGGREGATORS
from truthset.errors import BadInput
from truthset.jobs.settings import SettingsSection
from truthset.registry import Registry
from truthset.store.models import Job


@dataclass(frozen=True)
class ConsolidationMethod:
    name: str
    description: str
    plan: Callable[[Session, Job, Path | None], Any]
    apply: Callable[[Session, Job, Any, float], dict[str, Any]]


CONSOLIDATION_METHODS: Registry[ConsolidationMethod] = Registry(
    "consolidation method",
    "truthset.consolidation_methods",
    {
        **{name: "truthset.quality.service" for name in AGGREGATORS},
        "crowdlab": "truthset.autolabel.model_consensus:CROWDLAB",
    },
    instance_of=ConsolidationMethod,
)


def get_method(name: str) -> ConsolidationMethod:
    return CONSOLIDATION_METHODS.get(name)


def _check_quality(_session: Session, _task_type: str, settings: dict[str, Any]) -> None:
    quality = settings.get("quality")
    if quality is None:
        return
    if not isinstance(quality, dict):
        raise BadInput("settings.quality must be an object")
    method = quality.get("method")
    if method is not None and (not isinstance(method, str) or method not in CONSOLIDATION_METHODS):
        known = ", ".join(CONSOLIDATION_METHODS.names())
        raise BadInput(f"settings.quality.method {method!r} is not one of: {known}")
    prior = quality.get("prior_skill")
    if prior is not None and (
        isinstance(prior, bool)
        or not isinstance(prior, int | float)
        or not math.isfinite(prior)
        or not 0 < prior <= 1
    ):
        raise BadInput(
            f"settings.quality.prior_skill must be a number in (0, 1] (the confidence of a "
            f"single answer by a worker of unknown skill), got {prior!r}"
        )


QUALITY_SECTION = SettingsSection(
    key="quality",
    description="consolidation method, review queue, dynamic redundancy",
    check=_check_quality,
)
