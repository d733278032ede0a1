"""Drive a job over HTTP like real workers: each simulated worker has an account and a
token; K threads take turns asking for the next task and answering it."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from truthset.errors import BadInput
from truthset.sdk import Client, TruthsetError
from truthset.simulate.workers import SimulatedWorker


@dataclass
class SimulationReport:
    job: str
    workers: int
    answers: int = 0
    released: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    next_latencies: list[float] = field(default_factory=list)
    submit_latencies: list[float] = field(default_factory=list)
    final: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        def pct(xs: list[float], p: float) -> float | None:
            if not xs:
                return None
            s = sorted(xs)
            return round(s[min(len(s) - 1, int(p * len(s)))] * 1000, 2)

        return {
            "job": self.job,
            "workers": self.workers,
            "answers": self.answers,
            "released": self.released,
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "seconds": round(self.seconds, 2),
            "answers_per_second": round(self.answers / self.seconds, 1) if self.seconds else None,
            "next_ms": {
                "p50": pct(self.next_latencies, 0.5),
                "p95": pct(self.next_latencies, 0.95),
                "p99": pct(self.next_latencies, 0.99),
            },
            "submit_ms": {
                "p50": pct(self.submit_latencies, 0.5),
                "p95": pct(self.submit_latencies, 0.95),
                "p99": pct(self.submit_latencies, 0.99),
            },
            **self.final,
        }


def enroll_workers(admin: Client, job: str, workers: list[SimulatedWorker]) -> dict[str, str]:
    """Create an account and a token per simulated worker, in a team added to the job."""
    team = f"sim-{job}"[:100]
    try:
        admin.request("POST", "/teams", json={"name": team})
    except TruthsetError as exc:
        if exc.status != 409:
            raise
    admin.add_team(job, team)
    tokens = {}
    for w in workers:
        name = f"sim-{job}-{w.name}"[:100]
        try:
            admin.create_user(name, role="worker", teams=[team])
        except TruthsetError as exc:
            if exc.status != 409:
                raise
            admin.request("POST", f"/teams/{team}/members", json={"user": name})
        tokens[w.name] = admin.create_token(name)
    return tokens


def run_simulation(
    url: str,
    admin_token: str,
    job: str,
    workers: list[SimulatedWorker],
    truth: dict[str, str],
    *,
    concurrency: int = 16,
    max_seconds: float | None = None,
) -> SimulationReport:
    admin = Client(url, admin_token)
    info = admin.job(job)
    if not info["task_type"].endswith("classification") or info["task_type"].endswith("multilabel"):
        raise BadInput(
            f"simulate answers single-label classification jobs, not {info['task_type']}"
        )
    labels = info["labels"]
    tokens = enroll_workers(admin, job, workers)
    report = SimulationReport(job=job, workers=len(workers))
    lock = threading.Lock()
    pending: queue.Queue[tuple[SimulatedWorker, Client, int]] = queue.Queue()
    for w in workers:
        pending.put((w, Client(url, tokens[w.name], timeout=120), 0))
    started = time.perf_counter()
    deadline = None if max_seconds is None else started + max_seconds
    state_cache: dict[str, Any] = {"at": 0.0, "running": True, "model_busy": False}
    patience = 300  # idle polls (about a minute) before a worker leaves a running job

    def job_running() -> bool:
        now = time.perf_counter()
        if now - state_cache["at"] > 0.5:
            with lock:
                state_cache["at"] = now
            try:
                state_cache["running"] = admin.job(job)["state"] == "in_progress"
                # While an auto-labeling iteration is queued or running, the next batch
                # for people is on its way, however long the model takes to train.
                state_cache["model_busy"] = bool(
                    state_cache["running"]
                    and info.get("settings", {}).get("auto_label")
                    and admin.autolabel_report(job)["pending"]
                )
            except (TruthsetError, OSError):
                state_cache["running"] = False
                state_cache["model_busy"] = False
        return bool(state_cache["running"])

    def keep_waiting(idle: int) -> bool:
        return job_running() and (idle < patience or bool(state_cache.get("model_busy")))

    def loop() -> None:
        while True:
            try:
                worker, client, idle = pending.get_nowait()
            except queue.Empty:
                return
            if deadline is not None and time.perf_counter() > deadline:
                client.close()
                continue
            try:
                t0 = time.perf_counter()
                task = client.next_task(job)
                t1 = time.perf_counter()
                if task is None:
                    # No work for this worker now: while the job runs, work may come back
                    # (an expired lease, the next auto-labeling batch); wait and try again.
                    if keep_waiting(idle):
                        time.sleep(0.05 if idle < 2 else 0.2)
                        pending.put((worker, client, idle + 1))
                    else:
                        client.close()
                    with lock:
                        report.next_latencies.append(t1 - t0)
                    continue
                answer = worker.answer(task["item"]["id"], labels, truth)
                if answer is None:
                    client.release(task["assignment_id"])
                    with lock:
                        report.released += 1
                        report.next_latencies.append(t1 - t0)
                    pending.put((worker, client, 0))
                    continue
                t2 = time.perf_counter()
                client.submit(task["assignment_id"], answer, client_key=uuid.uuid4().hex)
                t3 = time.perf_counter()
                with lock:
                    report.answers += 1
                    report.next_latencies.append(t1 - t0)
                    report.submit_latencies.append(t3 - t2)
                pending.put((worker, client, 0))
            except (TruthsetError, OSError, ValueError) as exc:
                with lock:
                    report.errors.append(f"{worker.name}: {exc}")
                pending.put((worker, client, idle + 1))
                if idle >= 3:
                    pending.get_nowait()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(max(1, concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report.seconds = time.perf_counter() - started
    admin.close()
    return report


def score(labels: list[dict[str, Any]], gold: dict[str, str]) -> dict[str, Any]:
    """Accuracy of a job's labels on the gold items, and how the labels were made."""
    by_item = {x["item"]: x for x in labels}
    scored = [
        (gold[i], by_item[i]["meta"]["class-name"])
        for i in gold
        if i in by_item and by_item[i]["meta"] and "class-name" in by_item[i]["meta"]
    ]
    correct = sum(g == p for g, p in scored)
    methods = Counter(x["method"] for x in labels if x["method"])
    return {
        "labeled": sum(1 for x in labels if x["value"] is not None),
        "gold_scored": len(scored),
        "accuracy_on_gold": round(correct / len(scored), 4) if scored else None,
        "methods": dict(methods),
    }
