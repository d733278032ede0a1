"""Helpers for the task-type tests: images on disk, worker PNGs, and a driver that runs a
job through the real work engine (lease, submit, consolidate) and exports its manifest."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from PIL import Image
from sqlalchemy import select, text

from truthset.config import load_settings
from truthset.datasets.importer import import_source
from truthset.exports.groundtruth import export_groundtruth
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import create_job
from truthset.media.info import clear_caches
from truthset.store.models import Job, User
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task
from truthset.workforce.service import create_user
from truthset.workspace import Workspace, open_workspace


def write_image(path: Path, width: int, height: int, fmt: str = "PNG") -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (40, 90, 200)).save(path, format=fmt)
    return str(path)


def rgb_png_b64(pixels: np.ndarray) -> str:
    """Base64 PNG of an (H, W, 3|4) uint8 array: what a browser tool sends."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def paint(mask: np.ndarray, colors: dict[int, str]) -> np.ndarray:
    """RGB pixels of a class-index mask; class 0 white, class k colours[k]."""
    out = np.full((*mask.shape, 3), 255, dtype=np.uint8)
    for k, color in colors.items():
        rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
        out[mask == k] = rgb
    return out


class Engine:
    """Drive jobs through the services as the API does, one transaction per step."""

    def __init__(self, ws: Workspace, n_workers: int = 3):
        self.ws = ws
        self.workers = [f"w{i}" for i in range(n_workers)]
        with ws.db.session_scope() as s:
            for name in self.workers:
                create_user(s, name, role="worker", teams=["crew"])

    @property
    def media(self) -> Path:
        return self.ws.settings.media_dir

    def image(self, name: str, width: int, height: int) -> str:
        return write_image(self.media / name, width, height)

    def dataset(self, name: str, rows: list[dict[str, Any]]) -> None:
        manifest = self.media / f"{name}.manifest"
        manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
        with self.ws.db.session_scope() as s:
            import_source(s, name, str(manifest), allowed_roots=self.ws.allowed_roots)

    def job(self, name: str, task_type: str, labels: Any, **kw: Any) -> None:
        spec: dict[str, Any] = dict(
            name=name, task_type=task_type, label_config=labels, teams=["crew"]
        )
        spec.update(kw)
        with self.ws.db.session_scope() as s:
            create_job(s, JobCreate(**spec))

    def work(
        self,
        job_name: str,
        answer: Callable[[int, dict[str, Any]], Any],
        workers: list[str] | None = None,
    ) -> list[Any]:
        """Each worker in turn takes every task it can and answers ``answer(worker_index,
        item)``. Returns the submit results."""
        results = []
        for name in workers or self.workers:
            index = self.workers.index(name)
            while True:
                with self.ws.db.session_scope() as s:
                    job = s.scalar(select(Job).where(Job.name == job_name))
                    user = s.scalar(select(User).where(User.name == name))
                    assert job is not None and user is not None
                    leased = lease_next_task(s, job, user)
                    if leased is None:
                        break
                    results.append(
                        submit_answer(s, leased.assignment_id, user, answer(index, leased.item))
                    )
        return results

    def submit_one(self, job_name: str, worker: str, answer: Any) -> Any:
        with self.ws.db.session_scope() as s:
            job = s.scalar(select(Job).where(Job.name == job_name))
            user = s.scalar(select(User).where(User.name == worker))
            assert job is not None and user is not None
            leased = lease_next_task(s, job, user)
            assert leased is not None
            return submit_answer(s, leased.assignment_id, user, answer)

    def export(self, job_name: str) -> list[dict[str, Any]]:
        out: list[bytes] = []
        with self.ws.db.session_scope() as s:
            job = s.scalar(select(Job).where(Job.name == job_name))
            assert job is not None
            export_groundtruth(s, job, lambda chunks: out.extend(chunks), now=1.0e9)
        return [json.loads(line) for line in b"".join(out).decode().splitlines()]

    def labels(self, job_name: str) -> list[dict[str, Any]]:
        """The stored label rows of a job (value, meta, artifact), in task order."""
        with self.ws.db.session_scope() as s:
            rows = s.execute(
                text(
                    "SELECT l.value, l.meta, l.artifact, l.confidence FROM labels l "
                    "JOIN tasks t ON t.id = l.task_id JOIN jobs j ON j.id = t.job_id "
                    "WHERE j.name = :n ORDER BY t.position"
                ),
                {"n": job_name},
            ).all()
        return [
            {
                "value": orjson.loads(v) if isinstance(v, str) else v,
                "meta": orjson.loads(m) if isinstance(m, str) else m,
                "artifact": bytes(a) if a is not None else None,
                "confidence": c,
            }
            for v, m, a, c in rows
        ]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    clear_caches()
    ws = open_workspace(load_settings(tmp_path / "data"))
    try:
        yield Engine(ws)
    finally:
        ws.close()


@pytest.fixture
def img(tmp_path: Path) -> Callable[..., str]:
    """``img(width, height, name=...)``: write a PNG, return its path (no workspace)."""
    clear_caches()

    def make(width: int, height: int, name: str = "img.png") -> str:
        return write_image(tmp_path / "media" / name, width, height)

    return make


@pytest.fixture
def helpers() -> Any:
    class H:
        write_image = staticmethod(write_image)
        rgb_png_b64 = staticmethod(rgb_png_b64)
        paint = staticmethod(paint)

    return H
