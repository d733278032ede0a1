"""What ``aggregate`` hands back to the rest of the platform."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class AggregationResult:
    """Consolidated labels, in the caller's identifiers.

    ``confidences`` follow Ground Truth: round(max posterior, 2). ``posteriors`` has one
    column per entry of ``classes``. ``worker_skills`` maps worker id to the estimated
    probability that the worker answers correctly. ``details`` says how ``auto`` chose.
    """

    task_ids: list[str]
    labels: list[str]
    confidences: np.ndarray
    posteriors: np.ndarray
    classes: list[str]
    method: str
    worker_skills: dict[str, float]
    details: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, tuple[str, float]]:
        """task id -> (label, confidence)."""
        return {
            task: (label, float(conf))
            for task, label, conf in zip(self.task_ids, self.labels, self.confidences, strict=True)
        }
