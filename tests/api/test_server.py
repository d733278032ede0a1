"""`truthset serve --workers N`: several app processes, each with its own listening socket
on one port (SO_REUSEPORT), started and stopped together."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "SO_REUSEPORT") or not Path("/proc/net/tcp").exists(),
    reason="needs SO_REUSEPORT and Linux /proc",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serving_pid(server_port: int, client_port: int) -> int | None:
    """The pid holding the server side of the connection from `client_port` (Linux)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        local, remote = int(cols[1].rsplit(":", 1)[1], 16), int(cols[2].rsplit(":", 1)[1], 16)
        if local == server_port and remote == client_port:
            inode = cols[9]
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                if os.readlink(fd) == f"socket:[{inode}]":
                    return int(fd_dir.parent.name)
        except OSError:
            continue
    return None


def _listeners(port: int) -> int:
    """How many sockets listen on the port (state 0A in /proc/net/tcp)."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for r in rows if int(r[1].rsplit(":", 1)[1], 16) == port and r[3] == "0A")


def test_app_processes_share_the_port_and_stop_together(tmp_path):
    port = _free_port()
    truthset = str(Path(sys.executable).with_name("truthset"))
    server = subprocess.Popen(
        [truthset, "serve", "--port", str(port), "--workers", "2"],
        env={**os.environ, "TRUTHSET_DATA_DIR": str(tmp_path / "data")},
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/api/health")
                assert conn.getresponse().status == 200
                conn.close()
                break
            except OSError:
                assert time.time() < deadline, "the server did not start"
                time.sleep(0.2)
        while _listeners(port) < 2:  # the other process may start listening a moment later
            assert time.time() < deadline, "the second app process did not start"
            time.sleep(0.2)
        conns, pids = [], set()
        for _ in range(24):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/health")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            conns.append(conn)
            pids.add(_serving_pid(port, conn.sock.getsockname()[1]))
        # 24 connections hashed over two processes: both serve (all on one: 2 in 10^7).
        assert len(pids - {None}) == 2
        children = pids - {None}
        for conn in conns:
            conn.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    time.sleep(0.5)
    assert all(not Path(f"/proc/{pid}").exists() for pid in children)
