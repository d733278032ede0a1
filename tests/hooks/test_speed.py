"""`next` is not slowed by a pre-annotation hook: the inputs are made ahead of demand by
the run, so leasing a task of a hooked job costs what it costs without a hook."""

from __future__ import annotations

import statistics
import time

from sqlalchemy import select

from hooks.conftest import HookServer, run_all
from support import job_over_items
from truthset.jobs.service import get_job
from truthset.store.models import User
from truthset.work.leases import lease_next_task
from truthset.workspace import Workspace

N = 150


def lease_times(ws: Workspace, jobs: tuple[str, str]) -> dict[str, list[float]]:
    """Leases of the two jobs taken in turn (so warm-up and noise fall on both alike)."""
    times: dict[str, list[float]] = {job: [] for job in jobs}
    with ws.db.session_scope(write=False) as s:
        workers = list(s.scalars(select(User).where(User.role == "worker")))
    for n in range(N):
        for job in jobs:
            started = time.perf_counter()
            with ws.db.session_scope() as s:
                leased = lease_next_task(s, get_job(s, job), workers[n % len(workers)])
            times[job].append(time.perf_counter() - started)
            assert leased is not None
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]


def test_next_with_a_50ms_hook_costs_what_it_costs_without(
    sqlite_hws: Workspace, server: HookServer
) -> None:
    hws = sqlite_hws
    server.delay = 0.05
    server.replies = [(200, {"taskInput": {"x": 1}, "isHumanAnnotationRequired": True})]
    items = [{"id": f"i{n}", "source": f"text {n}"} for n in range(N)]
    job_over_items(hws, "plain", items, ["x", "y"], dataset="plain-items")
    job_over_items(
        hws,
        "hooked",
        items,
        ["x", "y"],
        dataset="hooked-items",
        settings={"pre_annotation": {"url": server.url}},
    )
    started = time.perf_counter()
    run_all(hws)
    made = time.perf_counter() - started
    assert len(server.requests) == N
    times = lease_times(hws, ("plain", "hooked"))
    plain, hooked = times["plain"], times["hooked"]
    print(
        f"\npre-annotation run: {N} inputs from a 50 ms hook in {made:.2f} s"
        f" ({N / made:.0f}/s); next p50/p95 plain {statistics.median(plain) * 1e3:.2f}/"
        f"{p95(plain) * 1e3:.2f} ms, hooked {statistics.median(hooked) * 1e3:.2f}/"
        f"{p95(hooked) * 1e3:.2f} ms"
    )
    # No 50 ms inside a lease: the hooked job's leases are as fast as the plain one's.
    assert statistics.median(hooked) < statistics.median(plain) * 1.5 + 0.002
    assert p95(hooked) < 0.05
