"""The machine-label queue: which of a job's tasks people get next (priorities), which
the model may label (claims), and which jobs are due for an iteration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from truthset.autolabel.settings import DEFAULTS, batch_size
from truthset.learning.strategies import select_batch
from truthset.store.raw import stored_json

VALIDATION_PRIORITY = 1e6


HELD_BACK = -1.0  # see truthset.work.leases: negative priority = waits for the model


def job_rows(session: Session, job_id: int) -> Sequence[Any]:
    """The job's tasks in import order with their item and label, as an iteration, the
    label check and crowdlab read them (gold items are not the model's)."""
    return session.execute(
        text(
            "SELECT t.id, t.status, t.started, t.priority, i.id AS item_id, i.external_id, "
            "i.data, l.value, l.meta, l.human, l.reviewed, l.created_at "
            "FROM tasks t JOIN items i ON i.id = t.item_id "
            "LEFT JOIN labels l ON l.task_id = t.id "
            "WHERE t.job_id = :j AND t.is_gold = 0 ORDER BY t.position"
        ),
        {"j": job_id},
    ).all()


def claim_for_machine(session: Session, task_id: int, now: float) -> bool:
    """Mark a task machine-labeled if it is still open and no worker has started it (a
    plan is made on a snapshot; people may have taken the item since)."""
    claimed = session.execute(
        text(
            "UPDATE tasks SET status = 'auto', updated_at = :now "
            "WHERE id = :t AND status = 'open' AND started = 0"
        ),
        {"now": now, "t": task_id},
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def finish_plan(
    session: Session,
    job_id: int,
    report: dict[str, Any],
    priorities: dict[int, float],
    auto: int,
    *,
    now: float,
) -> dict[str, Any]:
    """The common end of applying a plan: the work queue's priorities (open, unstarted
    tasks only), the job's state, and the report with the labels actually written."""
    if priorities:
        session.execute(
            text(
                "UPDATE tasks SET priority = :p WHERE id = :t AND status = 'open' AND started = 0"
            ),
            [{"p": p, "t": t} for t, p in priorities.items()],
        )
    if auto or priorities:
        from truthset.jobs.service import refresh_state

        refresh_state(session, job_id, now=now)
    out = dict(report)
    if "auto_labeled" in out:
        out["auto_labeled"] = auto
    return out


def last_iteration_state(session: Session, job_id: int) -> dict[str, Any]:
    """What the previous iteration of this job left for the next one."""
    last = session.execute(
        text(
            "SELECT result FROM runs WHERE job_id = :j AND kind = 'autolabel' "
            "AND state = 'succeeded' ORDER BY id DESC LIMIT 1"
        ),
        {"j": job_id},
    ).scalar()
    last = stored_json(last) or {}
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
    jobs = session.execute(
        text("SELECT id, name, settings FROM jobs WHERE state = 'in_progress'")
    ).all()
    for job_id, name, settings in jobs:
        settings = stored_json(settings)
        if not (settings or {}).get("auto_label"):
            continue
        busy = session.execute(
            text(
                "SELECT 1 FROM runs WHERE job_id = :j AND kind = 'autolabel' "
                "AND state IN ('queued', 'running') LIMIT 1"
            ),
            {"j": job_id},
        ).first()
        if busy:
            continue
        last = session.execute(
            text(
                "SELECT result FROM runs WHERE job_id = :j AND kind = 'autolabel' "
                "AND state = 'succeeded' ORDER BY id DESC LIMIT 1"
            ),
            {"j": job_id},
        ).scalar()
        last = stored_json(last) or {}
        humans, total = session.execute(
            text(
                "SELECT sum(CASE WHEN status = 'complete' THEN 1 ELSE 0 END), count(*) "
                "FROM tasks WHERE job_id = :j AND is_gold = 0"
            ),
            {"j": job_id},
        ).one()
        humans = int(humans or 0)
        opts = {
            **DEFAULTS,
            **(settings["auto_label"] if isinstance(settings["auto_label"], dict) else {}),
        }
        batch = batch_size(opts, int(total))
        waiting = session.execute(
            text(
                "SELECT 1 FROM tasks WHERE job_id = :j AND is_gold = 0 AND status IN "
                "('open', 'full') AND (priority >= 0 OR started = 1) LIMIT 1"
            ),
            {"j": job_id},
        ).first()
        if not last or humans >= int(last.get("human_labels", 0)) + batch or waiting is None:
            out.append(name)
    return out
