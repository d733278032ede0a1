"""Worker loops for the concurrency tests; importable by spawned processes."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time

from sqlalchemy import select

from truthset.config import load_settings
from truthset.store.models import Job, User
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task, release
from truthset.workspace import Workspace, open_workspace


def worker_loop(ws: Workspace, worker: str, errors: list[str], seed: int) -> int:
    """Label until no work is left; sometimes decline or release; retry some submits."""
    rng = random.Random(seed)
    done = 0
    idle = 0
    # A worker leaves when the job is done, or after ~5 s without work for it (a task it
    # could take may still come back from another worker's release).
    while idle < 250:
        try:
            with ws.db.session_scope() as s:
                job = s.scalar(select(Job).where(Job.name == "job"))
                user = s.scalar(select(User).where(User.name == worker))
                t = lease_next_task(s, job, user)
                state = job.state
                s.expunge(user)
        except Exception as exc:  # any error is a test failure, reported below
            errors.append(f"lease {worker}: {exc!r}")
            return done
        if t is None:
            if state != "in_progress":
                return done
            idle += 1
            time.sleep(0.02)
            continue
        idle = 0
        roll = rng.random()
        try:
            with ws.db.session_scope(durable=True) as s:
                if roll < 0.05:
                    release(s, t.assignment_id, user)
                    continue
                key = f"{worker}-{t.assignment_id}"
                label = rng.choice(["pos", "neg"])
                first = submit_answer(s, t.assignment_id, user, {"label": label}, client_key=key)
            if roll > 0.9:  # a retried submit must change nothing
                with ws.db.session_scope(durable=True) as s:
                    again = submit_answer(
                        s, t.assignment_id, user, {"label": label}, client_key=key
                    )
                if again.answer_id != first.answer_id or not again.replayed:
                    errors.append(f"retry of {key} created a new answer")
            done += 1
        except Exception as exc:
            errors.append(f"submit {worker}: {exc!r}")
    return done


def process_main(
    data_dir: str, database_url: str, workers: list[str], seed: int, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    ws = open_workspace(load_settings(data_dir, database_url))
    errors: list[str] = []
    threads = [
        threading.Thread(target=worker_loop, args=(ws, w, errors, seed + i))
        for i, w in enumerate(workers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    out.put(errors)
