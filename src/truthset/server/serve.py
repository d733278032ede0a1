"""Running the server: one process with uvicorn, or several app processes."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI

from truthset.config import load_settings
from truthset.server.app import create_app
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
    if hasattr(socket, "SO_REUSEPORT"):
        serve_processes(host=host, port=port, workers=workers, log_level=log_level)
        return
    uvicorn.run(
        "truthset.server.serve:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )


def _listening_socket(host: str, port: int) -> socket.socket:
    """A listening socket of its own, in the port's SO_REUSEPORT group."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _app_process(host: str, port: int, log_level: str) -> None:
    config = uvicorn.Config(
        "truthset.server.serve:app_from_env",
        factory=True,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run(sockets=[_listening_socket(host, port)])


def serve_processes(*, host: str, port: int, workers: int, log_level: str) -> None:
    """Several app processes, each with its own listening socket on the same port.

    uvicorn's processes share one socket, and the process that wakes first accepts every
    connection waiting at that moment: on the work-loop benchmark 32 workers landed 29 / 3
    on two processes in one run, and that run was the slowest. With a socket per process
    in one SO_REUSEPORT group the kernel spreads new connections over the processes by a
    hash of their addresses. A process that dies is started again; SIGINT / SIGTERM stop
    them all."""
    import multiprocessing
    import signal
    import threading
    import time

    _listening_socket(host, port).close()  # the port is free (or ours): fail here if not
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def start() -> Any:
        process = context.Process(target=_app_process, args=(host, port, log_level))
        process.start()
        return process

    def stop(*_args: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    processes = [start() for _ in range(workers)]
    restarts: list[float] = []
    try:
        while not stopping.wait(0.5):
            for i, process in enumerate(processes):
                if not process.is_alive():
                    restarts = [t for t in restarts if t > time.monotonic() - 60] + [
                        time.monotonic()
                    ]
                    if len(restarts) > 5:
                        raise SystemExit("the app processes keep exiting; see the log above")
                    processes[i] = start()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=10)


def start_background_server(ws: Any, host: str = "127.0.0.1") -> tuple[str, Callable[[], None]]:
    """Serve a workspace from a thread on a free local port; returns (url, stop)."""
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
