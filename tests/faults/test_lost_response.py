"""The client's response lost after the commit: the annotator's connection is cut once the
submit is sent (the server commits and writes an answer nobody reads), and the retried
submit is answered as the first was, with one answer stored. Against a real app process
on PostgreSQL, through a raw socket, as a dropped mobile connection would do it."""

from __future__ import annotations

import json
import socket
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from deployment.cluster import Cluster
from support import Setup
from truthset.config import load_settings
from truthset.workspace import open_workspace


def send_and_hang_up(port: int, path: str, token: str, body: dict) -> None:
    payload = json.dumps(body).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + payload
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)  # all sent; the answer is never read


def test_a_submit_whose_response_was_lost_is_answered_again_as_the_first(pg_url, tmp_path: Path):
    ws = open_workspace(load_settings(tmp_path / "seed", pg_url))
    try:
        setup = Setup(ws, n_items=5, n_workers=1)
        setup.job("job", workers_per_item=1)
        token = setup.worker_tokens["w00"]
    finally:
        ws.close()
    cluster = Cluster(tmp_path / "hosts", pg_url, "unused")
    try:
        app = cluster.start_app("app")
        api = httpx.Client(base_url=app.url, headers={"Authorization": f"Bearer {token}"})
        task = api.post("/api/jobs/job/next").json()
        path = f"/api/assignments/{task['assignment_id']}/submit"
        body = {"answer": {"label": "pos"}, "client_key": uuid.uuid4().hex}
        send_and_hang_up(app.port or 0, path, token, body)
        engine = create_engine(pg_url)
        deadline = time.time() + 20
        with engine.connect() as conn:
            while time.time() < deadline:
                stored = conn.execute(text("SELECT count(*) FROM answers")).scalar()
                conn.rollback()
                if stored:
                    break
                time.sleep(0.05)
        assert stored == 1  # committed, though nobody read the response

        retried = api.post(path, json=body)
        assert retried.status_code == 200, retried.text
        again = api.post(path, json=body)
        assert again.json() == retried.json()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM answers")).scalar() == 1
        engine.dispose()
        # The worker goes on to the next task as if the first response had arrived.
        following = api.post("/api/jobs/job/next")
        assert following.status_code == 200
        assert following.json()["assignment_id"] != task["assignment_id"]
    finally:
        cluster.stop_all()
