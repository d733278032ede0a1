"""A job's labels as a PyTorch map-style dataset, read from its Hugging Face export
(`--format hf`: one Parquet file, `truthset.exports.hf_datasets`).

`JobDataset(path)[i]` is `(image, target)`:
- `image`: the item's image decoded on access (never all at once), as a `uint8` tensor
  `C x H x W`, as torchvision's `pil_to_tensor` gives it, or what `transform` makes of
  the PIL image; a text item gives its text instead;
- `target`: for classification the class id (an int), for multi-label a `float32`
  multi-hot tensor over the job's classes, for boxes torchvision's detection target
  `{"boxes": float32 N x 4 as (x1, y1, x2, y2), "labels": int64 N}`; `target_transform`
  may change it.

It has `__len__` and `__getitem__`, which is all `torch.utils.data.DataLoader` needs.
torch is imported on the first item, not with this module: the SDK installs without
it (torch is in the `embeddings` extra). Rows are read one Parquet row group at a time
and the last one is kept, so a loader walking in order reads each group once.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from truthset.sdk.client import Client, TruthsetError


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError(
            "JobDataset needs PyTorch: pip install torch (or truthset[embeddings])"
        ) from None
    return torch


class JobDataset:
    """The labeled items of one job's Hugging Face export file."""

    def __init__(
        self,
        path: str | Path,
        *,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
    ) -> None:
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.transform = transform
        self.target_transform = target_transform
        self._file = pq.ParquetFile(self.path)
        metadata = self._file.schema_arrow.metadata or {}
        if b"huggingface" not in metadata:
            raise ValueError(f"{self.path} is not a Hugging Face export (no features)")
        self.features: dict[str, Any] = json.loads(metadata[b"huggingface"])["info"]["features"]
        if "label" in self.features:
            self.kind, self.classes = "classification", self.features["label"]["names"]
        elif "labels" in self.features:
            self.kind, self.classes = "multilabel", self.features["labels"]["feature"]["names"]
        elif "objects" in self.features:
            category = self.features["objects"]["category"]["feature"]
            self.kind, self.classes = "boxes", category["names"]
        else:
            raise ValueError(f"{self.path}: no label column this dataset knows")
        # Where each row group starts, to find a row's group without reading others.
        self._starts: list[int] = []
        start = 0
        for group in range(self._file.num_row_groups):
            self._starts.append(start)
            start += self._file.metadata.row_group(group).num_rows
        self._length = start
        self._cached: tuple[int, list[dict[str, Any]]] | None = None

    @classmethod
    def from_server(cls, client: Client, job: str, path: str | Path, **kw: Any) -> JobDataset:
        """Export the job from a server as `hf`, save the file at `path`, open it."""
        run = client.export(job, format="hf")
        response = client.http.get(f"/api/runs/{run['id']}/download")
        if response.status_code != 200:
            body = response.json()
            raise TruthsetError(response.status_code, body.get("error", ""), body.get("detail"))
        out = Path(path)
        out.write_bytes(response.content)
        return cls(out, **kw)

    def __len__(self) -> int:
        return self._length

    def _row(self, index: int) -> dict[str, Any]:
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(f"item {index} of {self._length}")
        group = max(g for g, start in enumerate(self._starts) if start <= index)
        if self._cached is None or self._cached[0] != group:
            self._cached = (group, self._file.read_row_group(group).to_pylist())
        return self._cached[1][index - self._starts[group]]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        torch = _torch()
        row = self._row(index)
        if "image" in row:
            from PIL import Image

            image = Image.open(io.BytesIO(row["image"]["bytes"]))
            image.load()
            if self.transform is not None:
                sample = self.transform(image)
            else:
                sample = _pil_to_tensor(torch, image)
        else:
            sample = row["text"] if self.transform is None else self.transform(row["text"])
        target = self._target(torch, row)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def _target(self, torch: Any, row: dict[str, Any]) -> Any:
        if self.kind == "classification":
            return int(row["label"])
        if self.kind == "multilabel":
            hot = torch.zeros(len(self.classes), dtype=torch.float32)
            for class_id in row["labels"]:
                hot[int(class_id)] = 1.0
            return hot
        boxes = [[x, y, x + w, y + h] for x, y, w, h in row["objects"]["bbox"]]
        return {
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            "labels": torch.tensor(row["objects"]["category"], dtype=torch.int64),
        }


def _pil_to_tensor(torch: Any, image: Any) -> Any:
    """`uint8` C x H x W, as torchvision.transforms.functional.pil_to_tensor gives it."""
    import numpy as np

    pixels = np.array(image.convert("RGB") if image.mode not in ("L", "RGB") else image)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()
