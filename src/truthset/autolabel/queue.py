"""The machine-label queue: which of a job's tasks people get next (priorities), the
common end of applying a plan, and which jobs are due for an iteration. The queries are
in autolabel/repository.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from truthset.autolabel import repository
from truthset.autolabel.settings import DEFAULTS, batch_size
from truthset.learning.strategies import select_batch
from truthset.store.raw import stored_json

VALIDATION_PRIORITY = 1e6


HELD_BACK = -1.0  # see truthset.work.leases: negative priority = waits for the model


def finish_plan(
    session: Session,
    job_id: int,
    report: dict[str, Any],
    priorities: dict[int, float],
    auto: int,
    *,
    now: float,
    targets: dict[int, int] | None = None,
) -> dict[str, Any]:
    """The common end of applying a plan: the answers the validation items need
    (`targets`), the work queue's priorities (open, unstarted tasks only), the job's
    state, and the report with the labels actually written."""
    if targets:
        repository.raise_task_targets(session, targets)
    if priorities:
        repository.set_open_task_priorities(session, priorities)
    if auto or priorities:
        from truthset.jobs.service import refresh_state

        refresh_state(session, job_id, now=now)
    out = dict(report)
    if "auto_labeled" in out:
        out["auto_labeled"] = auto
    return out


def last_iteration_state(session: Session, job_id: int) -> dict[str, Any]:
    """What the previous iteration of this job left for the next one."""
    last = stored_json(repository.last_iteration_result(session, job_id)) or {}
    return dict(last.get("state") or {})


def seed_priorities(
    rows: Sequence[Any], validation: Any, seed: int, batch: int, warm: Any = None
) -> dict[int, float]:
    """Before the first model: the validation items and a first batch go to people; the
    rest waits for the model. The first batch is random, or, when the job warm-starts
    from another job's model, the items that model ranks highest (`warm`: a priority per
    row). The validation items stay a random draw either way: the threshold's guarantee
    rests on them."""
    rng = np.random.default_rng(seed)
    scores = np.full(len(rows), HELD_BACK)
    val = np.asarray(validation, dtype=np.intp)
    scores[val] = VALIDATION_PRIORITY
    pool = np.setdiff1d(np.arange(len(rows)), val)
    if warm is None:
        first = rng.choice(pool, size=min(batch, pool.size), replace=False)
        scores[first] = rng.random(first.size)
    else:
        first = pool[select_batch(np.asarray(warm)[pool], batch)]
        scores[first] = np.linspace(1.0, 0.5, num=first.size)
    return changed_priorities(rows, scores)


def validation_targets(rows: Sequence[Any], validation: Any, answers: int) -> dict[int, int]:
    """task id -> answers, for the validation items still waiting for answers."""
    return {rows[int(i)].id: answers for i in validation if rows[int(i)].status in ("open", "full")}


def next_priorities(rows: Sequence[Any], result: Any, batch: int) -> dict[int, float]:
    """The next batch for people, in the model's order; everything else waits."""
    scores = np.full(len(rows), HELD_BACK)
    chosen = np.asarray(result.to_humans, dtype=np.intp)[:batch]
    # Highest first: rank order, kept positive.
    scores[chosen] = np.linspace(2.0, 1.0, num=chosen.size) if chosen.size else scores[chosen]
    return changed_priorities(rows, scores)


def changed_priorities(rows: Sequence[Any], scores: Any) -> dict[int, float]:
    """task id -> new priority, for open unstarted tasks whose priority changes."""
    return {
        r.id: float(s)
        for r, s in zip(rows, scores, strict=True)
        if r.status == "open" and not r.started and float(s) != float(r.priority)
    }


def due_jobs(session: Session) -> list[str]:
    """Jobs whose next auto-labeling iteration is due: enough new human labels since the
    last iteration (or none yet), and none queued or running."""
    out = []
    jobs = repository.in_progress_jobs(session)
    for job_id, name, settings in jobs:
        settings = stored_json(settings)
        if not (settings or {}).get("auto_label"):
            continue
        if repository.has_pending_iteration(session, job_id):
            continue
        last = stored_json(repository.last_iteration_result(session, job_id)) or {}
        humans, total = repository.human_and_total_task_counts(session, job_id)
        humans = int(humans or 0)
        opts = {
            **DEFAULTS,
            **(settings["auto_label"] if isinstance(settings["auto_label"], dict) else {}),
        }
        batch = batch_size(opts, int(total))
        waiting = repository.has_tasks_for_people(session, job_id)
        if not last or humans >= int(last.get("human_labels", 0)) + batch or not waiting:
            out.append(name)
    return out
