"""Two app servers (real `truthset serve` processes, data directories of their own) and one
run worker against one PostgreSQL and one S3, started from `deploy/systemd/`'s units:
import from S3, labeling through both apps, auto-labeling, review, export to S3. Nothing is
shared but the database and the bucket."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from conftest import require
from deployment.cluster import Cluster, env_file_keys, unit_command, wait_run
from truthset.media.storage import s3_client

WEATHER = {
    "sunny": ["sun", "bright", "warm", "clear", "blue", "shine", "heat", "dry"],
    "rainy": ["rain", "wet", "storm", "umbrella", "drizzle", "cloud", "puddle", "grey"],
}
ITEMS = 1000


def weather_items(n: int) -> tuple[list[dict[str, str]], dict[str, str]]:
    rng = random.Random(7)
    items, truth = [], {}
    for i in range(n):
        label = rng.choice(sorted(WEATHER))
        words = [rng.choice(WEATHER[label]) for _ in range(6)] + [f"w{rng.randrange(50)}"]
        items.append({"id": f"d{i}", "source": " ".join(words)})
        truth[f"d{i}"] = label
    return items, truth


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str) -> Iterator[Cluster]:
    import os

    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3)")
    bucket = f"deploy-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=bucket)
    c = Cluster(tmp_path, pg_url, bucket)
    try:
        yield c
    finally:
        c.stop_all()


def test_the_units_name_what_the_test_starts():
    """Every unit runs the program of the environment file's installation, and the env
    file holds the keys the cluster gives values to (checked again when one starts)."""
    env = {k: "1" for k in env_file_keys()}
    for unit in ("truthset-migrate.service", "truthset-app@.service", "truthset-worker@.service"):
        argv, _ = unit_command(unit, "8000", env)
        assert argv[3] in ("migrate", "serve", "worker")
    _, own = unit_command("truthset-app@.service", "8000", env)
    assert own == {"TRUTHSET_EMBEDDED_RUNS": "0"}  # app hosts execute no runs


def test_two_app_servers_one_worker_the_whole_path(cluster):
    items, truth = weather_items(ITEMS)
    s3 = s3_client()
    manifest = "\n".join(json.dumps(x) for x in items) + "\n"
    s3.put_object(Bucket=cluster.bucket, Key="in/weather.manifest", Body=manifest.encode())

    cluster.migrate()
    cluster.cli("user", "add", "boss", "--role", "admin")
    cluster.cli("user", "add", "ann", "--role", "worker", "--team", "crew")
    cluster.cli("user", "add", "bob", "--role", "worker", "--team", "crew")
    token = {
        n: cluster.cli("user", "token", n).strip().splitlines()[-1] for n in ("boss", "ann", "bob")
    }
    app_a, app_b = cluster.start_app("app-a"), cluster.start_app("app-b")
    worker = cluster.start_worker("worker-1")

    def api(app, who: str) -> httpx.Client:
        return httpx.Client(
            base_url=app.url, headers={"Authorization": f"Bearer {token[who]}"}, timeout=30
        )

    admin_a, admin_b = api(app_a, "boss"), api(app_b, "boss")

    # Import from S3, asked of app A, executed by the worker.
    assert admin_a.post("/api/datasets", json={"name": "weather"}).status_code == 201
    r = admin_a.post(
        "/api/datasets/weather/imports",
        json={"source": f"s3://{cluster.bucket}/in/weather.manifest"},
    )
    assert r.status_code == 202, r.text
    run = wait_run(admin_b, r.json()["run"]["id"])
    assert run["state"] == "succeeded" and run["result"]["added"] == ITEMS, run

    r = admin_b.post(
        "/api/jobs",
        json={
            "name": "auto",
            "task_type": "text-classification",
            "label_config": ["sunny", "rainy"],
            "dataset": "weather",
            "workers_per_item": 1,
            "teams": ["crew"],
            "settings": {"auto_label": {"batch_size": 100}},
        },
    )
    assert r.status_code == 201, r.text

    # Ann labels through app A, Bob through app B, until the model labels items itself.
    labelers = {"ann": api(app_a, "ann"), "bob": api(app_b, "bob")}
    answered = {"ann": 0, "bob": 0}
    import time

    deadline = time.time() + 240
    report: dict = {}
    while time.time() < deadline:
        idle = 0
        for who, client in labelers.items():
            r = client.post("/api/jobs/auto/next")
            if r.status_code == 204:
                idle += 1
                continue
            assert r.status_code == 200, r.text
            task = r.json()
            item = task["item"]["id"]
            s = client.post(
                f"/api/assignments/{task['assignment_id']}/submit",
                json={"answer": {"label": truth[item]}},
            )
            assert s.status_code == 200, s.text
            answered[who] += 1
        if idle == len(labelers):
            report = admin_a.get("/api/jobs/auto/autolabel").json()
            if any(i["auto_labeled"] for i in report["iterations"]):
                break
            time.sleep(0.5)  # waiting for the model's next iteration
    assert report and sum(i["auto_labeled"] for i in report["iterations"]) > 0, report
    assert answered["ann"] > 20 and answered["bob"] > 20, answered

    # Review on app B: the reviewer takes a human label and corrects it.
    r = admin_b.post("/api/jobs/auto/review/next?max_confidence=1")
    assert r.status_code == 200, r.text
    reviewed = r.json()
    item_id = reviewed["item"]
    r = admin_b.post(f"/api/jobs/auto/review/items/{item_id}", json={"answer": {"label": "sunny"}})
    assert r.status_code == 200, r.text

    # Export to S3, asked of app A, written by the worker.
    out = f"s3://{cluster.bucket}/out/auto.manifest"
    r = admin_a.post("/api/jobs/auto/exports", json={"format": "groundtruth", "out": out})
    assert r.status_code == 202, r.text
    export = wait_run(admin_b, r.json()["id"])
    assert export["state"] == "succeeded", export
    body = s3.get_object(Bucket=cluster.bucket, Key="out/auto.manifest")["Body"].read()
    lines = [json.loads(x) for x in body.decode().splitlines()]
    assert len(lines) == ITEMS
    meta = [x["auto-metadata"] for x in lines if "auto-metadata" in x]
    assert sum(m["human-annotated"] == "no" for m in meta) > 0
    assert sum(m["human-annotated"] == "yes" for m in meta) >= sum(answered.values())
    assert sum(m.get("reviewed") == "yes" for m in meta) == 1

    # Without a destination: the worker writes to the shared files prefix, and app B
    # (which ran nothing) hands it out; so it does the model the worker trained.
    r = admin_a.post("/api/jobs/auto/exports", json={"format": "groundtruth"})
    assert r.status_code == 202, r.text
    export = wait_run(admin_b, r.json()["id"])
    assert export["result"]["out"].startswith(f"s3://{cluster.bucket}/truthset/exports/")
    got = admin_b.get(f"/api/runs/{export['id']}/download", follow_redirects=True)
    assert got.status_code == 200 and len(got.text.splitlines()) == ITEMS
    model = admin_b.get("/api/jobs/auto/autolabel/model")
    assert model.status_code == 200 and len(model.content) > 1000

    # Every run was executed by the worker, none by the app servers.
    engine = create_engine(cluster.database_url)
    with engine.connect() as conn:
        owners = {
            row[0].split(":")[1]
            for row in conn.execute(text("SELECT owner FROM runs WHERE owner IS NOT NULL"))
        }
    engine.dispose()
    assert owners == {str(worker.popen.pid)}, owners
    assert app_a.popen.poll() is None and app_b.popen.poll() is None
