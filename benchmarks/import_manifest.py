"""Import of a large text manifest into SQLite through the CLI, end to end.

usage: python benchmarks/import_manifest.py [--lines 1000000]
Target (issue 2): >= 100,000 items/s, RSS < 300 MB. Prints items/s and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _common import TRUTHSET, machine, timed_child, write_text_manifest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "big.manifest"
        write_text_manifest(manifest, args.lines)
        size_mb = manifest.stat().st_size / 2**20
        secs, rss, out = timed_child(
            [TRUTHSET, "dataset", "import", "big", str(manifest), "--data-dir", f"{tmp}/data"]
        )
        result = json.loads(out)
        assert result["added"] == args.lines, result
        # Re-import: validates every line again, adds nothing.
        secs2, rss2, out2 = timed_child(
            [TRUTHSET, "dataset", "import", "big", str(manifest), "--data-dir", f"{tmp}/data"]
        )
        assert json.loads(out2)["added"] == 0
    print(f"machine: {machine()}")
    print(f"manifest: {args.lines:,} lines, {size_mb:.0f} MB")
    print(
        f"import:    {secs:6.2f} s  {args.lines / secs:10,.0f} items/s (process start included)"
        f"  peak RSS {rss:.0f} MB"
    )
    print(
        f"re-import: {secs2:6.2f} s  {args.lines / secs2:10,.0f} lines/s  (0 added)"
        f"  peak RSS {max(rss, rss2):.0f} MB"
    )


if __name__ == "__main__":
    main()
