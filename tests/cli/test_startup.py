"""The command line starts without the heavy libraries: every command (and every CLI run
in the tests) pays for what `truthset.cli.main` imports."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_does_not_import_scipy_sklearn_or_numpy_heavy_parts_at_start() -> None:
    code = (
        "import sys, truthset.cli.main; "
        "print(','.join(m for m in ('scipy', 'sklearn', 'torch', 'skimage') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"imported at CLI start: {out}"
