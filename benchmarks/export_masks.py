"""Exports of a segmentation job with masks, through the CLI: the Ground Truth manifest
with its masks as a zip (`groundtruth`, no destination: what the download gets) and COCO
with a compressed RLE per class and image.

usage: python benchmarks/export_masks.py [--masks 2000] [--width 640 --height 480]
The masks (4 classes, a few rectangles and a disc each, Ground Truth's RGB colours) come
in with a Ground Truth output manifest, so only the exports are measured. Prints masks/s,
the files' sizes and peak RSS of each (masks/s from the run's own time: the CLI's start
is seconds on a loaded machine).
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from _common import TRUTHSET, machine, timed_child
from truthset.config import load_settings
from truthset.datasets.importer import import_source
from truthset.store.models import Job
from truthset.workspace import open_workspace

COLORS = ["#ffffff", "#ff7f0e", "#9467bd", "#2ca02c", "#d62728"]


def mask_png(rng: np.random.Generator, width: int, height: int) -> bytes:
    mask = np.zeros((height, width), dtype=np.uint8)
    for _ in range(6):
        x, y = int(rng.integers(0, width - 60)), int(rng.integers(0, height - 60))
        w, h = int(rng.integers(20, width // 3)), int(rng.integers(20, height // 3))
        mask[y : y + h, x : x + w] = int(rng.integers(1, len(COLORS)))
    yy, xx = np.mgrid[:height, :width]
    cx, cy, r = width / 2, height / 2, min(width, height) / 5
    mask[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = 1
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in COLORS], np.uint8)[mask]
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def write_job(tmp: Path, n: int, width: int, height: int) -> Path:
    color_map = {
        str(k): {
            "class-name": "BACKGROUND" if k == 0 else f"c{k}",
            "hex-color": c,
            "confidence": 0.9,
        }
        for k, c in enumerate(COLORS)
    }
    rng = np.random.default_rng(0)
    masks = tmp / "masks"
    masks.mkdir()
    manifest = tmp / "seg.manifest"
    with open(manifest, "w") as out:
        for i in range(n):
            ref = masks / f"{i}.png"
            ref.write_bytes(mask_png(rng, width, height))
            meta = {
                "internal-color-map": color_map,
                "type": "groundtruth/semantic-segmentation",
                "job-name": "labeling-job/seg",
                "human-annotated": "yes",
                "creation-date": "2021-03-01T12:00:13.527256",
            }
            line = {"source-ref": f"s3://bench/img/{i:06d}.jpg", "seg-ref": str(ref)}
            out.write(json.dumps({**line, "seg-ref-metadata": meta}) + "\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--masks", type=int, default=2000)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        manifest = write_job(tmp, args.masks, args.width, args.height)
        data = tmp / "data"
        ws = open_workspace(load_settings(data))
        with ws.db.session_scope() as s:
            import_source(s, "seg", str(manifest), allowed_roots=[str(tmp), "s3://bench"])
            job = s.query(Job).filter(Job.label_attribute == "seg-ref").one().name
        ws.close()
        masks_mb = sum(p.stat().st_size for p in (tmp / "masks").iterdir()) / 2**20
        print(f"machine: {machine()}")
        print(f"{args.masks:,} masks of {args.width} x {args.height} ({masks_mb:.1f} MB of PNG)")
        for fmt in ("groundtruth", "coco"):
            cmd = [TRUTHSET, "export", job, "--format", fmt, "--data-dir", str(data)]
            secs, rss, out = timed_child(cmd)
            result = json.loads(out)
            path = Path(result["out"])
            if fmt == "groundtruth":
                with zipfile.ZipFile(path) as archive:
                    assert len(archive.namelist()) == args.masks + 1, len(archive.namelist())
            else:
                assert len(json.loads(path.read_bytes())["images"]) == args.masks
            print(
                f"{result['format']:>16}: {args.masks / result['seconds']:,.0f} masks/s in the"
                f" run ({result['seconds']:.2f} s; {secs:.2f} s with the CLI's start),"
                f" {path.stat().st_size / 2**20:.1f} MB, peak RSS {rss:.0f} MB"
            )


if __name__ == "__main__":
    main()
