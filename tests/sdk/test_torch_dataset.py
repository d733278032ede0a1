"""The SDK's PyTorch dataset over a job's Hugging Face export: it imports and opens a
file without torch (an item then asks for torch by name); with torch, images come as
uint8 C x H x W tensors with the very pixels, boxes as torchvision's detection target,
a DataLoader trains one step, and the dataset comes from a running server too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exports.mask_jobs import export
from exports.test_hf_datasets import NAMES, images, import_lines, meta
from support import require_module
from truthset.api.tokens import issue_token
from truthset.sdk.client import Client
from truthset.workforce.service import create_user
from truthset.workspace import Workspace

pytest.importorskip("pyarrow")


def classification_job(ws: Workspace, n: int = 5) -> tuple[str, list[tuple[str, np.ndarray]]]:
    refs = images(ws, n)
    lines = [
        {
            "source-ref": ref,
            "id": f"p{i}",
            "animal": i % 3,
            "animal-metadata": meta("image-classification", **{"class-name": NAMES[i % 3]}),
        }
        for i, (ref, _) in enumerate(refs)
    ]
    return import_lines(ws, lines, "pics"), refs


def box_job(ws: Workspace) -> str:
    ((ref, pixels),) = images(ws, 1)
    anns = [
        {"class_id": 2, "left": 1, "top": 2, "width": 3, "height": 4},
        {"class_id": 0, "left": 0, "top": 0, "width": 9, "height": 6},
    ]
    line = {
        "source-ref": ref,
        "boxes": {"annotations": anns, "image_size": [{"width": 9, "height": 6, "depth": 3}]},
        "boxes-metadata": meta(
            "object-detection", **{"class-map": {"0": "cat", "2": "bird", "1": "dog"}}
        ),
    }
    return import_lines(ws, [line], "boxes")


def exported(ws: Workspace, tmp_path: Path, job: str) -> Path:
    _n, body = export(ws, job, "hf")
    path = tmp_path / f"{job}.parquet"
    path.write_bytes(body)
    return path


def test_the_module_imports_and_opens_an_export_without_torch(ws, tmp_path, monkeypatch):
    job, _refs = classification_job(ws)
    path = exported(ws, tmp_path, job)
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from truthset.sdk.torch_dataset import JobDataset\n"
        f"ds = JobDataset({str(path)!r})\n"
        "print(len(ds), ds.kind, ds.classes)\n"
        "try:\n    ds[0]\nexcept ImportError as exc:\n    print('needs', exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[0] == "5 classification ['cat', 'dog', 'bird']"
    assert "needs JobDataset needs PyTorch" in out


def test_a_file_that_is_no_export_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from truthset.sdk.torch_dataset import JobDataset

    path = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"x": [1]}), path)
    with pytest.raises(ValueError, match="not a Hugging Face export"):
        JobDataset(path)


def test_images_and_labels_as_tensors_and_one_training_step(ws, tmp_path, monkeypatch):
    torch = require_module("torch")
    from truthset.exports import hf_datasets
    from truthset.sdk.torch_dataset import JobDataset

    monkeypatch.setattr(hf_datasets, "ROW_GROUP", 2)  # items across row groups
    job, refs = classification_job(ws)
    ds = JobDataset(exported(ws, tmp_path, job))
    assert len(ds) == 5
    for i, (_ref, pixels) in enumerate(refs):
        image, label = ds[i]
        assert image.dtype == torch.uint8 and tuple(image.shape) == (3, *pixels.shape[:2])
        assert np.array_equal(image.permute(1, 2, 0).numpy(), pixels)
        assert label == i % 3
    assert ds[-1][1] == 1
    with pytest.raises(IndexError):
        ds[5]

    def to_input(image: Any) -> Any:
        return torch.from_numpy(np.asarray(image.convert("RGB").resize((4, 4)))).float()

    loader = torch.utils.data.DataLoader(JobDataset(ds.path, transform=to_input), batch_size=5)
    model = torch.nn.Linear(4 * 4 * 3, len(ds.classes))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    ((batch, labels),) = list(loader)
    loss = torch.nn.functional.cross_entropy(model(batch.reshape(5, -1) / 255), labels)
    loss.backward()
    optimizer.step()
    assert labels.tolist() == [0, 1, 2, 0, 1] and torch.isfinite(loss)


def test_boxes_as_the_torchvision_detection_target(ws, tmp_path):
    torch = require_module("torch")
    from truthset.sdk.torch_dataset import JobDataset

    ds = JobDataset(exported(ws, tmp_path, box_job(ws)))
    _image, target = ds[0]
    assert target["boxes"].dtype == torch.float32
    assert target["boxes"].tolist() == [[1.0, 2.0, 4.0, 6.0], [0.0, 0.0, 9.0, 6.0]]
    assert target["labels"].dtype == torch.int64 and target["labels"].tolist() == [2, 0]


def test_from_a_running_server(ws, client, tmp_path):
    from truthset.sdk.torch_dataset import JobDataset

    job, _refs = classification_job(ws, 3)
    with ws.db.session_scope() as s:
        token = issue_token(s, create_user(s, "boss", role="admin"))
    client.headers["Authorization"] = f"Bearer {token}"
    ds = JobDataset.from_server(
        Client("http://testserver", token, http=client), job, tmp_path / "from-server.parquet"
    )
    assert len(ds) == 3 and ds.classes == NAMES and ds.kind == "classification"
