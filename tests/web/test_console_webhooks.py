"""The console's job page shows a job's webhook deliveries (every attempt, newest first,
refreshed while the page is open) and the items its pre-annotation hook failed with the
reason, against a real local receiver and the server's embedded executor."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import uvicorn

from truthset.config import load_settings
from truthset.server.app import create_app
from truthset.workforce import service as workforce
from truthset.workspace import open_workspace
from web.ui_support import TEAM, WORKERS, Pages, Site


class Receiver:
    """A local HTTP server: POST /events fails with 500 until `accept` is set, POST /pre
    answers as Ground Truth's pre-annotation Lambda does, except for the item "bad"."""

    def __init__(self) -> None:
        self.accept = threading.Event()
        self.events: list[tuple[int, Any]] = []  # (status answered, body)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if self.path == "/pre":
                    line = body["dataObject"]
                    status, reply = (
                        (500, {"no": "sorry"})
                        if line["id"] == "bad"
                        else (200, {"taskInput": {"text": line["source"]}})
                    )
                else:
                    status, reply = (200, {}) if receiver.accept.is_set() else (500, {"no": 1})
                    receiver.events.append((status, body))
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The portal's server as tests/web/conftest.py starts it, with 127.0.0.1 a host the
    admin allowed hooks to call (TRUTHSET_HOOK_HOSTS is read when the settings are loaded)."""
    data = tmp_path_factory.mktemp("webhooks")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRUTHSET_HOOK_HOSTS", "127.0.0.1")
    ws = open_workspace(load_settings(data))
    mp.undo()
    with ws.db.session_scope() as s:
        workforce.create_user(s, "admin", role="admin", password="admin-pass")
        workforce.create_team(s, TEAM)
        for w in WORKERS:
            workforce.create_user(s, w, role="worker", password=f"{w}-pass", teams=[TEAM])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(ws), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield Site(ws, f"http://127.0.0.1:{sock.getsockname()[1]}")
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.time() + timeout
    while not (got := check()):
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return got


def api_json(site: Site, path: str) -> Any:
    res = site.api("admin", "GET", path)
    assert res.status_code == 200, (path, res.status_code, res.text)
    return res.json()


def test_the_job_page_shows_each_delivery_attempt_and_the_items_a_hook_failed(
    pages: Pages, site: Site, receiver: Receiver
) -> None:
    job = site.job(
        "text-classification",
        ["a", "b"],
        [{"id": "good", "source": "fine"}, {"id": "bad", "source": "<b>no</b>"}],
        settings={
            "pre_annotation": {"url": receiver.url + "/pre", "tries": 1},
            "webhooks": [{"url": receiver.url + "/events", "events": ["job_state"], "tries": 5}],
        },
    )
    wait_for("the hook to fail an item", lambda: api_json(site, f"/api/jobs/{job}/hook-failures"))
    res = site.api("admin", "POST", f"/api/jobs/{job}/stop")
    assert res.status_code == 200, res.text
    # The embedded executor scans, sends the Stopped event, and the receiver refuses it once.
    wait_for("the first attempt", lambda: receiver.events)
    page = pages.open("admin", f"/console/jobs/{job}")
    page.wait_for_selector("#job-hooks h2:has-text('Webhooks')")
    first = page.locator("#webhook-deliveries tbody tr").last
    assert first.locator(".attempt").inner_text() == "1"
    assert first.locator(".status").inner_text() == "500"
    assert "HTTP 500" in first.locator(".error-text").inner_text()
    assert "job_state" in first.inner_text() and receiver.url + "/events" in first.inner_text()
    failure = page.locator("#hook-failures tbody tr[data-item='bad']")
    assert failure.locator("td").nth(1).inner_text() == "pre_annotation"
    assert "500" in failure.locator(".error-text").inner_text()
    assert page.locator("#hook-failures tbody tr").count() == 1
    # The receiver takes the next try; the page shows it without a reload (its refresh tick).
    receiver.accept.set()
    page.wait_for_selector("#webhook-deliveries td.status:text-is('200')", timeout=30000)
    rows = page.locator("#webhook-deliveries tbody tr")
    attempts = [int(t) for t in rows.locator(".attempt").all_inner_texts()]
    statuses = rows.locator(".status").all_inner_texts()
    assert attempts == sorted(attempts, reverse=True) and attempts[-1] == 1  # newest first
    assert statuses[0] == "200" and set(statuses[1:]) == {"500"}
    assert rows.first.locator(".pill").inner_text() == "delivered"
    assert len(attempts) == len(receiver.events) >= 2
    assert receiver.events[-1][1]["detail"]["LabelingJobStatus"] == "Stopped"
    # What the page shows is the API's log, attempt for attempt.
    log = api_json(site, f"/api/jobs/{job}/webhook-deliveries")
    assert [d["attempt"] for d in log] == attempts
    assert [str(d["status_code"]) for d in log] == statuses


def test_a_job_without_hooks_has_no_hooks_section(pages: Pages, site: Site) -> None:
    job = site.job("text-classification", ["a", "b"], [{"id": "x", "source": "x"}])
    page = pages.open("admin", f"/console/jobs/{job}")
    page.wait_for_selector("#counters")
    assert page.locator("#job-hooks").count() == 0
    res = site.api("worker1", "GET", f"/api/jobs/{job}/hook-failures")
    assert res.status_code == 403 and res.json()["error"]
    assert site.api("admin", "GET", "/api/jobs/nope/hook-failures").status_code == 404
