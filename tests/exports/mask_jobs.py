"""Jobs with masks and polygons for the export tests: a semantic segmentation job worked
through the work engine, a Ground Truth output manifest with masks imported (its masks
RGB PNGs, as Ground Truth writes them), and polygon / instance segmentation jobs."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from exports.conftest import seg_answer
from support import answer_tasks, job_over_items, write_manifest
from tasktypes.conftest import paint, write_image
from truthset.datasets.importer import import_source
from truthset.exports.formats import get_exporter
from truthset.jobs.service import get_job
from truthset.store.models import Job
from truthset.workforce.service import create_user
from truthset.workspace import Workspace

WIDTH, HEIGHT = 40, 30
COLORS = {1: "#2ca02c", 2: "#1f77b4"}  # cat, dog (seg_answer's labelMappings)
GT_DATE = "2020-10-18T22:18:13.527256"


def add_worker(ws: Workspace, name: str = "w") -> None:
    with ws.db.session_scope() as s:
        create_user(s, name, role="worker", teams=["t"])


def masks_by_item() -> dict[str, np.ndarray]:
    """Three masks: two classes (one touching the first pixel), one class, none."""
    a = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    a[0:12, 0:9] = 1
    a[20:29, 15:39] = 2
    a[25, 3] = 2  # a lone pixel of dog far from the rest
    b = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    b[3:27, 10:30] = 2
    b[10:14, 14:18] = 0  # a hole
    return {"a": a, "b": b, "c": np.zeros((HEIGHT, WIDTH), dtype=np.uint8)}


def semantic_job(ws: Workspace, name: str, masks: dict[str, np.ndarray]) -> str:
    """A semantic segmentation job over one image per mask, each mask painted by one
    worker (so the consolidated label is the mask)."""
    items = [
        {"id": key, "source-ref": write_image(ws.settings.media_dir / f"{key}.png", WIDTH, HEIGHT)}
        for key in masks
    ]
    job_over_items(
        ws,
        name,
        items,
        ["cat", "dog"],
        task_type="semantic-segmentation",
        label_attribute=f"{name}-ref",
    )
    answer_tasks(ws, name, "w", lambda item: seg_answer(masks[item]))
    return name


def rgb_png(mask: np.ndarray, colors: dict[int, str]) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(paint(mask, colors)).save(buf, format="PNG")
    return buf.getvalue()


def imported_masks(
    ws: Workspace, attribute: str, masks: dict[str, np.ndarray]
) -> tuple[str, list[str]]:
    """A Ground Truth output manifest with a mask per line (RGB PNGs in the media folder,
    Ground Truth's own colours) imported; returns the imported job's name and the mask
    paths the lines name."""
    colors = {1: "#ff7f0e", 2: "#9467bd"}
    color_map = {
        "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0.7},
        "1": {"class-name": "cat", "hex-color": colors[1], "confidence": 0.7},
        "2": {"class-name": "dog", "hex-color": colors[2], "confidence": 0.7},
    }
    lines, refs = [], []
    for key, mask in masks.items():
        image = write_image(ws.settings.media_dir / "gt" / f"{key}.png", WIDTH, HEIGHT)
        ref = ws.settings.media_dir / "gt-out" / f"{key}.png"
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_bytes(rgb_png(mask, colors))
        refs.append(str(ref))
        lines.append(
            {
                "source-ref": image,
                attribute: str(ref),
                f"{attribute}-metadata": {
                    "internal-color-map": color_map,
                    "type": "groundtruth/semantic-segmentation",
                    "job-name": "labeling-job/gt-job",
                    "human-annotated": "yes",
                    "creation-date": GT_DATE,
                },
            }
        )
    path = write_manifest(ws.settings.media_dir / f"{attribute}.manifest", lines)
    with ws.db.session_scope() as s:
        import_source(s, f"{attribute}-ds", str(path), allowed_roots=ws.allowed_roots)
        job = s.query(Job).filter(Job.label_attribute == attribute).one()
        return job.name, refs


TRIANGLE = [{"x": 2, "y": 2}, {"x": 30, "y": 2}, {"x": 2, "y": 24}]
SQUARE = [{"x": 20, "y": 10}, {"x": 36, "y": 10}, {"x": 36, "y": 26}, {"x": 20, "y": 26}]


def polygon_job(ws: Workspace, name: str, task_type: str) -> str:
    """A polygon or instance segmentation job over two images: a triangle and a square
    on the first, nothing on the second."""
    items = [
        {
            "id": f"p/{i}",
            "source-ref": write_image(ws.settings.media_dir / f"{name}{i}.png", WIDTH, HEIGHT),
        }
        for i in range(2)
    ]
    job_over_items(ws, name, items, ["roof", "door"], task_type=task_type)
    shapes: dict[str, list[dict[str, Any]]] = {
        "p/0": [{"label": "roof", "vertices": TRIANGLE}, {"label": "door", "vertices": SQUARE}],
        "p/1": [],
    }
    size = {"width": WIDTH, "height": HEIGHT}
    answer_tasks(ws, name, "w", lambda i: {"polygons": shapes[i], "inputImageProperties": size})
    return name


def export(ws: Workspace, job: str, fmt: str, **options: Any) -> tuple[int, bytes]:
    """The format's exporter, checked as the API and the export run check it."""
    out: list[bytes] = []
    exporter = get_exporter(fmt)
    with ws.db.session_scope(write=False) as s:
        the_job = get_job(s, job)
        exporter.check_job(the_job)
        n = exporter.export(s, the_job, lambda chunks: out.extend(chunks), now=0, **options)
    return n, b"".join(out)


def labels_json(ws: Workspace, job: str) -> list[Any]:
    """The job's label values, in position order."""
    from sqlalchemy import select

    from truthset.store.models import Label, Task

    with ws.db.session_scope(write=False) as s:
        job_id = get_job(s, job).id
        return list(
            s.scalars(
                select(Label.value)
                .join(Task, Task.id == Label.task_id)
                .where(Task.job_id == job_id)
                .order_by(Task.position)
            )
        )


def adjustment_of(
    ws: Workspace,
    input_job: str,
    name: str,
    masks: dict[Any, np.ndarray],
    teams: tuple[str, ...] | list[str] = ("t",),
    worker: str | None = "w",
) -> str:
    """An adjustment job chained on `input_job` (its own `-ref` attribute), each item's
    mask replaced by `worker` with `masks[item]` (or, for items without ids of their own,
    the masks in the order the tasks are handed out: import order); no worker, no
    answers."""
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job

    with ws.db.session_scope() as s:
        create_job(
            s,
            JobCreate(
                name=name,
                task_type="semantic-segmentation",
                label_config=["cat", "dog"],
                input_job=input_job,
                label_attribute=f"{name}-ref",
                workers_per_item=1,
                teams=list(teams),
                settings={"adjustment": True},
            ),
        )
    if worker is None:
        return name
    in_order = iter(list(masks.values()))
    answer_tasks(
        ws,
        name,
        worker,
        lambda item: seg_answer(
            masks[item] if item in masks else next(in_order), initialValueModified=True
        ),
    )
    return name
