"""Running the server: one process with uvicorn, or several app processes."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI

from truthset.api.app import create_app
from truthset.config import load_settings
from truthset.workspace import open_workspace


def app_from_env() -> FastAPI:
    """Factory for uvicorn's multi-process mode; the workspace comes from the environment.
    Only the first process runs the embedded run executor unless told otherwise."""
    ws = open_workspace(load_settings())
    return create_app(ws, run_executor=os.environ.get("TRUTHSET_EMBEDDED_RUNS", "1") != "0")


def run_server(
    *,
    host: str,
    port: int,
    workers: int,
    data_dir: str | None,
    database_url: str | None,
    log_level: str = "warning",
) -> None:
    settings = load_settings(data_dir, database_url)
    if workers <= 1:
        ws = open_workspace(settings)
        uvicorn.run(
            create_app(ws),
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        return
    # Migrate once before the processes start, then let each open its own workspace.
    open_workspace(settings).close()
    os.environ["TRUTHSET_DATA_DIR"] = str(settings.data_dir)
    os.environ["TRUTHSET_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        "truthset.api.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )


def start_background_server(ws: Any, host: str = "127.0.0.1") -> tuple[str, Callable[[], None]]:
    """Serve a workspace from a thread on a free local port; returns (url, stop)."""
    import socket
    import threading
    import time

    with socket.socket() as sock:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(ws), host=host, port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("the local server did not start")
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=15)

    return f"http://{host}:{port}", stop
