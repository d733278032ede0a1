"""A cluster of truthset processes on this machine, started as `deploy/systemd/` starts
them: each unit's `ExecStart` and `Environment` lines are read from the unit file (so the
test and the units cannot drift), the environment file's keys are given values for the
test, and each process gets a data directory of its own, as on a host of its own."""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
PROGRAM = "/opt/truthset/bin/truthset"


def env_file_keys() -> list[str]:
    keys = []
    for line in (UNITS / "truthset.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keys.append(line.split("=", 1)[0])
    return keys


def unit_command(unit: str, instance: str, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The unit's command line (the instance for %i, ${VAR} from `env`, the program as
    this interpreter's module) and its own Environment= lines."""
    text = (UNITS / unit).read_text()
    own: dict[str, str] = {}
    for m in re.finditer(r"^Environment=(\w+)=(.*)$", text, re.M):
        own[m.group(1)] = m.group(2)
    match = re.search(r"^ExecStart=(.*)$", text, re.M)
    assert match, f"{unit} has no ExecStart"
    line = match.group(1).replace("%i", instance)
    line = re.sub(r"\$\{(\w+)\}", lambda m: {**env, **own}[m.group(1)], line)
    argv = shlex.split(line)
    assert argv[0] == PROGRAM, argv
    return [sys.executable, "-m", "truthset.cli.main", *argv[1:]], own


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    data_dir: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """PostgreSQL and S3 are the only things the processes share."""

    root: Path
    database_url: str
    bucket: str
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.master_key = secrets.token_hex(32)

    def env(self, data_dir: Path) -> dict[str, str]:
        values = {
            "TRUTHSET_DATABASE_URL": self.database_url,
            "TRUTHSET_DATA_DIR": str(data_dir),
            "TRUTHSET_MASTER_KEY": self.master_key,
            "TRUTHSET_ALLOWED_ROOTS": f"s3://{self.bucket}",
            "TRUTHSET_UPLOAD_PREFIX": f"s3://{self.bucket}/uploads",
            "TRUTHSET_FILES_PREFIX": f"s3://{self.bucket}/truthset",
            "TRUTHSET_S3_ENDPOINT_URL": os.environ["S3_ENDPOINT_URL"],
            "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "TRUTHSET_APP_PROCESSES": "1",
            "TRUTHSET_RUN_CONCURRENCY": "2",
            "TRUTHSET_WORKER_STALLED_AFTER": "5",
            **self.extra_env,
        }
        missing = set(env_file_keys()) - set(values)
        assert not missing, f"the test gives no value to {sorted(missing)}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("TRUTHSET_")}
        return {**base, **values, "PYTHONUNBUFFERED": "1"}

    def _start(self, name: str, unit: str, instance: str, port: int | None) -> Process:
        data_dir = self.root / name
        data_dir.mkdir(parents=True, exist_ok=True)
        env = self.env(data_dir)
        argv, own = unit_command(unit, instance, env)
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - the child's output
        popen = subprocess.Popen(argv, env={**env, **own}, stdout=log, stderr=subprocess.STDOUT)
        process = Process(name, popen, data_dir, port)
        self.processes.append(process)
        return process

    def migrate(self) -> None:
        data_dir = self.root / "migrate"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = self.env(data_dir)
        argv, own = unit_command("truthset-migrate.service", "", env)
        subprocess.run(argv, env={**env, **own}, check=True, capture_output=True, timeout=120)

    def cli(self, *args: str) -> str:
        """A command line on an operator's host (a data directory of its own)."""
        data_dir = self.root / "operator"
        data_dir.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(
            [sys.executable, "-m", "truthset.cli.main", *args],
            env=self.env(data_dir),
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return out.stdout

    def start_app(self, name: str) -> Process:
        port = free_port()
        app = self._start(name, "truthset-app@.service", str(port), port)
        wait_healthy(app)
        return app

    def start_worker(self, name: str) -> Process:
        return self._start(name, "truthset-worker@.service", name, None)

    def log(self, process: Process) -> str:
        return (self.root / f"{process.name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for p in self.processes:
            if p.popen.poll() is None:
                p.popen.send_signal(signal.SIGTERM)
        for p in self.processes:
            try:
                p.popen.wait(20)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait()


def wait_healthy(app: Process, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert app.popen.poll() is None, f"{app.name} exited with {app.popen.returncode}"
        try:
            if httpx.get(f"{app.url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{app.name} did not answer /api/health")


def wait_run(api: httpx.Client, run_id: int, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        run = api.get(f"/api/runs/{run_id}").json()
        if run["state"] in ("succeeded", "failed", "cancelled"):
            return dict(run)
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish")
