"""Servers of the fault tests' own: a throwaway PostgreSQL cluster in a temporary folder on
a port of its own (initdb + pg_ctl as user postgres, as scripts/services.sh starts the
shared one), which a test may stop and start; the shared services are never touched."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from deployment.cluster import free_port


def pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class ThrowawayPostgres:
    """Durable settings (fsync and synchronous commit on): an immediate stop is a crash,
    and an acknowledged commit must survive it."""

    def __init__(self, root: Path):
        bindir = pg_bin()
        assert bindir is not None, "PostgreSQL's programs are not installed"
        self.bin = bindir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        shutil.chown(root, "postgres", "postgres")
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "-E", "UTF8",
        )  # fmt: skip
        self.start()
        self.psql("CREATE ROLE truthset LOGIN SUPERUSER PASSWORD 'truthset'")
        self.psql("CREATE DATABASE truthset OWNER truthset")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://truthset:truthset@127.0.0.1:{self.port}/truthset"

    def _as_postgres(self, *argv: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def psql(self, sql: str) -> None:
        subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c max_connections=200"
        )
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-w", "-t", "60", "-o", options, "start",
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        """`immediate`: every backend is killed, no checkpoint: a crash, recovered at the
        next start from the WAL."""
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def wait_until(predicate: object, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(0.05)
    return False


def have_postgres_programs() -> bool:
    return pg_bin() is not None and os.geteuid() == 0
