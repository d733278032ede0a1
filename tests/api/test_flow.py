"""A dataset to a labeled manifest through the HTTP API alone."""

from __future__ import annotations

import json

from support import bearer, wait_run, write_manifest


def test_import_label_export_over_http(ws, setup_factory, client):
    setup = setup_factory(ws, n_items=0, n_workers=3)
    a = bearer(setup.admin_token)
    manifest = write_manifest(
        ws.settings.media_dir / "tweets.manifest",
        [{"id": f"t{i}", "source": f"tweet {i}"} for i in range(4)],
    )
    r = client.post("/api/datasets/tweets/imports", json={"source": str(manifest)}, headers=a)
    assert r.status_code == 202
    run = wait_run(client, r.json()["run"]["id"], a)
    assert run["state"] == "succeeded" and run["result"]["added"] == 4
    r = client.post(
        "/api/jobs",
        headers=a,
        json={
            "name": "tw",
            "task_type": "text-classification",
            "dataset": "tweets",
            "labels": {
                "document-version": "2018-11-28",
                "labels": [{"label": "sunny"}, {"label": "rainy"}],
            },
            "workers_per_item": 2,
            "teams": ["crew"],
        },
    )
    assert r.status_code == 201 and r.json()["counters"]["total"] == 4
    for w in setup.worker_names[:2]:
        h = bearer(setup.worker_tokens[w])
        while (r := client.post("/api/jobs/tw/next", headers=h)).status_code == 200:
            aid = r.json()["assignment_id"]
            assert client.post(f"/api/assignments/{aid}/heartbeat", headers=h).status_code == 200
            s = client.post(
                f"/api/assignments/{aid}/submit",
                headers=h,
                json={"answer": {"label": "rainy"}, "client_key": f"{w}-{aid}"},
            )
            assert s.status_code == 200, s.json()
        assert r.status_code == 204
    job = client.get("/api/jobs/tw", headers=a).json()
    assert job["state"] == "completed" and job["counters"]["human_labeled"] == 4
    r = client.post("/api/jobs/tw/exports", headers=a, json={})
    run = wait_run(client, r.json()["id"], a)
    assert run["state"] == "succeeded" and run["progress"]["done"] == 4
    body = client.get(f"/api/runs/{run['id']}/download", headers=a).text
    lines = [json.loads(x) for x in body.splitlines()]
    assert [x["tw"] for x in lines] == [1, 1, 1, 1]
    assert lines[0]["tw-metadata"]["confidence"] == 1.0
    workers = client.get("/api/jobs/tw/workers", headers=a).json()
    assert [(w["worker"], w["answers"], w["agreement"]) for w in workers] == [
        ("w00", 4, 1.0),
        ("w01", 4, 1.0),
    ]
    activity = client.get("/api/jobs/tw/activity?worker=w00", headers=a).json()
    assert [e["event"] for e in activity].count("submit") == 4


def test_upload_a_manifest_with_a_bad_line(ws, setup_factory, client):
    setup = setup_factory(ws, n_items=0, n_workers=1)
    a = bearer(setup.admin_token)
    body = b'{"source": "ok"}\n{"source": 1}\n'
    r = client.post(
        "/api/datasets/up/upload",
        headers=a,
        files={"file": ("m.manifest", body, "application/x-ndjson")},
    )
    assert r.status_code == 400
    assert r.json()["detail"]["errors"] == [{"line": 2, "reason": "'source' must be a string"}]
    assert client.get("/api/datasets", headers=a).json() == [
        {
            "name": "texts",
            "items": 0,
            "version": 0,
            "created_at": client.get("/api/datasets", headers=a).json()[0]["created_at"],
        }
    ]


def test_export_destination_must_be_inside_allowed_roots(ws, setup_factory, client):
    setup = setup_factory(ws, n_items=1, n_workers=1)
    setup.job("j", workers_per_item=1)
    r = client.post(
        "/api/jobs/j/exports", headers=bearer(setup.admin_token), json={"out": "/etc/evil.manifest"}
    )
    assert r.status_code == 400 and "outside the server's allowed roots" in r.json()["detail"]


def test_activity_log_per_worker_across_jobs(ws, setup_factory, client):
    setup = setup_factory(ws, n_items=2, n_workers=1)
    setup.job("a", workers_per_item=1)
    setup.job("b", workers_per_item=1)
    h = bearer(setup.worker_tokens["w00"])
    for job in ("a", "b"):
        task = client.post(f"/api/jobs/{job}/next", headers=h).json()
        client.post(f"/api/assignments/{task['assignment_id']}/decline", headers=h)
    mine = client.get("/api/me/activity", headers=h).json()
    assert [(e["job"], e["event"]) for e in mine] == [
        ("a", "accept"),
        ("a", "decline"),
        ("b", "accept"),
        ("b", "decline"),
    ]
    staff = client.get("/api/users/w00/activity", headers=bearer(setup.admin_token)).json()
    assert staff == mine
    assert client.get("/api/users/w00/activity", headers=h).status_code == 403


def test_edit_a_running_job_and_its_teams(ws, setup_factory, client):
    setup = setup_factory(ws, n_items=2, n_workers=1)
    setup.job("j", workers_per_item=1)
    a = bearer(setup.admin_token)
    r = client.patch(
        "/api/jobs/j",
        headers=a,
        json={"instructions": "# New", "task_time_limit": 120, "settings": {"gold_rate": 0.1}},
    )
    assert r.status_code == 200, r.text
    job = r.json()
    assert (job["instructions"], job["task_time_limit"], job["settings"]) == (
        "# New",
        120,
        {"gold_rate": 0.1},
    )
    r = client.patch("/api/jobs/j", headers=a, json={"task_time_limit": 0, "instructions": "x"})
    assert r.status_code == 400 and "task_time_limit" in r.json()["detail"]
    assert client.get("/api/jobs/j", headers=a).json()["instructions"] == "# New"
    assert client.patch("/api/jobs/j", headers=a, json={"name": "other"}).status_code == 422
    assert (
        client.patch(
            "/api/jobs/j", headers=bearer(setup.worker_tokens["w00"]), json={"instructions": "x"}
        ).status_code
        == 403
    )
    # The leased task follows the new time limit.
    w = bearer(setup.worker_tokens["w00"])
    task = client.post("/api/jobs/j/next", headers=w).json()
    assert task["deadline"] - task["leased_at"] == 120
    assert client.delete("/api/jobs/j/teams/crew", headers=a).status_code == 204
    assert client.post("/api/jobs/j/next", headers=w).status_code == 404
    assert client.delete("/api/jobs/j/teams/crew", headers=a).status_code == 404
