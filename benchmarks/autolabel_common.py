"""Shared helpers for the auto-labeling benchmarks (data loading, feature caching)."""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
SHARED_DATA = Path("/work/shared/data")
CACHE_DIR = Path("/tmp/truthset-bench-cache")


def load_fashion_mnist() -> tuple[np.ndarray, np.ndarray]:
    """All 70,000 Fashion-MNIST images (uint8, 28x28) and labels (train then test)."""
    if not FASHION_DIR.exists():
        raise SystemExit(f"{FASHION_DIR} not found: apt-get install -y dataset-fashion-mnist")
    xs, ys = [], []
    for kind in ("train", "t10k"):
        with gzip.open(FASHION_DIR / f"{kind}-images-idx3-ubyte.gz") as f:
            xs.append(np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28))
        with gzip.open(FASHION_DIR / f"{kind}-labels-idx1-ubyte.gz") as f:
            ys.append(np.frombuffer(f.read(), np.uint8, offset=8))
    return np.concatenate(xs), np.concatenate(ys).astype(np.intp)


def cached(name: str, params: dict[str, Any], compute: Any) -> np.ndarray:
    """Compute an array once per parameter set and keep it under /tmp."""
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    path = CACHE_DIR / f"{name}-{key}.npy"
    if path.exists():
        return np.load(path)
    t0 = time.perf_counter()
    arr = np.asarray(compute())
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, arr)
    print(f"# computed {name} {arr.shape} in {time.perf_counter() - t0:.1f} s")
    return arr


def fashion_features(
    n_filters: int = 128, n_components: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    from truthset.learning.models.image import RandomPatchFeaturizer

    images, y = load_fashion_mnist()
    params = {"n_filters": n_filters, "n_components": n_components, "v": 2}

    def compute() -> np.ndarray:
        feat = RandomPatchFeaturizer(n_filters=n_filters, n_components=n_components)
        return feat.fit(images).transform(images).astype(np.float32)

    return cached("fashion-features", params, compute), y


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))
