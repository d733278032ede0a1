"""Faults under load, with real `truthset serve` processes (started from deploy/systemd's
units) and a PostgreSQL cluster of the test's own: the database crashes and comes back
(`pg_ctl stop -m immediate`, then start): /api/health reports the outage while it lasts,
work resumes within 5 s of the database being back, and no acknowledged answer is lost;
an app process is killed (-9) mid-batch while annotators go on through another."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import require
from deployment.cluster import Cluster
from faults.load import Annotators, HealthWatch
from faults.services import ThrowawayPostgres, have_postgres_programs, wait_until
from support import Setup
from truthset.config import load_settings
from truthset.workspace import open_workspace

ANNOTATORS = 8


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[ThrowawayPostgres]:
    require(have_postgres_programs(), "PostgreSQL's programs (initdb, pg_ctl) and root")
    server = ThrowawayPostgres(Path("/tmp") / f"truthset-fault-pg-{tmp_path.name}")
    try:
        yield server
    finally:
        server.close()


def seeded(tmp_path: Path, url: str, items: int) -> list[str]:
    """A job of `items` texts, one answer each, and the annotators' tokens."""
    ws = open_workspace(load_settings(tmp_path / "seed", url))
    try:
        setup = Setup(ws, n_items=items, n_workers=ANNOTATORS)
        setup.job("job", workers_per_item=1)
        return [setup.worker_tokens[n] for n in setup.worker_names]
    finally:
        ws.close()


def stored_assignments(url: str) -> set[int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {int(r[0]) for r in conn.execute(text("SELECT assignment_id FROM answers"))}
    finally:
        engine.dispose()


def test_postgresql_restarted_under_load(pg, tmp_path):
    tokens = seeded(tmp_path, pg.url, 2000)
    cluster = Cluster(tmp_path / "hosts", pg.url, "unused")
    try:
        app = cluster.start_app("app")
        health = HealthWatch(app.url)
        load = Annotators([app.url], tokens, "job", {"label": "pos"})
        health.start()
        load.start()
        assert wait_until(lambda: len(load.tally.acknowledged) >= 100, 60), load.tally.errors[-5:]
        down_at = time.time()
        pg.stop("immediate")
        time.sleep(3)
        pg.start()
        back_at = time.time()
        assert wait_until(lambda: load.tally.acks_after(back_at), 10), load.tally.errors[-5:]
        resumed_after = load.tally.acks_after(back_at)[0] - back_at
        time.sleep(2)
        load.stop()
        health.stop()
        assert app.popen.poll() is None, cluster.log(app)

        # The outage is on /api/health while it lasts (after the first instants, which
        # requests already inside the database may still answer), never a 200.
        during = health.between(down_at + 0.5, back_at - 0.2)
        assert during and 200 not in during, during
        assert set(during) <= {503}, during
        assert health.samples[-1][1] == 200
        assert resumed_after < 5.0, resumed_after
        # Acknowledged means committed: every one is in the database after the crash.
        acknowledged = set(load.tally.acknowledged)
        stored = stored_assignments(pg.url)
        assert acknowledged - stored == set()
        print(
            f"\npostgres restart: {len(acknowledged)} acknowledged, 0 lost; health "
            f"{len(during)} samples of 503 during the outage; work resumed "
            f"{resumed_after:.2f} s after the database was back"
        )
    finally:
        cluster.stop_all()


def test_an_app_process_killed_mid_batch(pg, tmp_path):
    tokens = seeded(tmp_path, pg.url, 2000)
    cluster = Cluster(tmp_path / "hosts", pg.url, "unused")
    try:
        app_a, app_b = cluster.start_app("app-a"), cluster.start_app("app-b")
        load = Annotators([app_a.url, app_b.url], tokens, "job", {"label": "pos"})
        load.start()
        assert wait_until(lambda: len(load.tally.acknowledged) >= 200, 60), load.tally.errors[-5:]
        app_a.popen.send_signal(signal.SIGKILL)
        app_a.popen.wait()
        killed_at = time.time()
        assert wait_until(lambda: len(load.tally.acks_after(killed_at)) >= 100, 30)
        load.stop()
        acknowledged = set(load.tally.acknowledged)
        stored = stored_assignments(pg.url)
        assert acknowledged - stored == set()
        # The job's counters agree with its rows: nothing of the killed batch half-written.
        engine = create_engine(pg.url)
        with engine.connect() as conn:
            answers = conn.execute(text("SELECT count(*) FROM answers")).scalar()
            submitted = conn.execute(
                text("SELECT count(*) FROM assignments WHERE status = 'submitted'")
            ).scalar()
            labels = conn.execute(text("SELECT count(*) FROM labels")).scalar()
            complete = conn.execute(
                text("SELECT count(*) FROM tasks WHERE status = 'complete'")
            ).scalar()
        engine.dispose()
        assert answers == submitted == labels == complete
        print(
            f"\napp killed: {len(acknowledged)} acknowledged, 0 lost, {answers} answers "
            f"= submitted assignments = labels = complete tasks"
        )
    finally:
        cluster.stop_all()
