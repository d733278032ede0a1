"""Shared helpers for the benchmark scripts (they print their figures)."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
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
    """Run a command; returns (seconds, peak RSS of the child in MB, stdout)."""
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak_kb / 1024, out.stdout
