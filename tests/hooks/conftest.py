"""Helpers of the hooks tests: a real local HTTP server that records what it is sent and
answers from a script, workspaces whose admin allowed that server and a handler folder,
handler files, and the runs executed as the executors execute them."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from conftest import make_workspace
from truthset.hooks import calling
from truthset.runs.executor import run_pending
from truthset.server.app import create_app
from truthset.workforce.service import create_user
from truthset.workspace import Workspace

Reply = tuple[int, Any]  # status, JSON body (bytes sent as they are)


class HookServer:
    """A threading HTTP server: `replies` are used in turn (the last one repeats), or
    `respond(body_json)` computes one; every request is kept as (path, headers, body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.replies: list[Reply] = [(200, {})]
        self.respond: Callable[[Any], Reply] | None = None
        self.delay = 0.0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with server._lock:
                    server.requests.append((self.path, self.headers, body))  # type: ignore[arg-type]
                    n = len(server.requests)
                if server.delay:
                    time.sleep(server.delay)
                if server.respond is not None:
                    status, payload = server.respond(json.loads(body))
                else:
                    status, payload = server.replies[min(n - 1, len(server.replies) - 1)]
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def bodies(self) -> list[Any]:
        return [json.loads(body) for _, _, body in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[HookServer]:
    s = HookServer()
    yield s
    s.close()


@pytest.fixture
def handler_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "handlers"
    folder.mkdir()
    return folder


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # The schedule (0.5 s, doubled) is tested on its own; elsewhere waits are short.
    monkeypatch.setattr(calling, "BACKOFF", 0.01)


def hooks_workspace(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    hosts: str = "127.0.0.1",
    handler_dir: Path | None = None,
    roots: str = "",
    url: str | None = None,
) -> Workspace:
    monkeypatch.setenv("TRUTHSET_HOOK_HOSTS", hosts)
    monkeypatch.setenv("TRUTHSET_HOOK_HANDLER_DIRS", str(handler_dir or ""))
    monkeypatch.setenv("TRUTHSET_ALLOWED_ROOTS", roots)
    return make_workspace(tmp_path, url)


@pytest.fixture(params=["sqlite", "postgres"])
def hws(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    handler_dir: Path,
) -> Iterator[Workspace]:
    """A hooks workspace on the embedded store and on PostgreSQL (JSON columns come back
    as text on one and parsed on the other; locking differs)."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    workspace = hooks_workspace(tmp_path, monkeypatch, handler_dir=handler_dir, url=url)
    add_workers(workspace, "w1", "w2")
    yield workspace
    workspace.close()


@pytest.fixture
def sqlite_hws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handler_dir: Path
) -> Iterator[Workspace]:
    """A hooks workspace on SQLite only (measurements)."""
    workspace = hooks_workspace(tmp_path, monkeypatch, handler_dir=handler_dir)
    add_workers(workspace, "w1", "w2")
    yield workspace
    workspace.close()


def add_workers(ws: Workspace, *names: str) -> None:
    with ws.db.session_scope() as s:
        for name in names:
            create_user(s, name, role="worker", teams=["t"])


def write_handler(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(source)
    return path


def run_all(ws: Workspace) -> int:
    return run_pending(ws.db, ws.settings)


@pytest.fixture(params=["sqlite", "postgres"])
def served(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    """A workspace behind a real server (uvicorn on a socket) that its public URL names,
    on each store."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    monkeypatch.setenv("TRUTHSET_PUBLIC_URL", f"http://127.0.0.1:{sock.getsockname()[1]}")
    ws = hooks_workspace(tmp_path, monkeypatch, url=url)
    add_workers(ws, "w1", "w2")
    uv = uvicorn.Server(uvicorn.Config(create_app(ws, run_executor=False), log_level="warning"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not uv.started:
        assert time.time() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield ws
    uv.should_exit = True
    thread.join(10)
    ws.close()
