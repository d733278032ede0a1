"""Shared helpers for the benchmark scripts (they print their figures)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRUTHSET = str(Path(sys.executable).parent / "truthset")


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    py = platform.python_version()
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {py}"


def write_text_manifest(path: Path, n: int) -> None:
    """n lines like a real text manifest: id, source, one passthrough key."""
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(
                json.dumps(
                    {
                        "id": f"doc-{i:07d}",
                        "source": f"Sentence number {i} about "
                        f"the weather, which is {'sunny' if i % 3 else 'rainy'} today.",
                        "batch": i // 1000,
                    }
                )
                + "\n"
            )


def timed_child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; returns (seconds, peak RSS in MB, stdout).

    The peak is the command's own VmHWM, polled while it runs, plus the RSS of the
    processes it started (an import checks big sources in a child process) at their
    largest sum: getrusage(RUSAGE_CHILDREN) would also count the parent's memory, which
    a vfork()ed child inherits until exec."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak_kb = 0
    peak_children_kb = 0

    def poll() -> None:
        nonlocal peak_kb, peak_children_kb
        while proc.poll() is None:
            try:
                peak_kb = max(peak_kb, _status_kb(proc.pid, "VmHWM:"))
                peak_children_kb = max(
                    peak_children_kb, sum(_status_kb(c, "VmRSS:") for c in _children(proc.pid))
                )
            except OSError:
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - t0
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{stderr[-3000:]}")
    return seconds, (peak_kb + peak_children_kb) / 1024, stdout


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass  # it ended meanwhile
    return 0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except FileNotFoundError:
        return []
