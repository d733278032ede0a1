"""How simulated workers answer: replaying recorded answers, or from known true labels
with a given accuracy (spammers answer at random)."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from truthset.errors import BadInput


def read_csv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
    except FileNotFoundError:
        raise BadInput(f"file {str(path)!r} does not exist") from None
    with fh:
        reader = csv.DictReader(fh)
        missing = set(columns) - set(reader.fieldnames or [])
        if missing:
            raise BadInput(
                f"{path}: line 1: missing column(s) {', '.join(sorted(missing))}; "
                f"expected {','.join(columns)}"
            )
        rows = []
        for row in reader:
            for col in columns:
                if not row.get(col):
                    raise BadInput(f"{path}: line {reader.line_num}: empty {col!r}")
            rows.append(row)
    if not rows:
        raise BadInput(f"{path}: no rows")
    return rows


@dataclass
class SimulatedWorker:
    name: str
    # item id -> label the worker gives (replay), or None for synthetic workers
    recorded: dict[str, str] | None = None
    accuracy: float = 1.0
    spammer: bool = False
    rng: random.Random = field(default_factory=random.Random)

    def answer(
        self, item_id: str, labels: list[str], truth: dict[str, str]
    ) -> dict[str, Any] | None:
        """The answer for an item, or None when this worker has none to give (release)."""
        if self.recorded is not None:
            label = self.recorded.get(item_id)
            return None if label is None else {"label": label}
        if self.spammer or item_id not in truth:
            return {"label": self.rng.choice(labels)}
        true = truth[item_id]
        if self.rng.random() < self.accuracy:
            return {"label": true}
        others = [lab for lab in labels if lab != true]
        return {"label": self.rng.choice(others) if others else true}


def replay_workers(answers_csv: Path, seed: int) -> list[SimulatedWorker]:
    by_worker: dict[str, dict[str, str]] = {}
    for row in read_csv(answers_csv, ("task", "worker", "label")):
        # A worker who answered one task twice gives their first answer.
        by_worker.setdefault(row["worker"], {}).setdefault(row["task"], row["label"])
    return [
        SimulatedWorker(name=w, recorded=a, rng=random.Random(seed + i))
        for i, (w, a) in enumerate(sorted(by_worker.items()))
    ]


def synthetic_workers(n: int, accuracy: str, spammers: float, seed: int) -> list[SimulatedWorker]:
    try:
        accuracies = [float(x) for x in accuracy.split(",") if x.strip()]
    except ValueError:
        raise BadInput(
            f"--worker-accuracy {accuracy!r}: give numbers like 0.8 or 0.9,0.7"
        ) from None
    if not accuracies or not all(0.0 <= a <= 1.0 for a in accuracies):
        raise BadInput(f"--worker-accuracy {accuracy!r}: each value must be between 0 and 1")
    if not 0.0 <= spammers <= 1.0:
        raise BadInput(f"--spammers {spammers}: must be a share between 0 and 1")
    if n < 1:
        raise BadInput("--workers must be at least 1")
    rng = random.Random(seed)
    n_spam = round(n * spammers)
    spam = set(rng.sample(range(n), n_spam))
    return [
        SimulatedWorker(
            name=f"{i:04d}",
            accuracy=accuracies[i % len(accuracies)],
            spammer=i in spam,
            rng=random.Random(seed * 7919 + i),
        )
        for i in range(n)
    ]
