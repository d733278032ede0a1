"""Quality control for jobs: job-level consolidation with the real aggregators, worker
skills kept per job, gold items, the quality bar, agreement metrics and review.

Labels are written as soon as a task has its answers (the task type's immediate rule,
weighted by the skills known so far). `reconsolidate_job` then refits the job's method on
every answer of the job — so worker skills learned on one batch inform the next, as
Ground Truth keeps worker parameters between batches — and rewrites labels and skills.
The queries are in `truthset.quality.repository`.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from truthset.consensus.aggregation import AGGREGATORS, aggregate, encode_answers
from truthset.consensus.agreement import (
    fleiss_kappa,
    krippendorff_alpha,
    pairwise_cohen_kappa,
    per_label_agreement,
)
from truthset.errors import BadInput
from truthset.jobs import repository as jobs_repository
from truthset.labels import repository as labels_repository
from truthset.labels.writer import class_label, write_label
from truthset.quality import repository
from truthset.quality.gold import gold_map
from truthset.quality.label_agreement import per_label_pairwise_agreement
from truthset.quality.methods import CONSOLIDATION_METHODS, ConsolidationMethod, get_method
from truthset.quality.review import SINGLE_LABEL_TYPES
from truthset.runs import service as runs_service
from truthset.store.models import Job, WorkerStat
from truthset.store.raw import stored_json
from truthset.tasktypes import get_task_type


def quality_settings(job: Job) -> dict[str, Any]:
    return dict(job.settings.get("quality") or {})


def _answer_rows(session: Session, job: Job) -> list[tuple[int, str, int, str]]:
    """(task id, item external id, worker id, label) of every counted single-label answer."""
    rows = repository.counted_answers_with_items(session, job.id)
    return [(t, ext, w, stored_json(c)["label"]) for t, ext, w, c in rows]


def reconsolidate_job(
    session: Session,
    job: Job,
    *,
    method: str | None = None,
    now: float | None = None,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Job-level consolidation with the job's method (or `method`), in one session: the
    method's plan, then its labels. A model-assisted method such as ``crowdlab`` caches
    its features in ``cache_dir``. The background run plans in a read session instead."""
    now = time.time() if now is None else now
    chosen = get_method(method or quality_settings(job).get("method", "auto"))
    return chosen.apply(session, job, chosen.plan(session, job, cache_dir), now)


def aggregate_job(session: Session, job: Job, *, method: str, now: float) -> dict[str, Any]:
    """Refit the aggregator `method` on all the job's answers; rewrite labels of complete
    tasks and the workers' skills. Single-label classification types only (others keep
    their per-item consolidation, weighted by the skills found here)."""
    if job.task_type not in SINGLE_LABEL_TYPES:
        raise BadInput(f"job-level consolidation supports single-label types, not {job.task_type}")
    rows = _answer_rows(session, job)
    if not rows:
        return {"method": method, "tasks": 0, "changed": 0}
    config = get_task_type(job.task_type).parse_label_config(job.label_config)
    gold = {k: v["label"] for k, v in gold_map(session, job).items() if "label" in v}
    result = aggregate(
        [str(r[0]) for r in rows],
        [str(r[2]) for r in rows],
        [r[3] for r in rows],
        method=method,
        gold=gold or None,
        classes=list(config.labels),
    )
    task_of = {str(r[0]): r[0] for r in rows}
    complete = repository.complete_task_ids(session, job.id)
    old = {
        task_id: stored_json(meta).get("class-name")
        for task_id, meta in repository.human_label_metas(session, job.id)
    }
    # A reviewer's label is final: refitting the workers' answers must not replace it.
    reviewed = labels_repository.reviewed_task_ids(session, job.id)
    changed = 0
    for task_key, label, conf in zip(
        result.task_ids, result.labels, result.confidences, strict=True
    ):
        task_id = task_of[task_key]
        if task_id not in complete or task_id in reviewed:
            continue
        # The (calibrated) posterior, also for a task one worker answered: under the model
        # it is that worker's estimated reliability, not Ground Truth's uninformative 0.
        confidence = float(conf)
        changed += int(old.get(task_id) != label)
        write_label(
            session,
            job.id,
            task_id,
            class_label(config.class_id(label), label, confidence, result.method),
            human=True,
            now=now,
        )
    for worker_key, skill in result.worker_skills.items():
        stat = repository.worker_stat(session, job.id, int(worker_key))
        if stat is None:
            stat = WorkerStat(
                job_id=job.id,
                worker_id=int(worker_key),
                gold_answers=0,
                gold_correct=0,
                blocked=False,
                params={},
            )
            session.add(stat)
        stat.skill = round(float(skill), 4)
    session.flush()
    blocked = apply_quality_bar(session, job)
    details = _plain(result.details)
    return {
        "method": result.method,
        "tasks": len(result.task_ids),
        "changed": changed,
        "blocked_workers": blocked,
        "details": details,
        "report": consolidation_summary(method, result.method, details, len(rows)),
    }


def consolidation_summary(
    requested: str, chosen: str, details: dict[str, Any], answers: int
) -> dict[str, Any]:
    """What the console's consolidation report shows: the method asked for and the one
    used, why (the criterion's value per candidate), and calibration where gold exists."""
    summary: dict[str, Any] = {"requested": requested, "method": chosen, "answers": answers}
    if requested == "auto":
        summary.update(
            why=details.get("why"),
            no_gold_choice=details.get("no_gold_choice"),
            criterion=details.get("criterion"),
            candidates=details.get("candidates"),
            calibration=details.get("calibration"),
        )
    else:
        summary["why"] = f"the job's method is {requested}"
    if "gold_accuracy" in details:
        summary["gold_accuracy"] = details["gold_accuracy"]
        summary["gold_tasks"] = details["gold_tasks"]
    return summary


def consolidation_report(session: Session, job: Job) -> dict[str, Any]:
    """The newest finished job-level consolidation of the job (kept in its run's result):
    ``{"run", "finished_at", "report"}``, or ``{"run": None}`` when there was none."""
    # Runs of a job are few (imports, exports, consolidations): the newest 200 hold it.
    runs = runs_service.list_runs(session, limit=200, job_id=job.id)
    run = next((r for r in runs if r.kind == "consolidate" and r.state == "succeeded"), None)
    if run is None:
        return {"run": None, "report": None}
    result = run.result or {}
    # Methods of other layers (crowdlab) return their own summary: the report then says
    # at least which method made the labels.
    report = result.get("report") or {
        "requested": (run.params or {}).get("method"),
        "method": result.get("method"),
        "why": "a model-assisted method: see the run's result",
    }
    return {
        "run": run.id,
        "finished_at": run.finished_at,
        "report": report,
        "tasks": result.get("tasks"),
        "changed": result.get("changed"),
    }


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def apply_quality_bar(session: Session, job: Job) -> list[int]:
    """Stop workers whose skill is below the job's bar (after enough answers)."""
    q = quality_settings(job)
    bar = q.get("min_skill")
    if bar is None:
        return []
    min_answers = int(q.get("min_answers_for_skill", 10))
    blocked = []
    for worker_id, skill, n in repository.unblocked_worker_skills(session, job.id):
        if skill is not None and n >= min_answers and skill < float(bar):
            repository.block_worker(session, job.id, worker_id)
            blocked.append(int(worker_id))
            if q.get("exclude_blocked_answers"):
                exclude_worker_answers(session, job, worker_id)
    return blocked


def exclude_worker_answers(session: Session, job: Job, worker_id: int) -> int:
    """Stop counting a worker's answers and put the affected items back in the queue
    (except items a reviewer has labeled: their label stands)."""
    tasks = repository.counted_task_ids_of_worker(session, job.id, worker_id)
    if not tasks:
        return 0
    repository.exclude_answers_of_worker(session, job.id, worker_id)
    reopened = 0
    for task_id in tasks:
        status, reviewed = repository.task_status_and_reviewed(session, task_id)
        if reviewed:
            # A reviewer set this label from every answer: it stands, and the item is not
            # worked again.
            repository.uncount_answer(session, task_id)
            continue
        repository.uncount_answer_and_reopen(session, task_id)
        if status == "complete":
            repository.delete_label(session, task_id)
            jobs_repository.enter_window(session, job.id)
            reopened += 1
    if reopened and job.state == "completed":
        job.state = "in_progress"
    session.flush()
    return reopened


# -- metrics ----------------------------------------------------------------------------------


# How many of a job's newest answers (with the other answers to their tasks) the agreement
# report reads: the measures need every answer's label, kept by no stored count, and a
# million-item job's answers took seconds to read (20,000 answers took 0.4-0.5 s to read and
# measure on the loaded 2-core machine, 5,000 about 50 ms). ``window`` in the report says so.
AGREEMENT_WINDOW = 5_000


def agreement_report(
    session: Session, job: Job, *, window: int = AGREEMENT_WINDOW
) -> dict[str, Any]:
    """Agreement between the job's workers, measured on the answers to the items of its
    newest `window` answers (the whole job when it has fewer): ``window`` says which."""
    answers_read, whole = repository.newest_counted_answers(session, job.id, window)
    read = {"newest_answers": window, "answers": len(answers_read), "whole_job": whole}
    if job.task_type not in SINGLE_LABEL_TYPES:
        return {**_pairwise_agreement_report(session, job, answers_read), "window": read}
    rows = [(t, "", w, stored_json(c)["label"]) for t, w, _name, c in answers_read]
    config = get_task_type(job.task_type).parse_label_config(job.label_config)
    if not rows:
        return {"answers": 0, "window": read}
    answers = encode_answers(
        [str(r[0]) for r in rows],
        [str(r[2]) for r in rows],
        [r[3] for r in rows],
        list(config.labels),
        "first",
    )
    kappa = pairwise_cohen_kappa(answers, min_shared=5)
    names = repository.user_names(session)
    assert answers.worker_names is not None
    pairs = []
    n = kappa.shape[0]
    for a in range(n):
        for b in range(a + 1, n):
            if not np.isnan(kappa[a, b]):
                pairs.append(
                    {
                        "workers": [
                            names.get(int(answers.worker_names[a])),
                            names.get(int(answers.worker_names[b])),
                        ],
                        "kappa": round(float(kappa[a, b]), 4),
                    }
                )

    def clean(x: float) -> float | None:
        return None if x is None or np.isnan(x) else round(float(x), 4)

    answers_per_task = Counter(str(r[0]) for r in rows)
    if max(answers_per_task.values()) < 2:
        # Agreement compares answers to one item: with one answer per item there is none
        # to measure yet (a job with one worker per item never has any).
        return {
            "answers": len(rows),
            "krippendorff_alpha": None,
            "fleiss_kappa": None,
            "pairwise_cohen_kappa": [],
            "per_label": {lab: None for lab in config.labels},
            "note": "no item has two answers yet: agreement needs several workers per item",
            "window": read,
        }
    per_label = per_label_agreement(answers)
    return {
        "answers": len(rows),
        "krippendorff_alpha": clean(krippendorff_alpha(answers)),
        "fleiss_kappa": clean(fleiss_kappa(answers)),
        "pairwise_cohen_kappa": pairs,
        "per_label": {lab: clean(v) for lab, v in zip(config.labels, per_label, strict=True)},
        "window": read,
    }


def _pairwise_agreement_report(session: Session, job: Job, rows: list[Any]) -> dict[str, Any]:
    """For boxes, polygons, masks, keypoints, spans, transcripts: the mean agreement of every
    pair of answers to one item, by the task type's own measure (matched IoU for objects,
    mask IoU, span overlap, 1 - word error rate), overall, per worker, and per label
    (``per_label``: the same measure on the pair's objects of one label, averaged over the
    pairs where either answer has that label; see `truthset.quality.label_agreement`; empty
    for types without labelled objects)."""
    task_type = get_task_type(job.task_type)
    agree = getattr(task_type, "agreement", None)
    if agree is None:
        raise BadInput(f"{job.task_type} defines no agreement measure")
    config = task_type.parse_label_config(job.label_config)
    by_task: dict[int, list[tuple[str, Any]]] = {}
    for task_id, _worker_id, name, content in rows:
        by_task.setdefault(task_id, []).append((name, stored_json(content)))
    pairs: list[float] = []
    per_worker: dict[str, list[float]] = {}
    for answers in by_task.values():
        for i in range(len(answers)):
            for j in range(i + 1, len(answers)):
                value = float(agree(answers[i][1], answers[j][1], config))
                pairs.append(value)
                per_worker.setdefault(answers[i][0], []).append(value)
                per_worker.setdefault(answers[j][0], []).append(value)
    return {
        "answers": len(rows),
        "measure": f"{job.task_type} pairwise agreement",
        "pairs": len(pairs),
        "mean_pairwise_agreement": round(float(np.mean(pairs)), 4) if pairs else None,
        "per_worker": {w: round(float(np.mean(v)), 4) for w, v in sorted(per_worker.items())},
        "per_label": per_label_pairwise_agreement(
            ([content for _, content in answers] for answers in by_task.values()), agree, config
        ),
    }


def _aggregator_method(name: str) -> ConsolidationMethod:
    """An aggregator of the consensus library as a consolidation method whose plan is
    nothing: refitting reads and writes in the one write transaction."""

    def apply(session: Session, job: Job, _plan: Any, now: float) -> dict[str, Any]:
        return aggregate_job(session, job, method=name, now=now)

    return ConsolidationMethod(
        name=name,
        description=f"the {name} aggregator over every answer of the job",
        plan=lambda _session, _job, _cache_dir: None,
        apply=apply,
    )


def _register_aggregators() -> None:
    for name in AGGREGATORS:
        CONSOLIDATION_METHODS.register(name, _aggregator_method(name))


_register_aggregators()
