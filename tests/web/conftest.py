"""Browser tests: a real uvicorn server on a free 127.0.0.1 port over a temporary data
directory, and Debian's Chromium driven by Playwright (never `playwright install`).

Every test in this folder is marked ``browser`` and is skipped when /usr/bin/chromium is
absent. A failing test leaves a screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from truthset.config import load_settings
from truthset.server.app import create_app
from truthset.workforce import service as workforce
from truthset.workspace import open_workspace
from web.ui_support import TEAM, WORKERS, Pages, Site

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            if not os.path.exists(CHROMIUM):
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("uidata")
    ws = open_workspace(load_settings(data))
    with ws.db.session_scope() as s:
        workforce.create_user(s, "admin", role="admin", password="admin-pass")
        workforce.create_team(s, TEAM)
        for w in WORKERS:
            workforce.create_user(s, w, role="worker", password=f"{w}-pass", teams=[TEAM])
        workforce.create_user(s, "outsider", role="worker", password="outsider-pass")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound here, handed to uvicorn: no race for the port
    port = sock.getsockname()[1]
    app = create_app(ws)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield Site(ws, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def pages(chromium: Any, site: Site, request: pytest.FixtureRequest) -> Iterator[Pages]:
    p = Pages(chromium, site)
    yield p
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        p.screenshots(request.node.name)
    p.close()
    assert not p.errors, f"JavaScript errors on the page: {p.errors}"
