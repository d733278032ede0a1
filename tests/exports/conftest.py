"""Helpers of the output-folder tests: workspaces whose allowed roots hold a local folder
or a real S3 bucket, jobs worked through the work engine, the periodic hook called as the
executors call it, and the check of a finished job's whole folder."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import make_workspace, require
from support import answer_tasks, job_over_items
from truthset.exports import output_runs
from truthset.exports.groundtruth import export_groundtruth
from truthset.jobs.service import get_job
from truthset.media.storage import s3_client
from truthset.store.models import Run
from truthset.workforce.service import create_user
from truthset.workspace import Workspace

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FILE_TIME = r"\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d"
WORKER_ID = re.compile(r"^private\.truthset\.[0-9a-f]{16}$")
TEXTS = ["the food was delicious", "cold soup", "a fine wine"]


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    return out


@pytest.fixture
def bucket() -> str:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    name = f"gt-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=name)
    return name


def workspace_with_roots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, roots: list[str], url: str | None = None
) -> Workspace:
    monkeypatch.setenv("TRUTHSET_ALLOWED_ROOTS", ",".join(roots))
    return make_workspace(tmp_path, url)


@pytest.fixture
def ws_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out_dir: Path) -> Iterator[Workspace]:
    workspace = workspace_with_roots(tmp_path, monkeypatch, [str(out_dir)])
    yield workspace
    workspace.close()


def add_workers(ws: Workspace, *names: str) -> None:
    with ws.db.session_scope() as s:
        for name in names:
            create_user(s, name, role="worker", teams=["t"])


def schedule(ws: Workspace, now: float | None = None) -> list[str]:
    """The periodic hook as the executors call it (without its own throttle)."""
    with ws.db.session_scope() as s:
        return output_runs.schedule_due(s, now=now, every=0.0)


def output_runs_of(ws: Workspace, job: str) -> list[Run]:
    with ws.db.session_scope(write=False) as s:
        job_id = get_job(s, job).id
        return list(
            s.scalars(
                select(Run)
                .where(Run.job_id == job_id, Run.kind == "groundtruth_output")
                .order_by(Run.id)
            )
        )


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def export_bytes(ws: Workspace, job: str) -> bytes:
    out: list[bytes] = []
    with ws.db.session_scope(write=False) as s:
        export_groundtruth(s, get_job(s, job), lambda chunks: out.extend(chunks), now=0.0)
    return b"".join(out)


def sentiment_job(ws: Workspace, name: str, path: str, **output: Any) -> str:
    add_workers(ws, "w1", "w2")
    return job_over_items(
        ws,
        name,
        [{"source": t} for t in TEXTS],
        ["negative", "positive"],
        workers_per_item=2,
        settings={"output": {"path": path, **output}},
    )


def answer(item: str) -> dict[str, str]:
    return {"label": "positive"}


def check_layout(job: str, read: Any, names: list[str], manifest: bytes) -> None:
    """Every file of a finished 3-object, 2-worker text classification job."""
    prefix = f"{job}/annotations/"
    responses = sorted(n for n in names if n.startswith(prefix + "worker-response/"))
    assert len(responses) == 3
    for position, name in enumerate(responses):
        assert re.fullmatch(
            rf"{prefix}worker-response/iteration-1/{position}/{FILE_TIME}\.json", name
        ), name
    request = [n for n in names if "/consolidation-request/" in n]
    response = [n for n in names if "/consolidation-response/" in n]
    assert len(request) == len(response) == 1
    assert re.fullmatch(
        rf"{prefix}consolidated-annotation/consolidation-request/iteration-1/{FILE_TIME}\.json",
        request[0],
    )
    assert re.fullmatch(
        rf"{prefix}consolidated-annotation/consolidation-response/iteration-1/{FILE_TIME}\.json",
        response[0],
    )
    assert sorted(names) == sorted(
        [*responses, *request, *response, f"{job}/manifests/output/output.manifest"]
    )
    assert read(f"{job}/manifests/output/output.manifest") == manifest

    workers_seen: dict[str, int] = {}
    for name in responses:
        body = json.loads(read(name))
        assert list(body) == ["answers"]
        assert len(body["answers"]) == 2
        for a in body["answers"]:
            assert list(a) == [
                "workerId",
                "answerContent",
                "acceptanceTime",
                "submissionTime",
                "timeSpentInSeconds",
                "workerMetadata",
            ]
            assert WORKER_ID.match(a["workerId"])
            assert a["answerContent"] == {"crowd-classifier": {"label": "positive"}}
            assert ISO.match(a["acceptanceTime"]) and ISO.match(a["submissionTime"])
            assert a["acceptanceTime"] <= a["submissionTime"]
            assert isinstance(a["timeSpentInSeconds"], float) and a["timeSpentInSeconds"] >= 0
            identity = a["workerMetadata"]["identityData"]
            assert set(identity) == {"identityProviderType", "issuer", "sub"}
            workers_seen[a["workerId"]] = workers_seen.get(a["workerId"], 0) + 1
        subs = {a["workerMetadata"]["identityData"]["sub"] for a in body["answers"]}
        assert subs == {"w1", "w2"}
    # One stable id per worker, in every object's file.
    assert sorted(workers_seen.values()) == [3, 3]

    lines = [json.loads(x) for x in manifest.decode().splitlines()]
    req = json.loads(read(request[0]))
    assert [e["datasetObjectId"] for e in req] == ["0", "1", "2"]
    for entry, text in zip(req, TEXTS, strict=True):
        assert list(entry) == ["datasetObjectId", "dataObject", "annotations"]
        assert entry["dataObject"] == {"content": text}
        assert [set(a) for a in entry["annotations"]] == [{"workerId", "annotationData"}] * 2
        for a in entry["annotations"]:
            assert a["workerId"] in workers_seen
            content = json.loads(a["annotationData"]["content"])
            assert content == {"crowd-classifier": {"label": "positive"}}
    resp = json.loads(read(response[0]))
    assert [e["datasetObjectId"] for e in resp] == ["0", "1", "2"]
    for entry, line in zip(resp, lines, strict=True):
        content = entry["consolidatedAnnotation"]["content"]
        assert list(content) == [job, f"{job}-metadata"]
        assert content[job] == line[job] == 1
        assert content[f"{job}-metadata"] == line[f"{job}-metadata"]
        assert content[f"{job}-metadata"]["class-name"] == "positive"


def mask_of(shift: int) -> Any:
    import numpy as np

    m = np.zeros((30, 40), dtype=np.uint8)
    m[5:20, 5 + shift : 20 + shift] = 1
    m[22:28, 25:38] = 2
    return m


def seg_answer(mask: Any, **extra: Any) -> dict[str, Any]:
    from tasktypes.conftest import paint, rgb_png_b64

    return {
        "labeledImage": {"pngImageData": rgb_png_b64(paint(mask, {1: "#2ca02c", 2: "#1f77b4"}))},
        "labelMappings": {"cat": {"color": "#2ca02c"}, "dog": {"color": "#1f77b4"}},
        "inputImageProperties": {"width": 40, "height": 30},
        **extra,
    }


def decoded(png: bytes) -> Any:
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)))


def segmentation_and_adjustment(ws: Workspace, out: str) -> tuple[str, str]:
    """A mask job over one image and an adjustment job chained on it (a new attribute),
    both with an output path; each worked through the engine, the adjustment moving the
    mask by 6 pixels."""
    from tasktypes.conftest import write_image
    from truthset.datasets.importer import import_source
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job

    add_workers(ws, "w1", "w2")
    image = write_image(ws.settings.media_dir / "cat.png", 40, 30)
    manifest = ws.settings.media_dir / "cats.manifest"
    manifest.write_text(json.dumps({"source-ref": image}) + "\n")
    common: dict[str, Any] = dict(
        task_type="semantic-segmentation",
        label_config=["cat", "dog"],
        workers_per_item=1,
        teams=["t"],
    )
    with ws.db.session_scope() as s:
        import_source(s, "cats", str(manifest), allowed_roots=ws.allowed_roots)
        create_job(
            s,
            JobCreate(
                name="masks",
                dataset="cats",
                label_attribute="masks-ref",
                settings={"output": {"path": out}},
                **common,
            ),
        )
    answer_tasks(ws, "masks", "w1", lambda item: seg_answer(mask_of(0)))
    with ws.db.session_scope() as s:
        create_job(
            s,
            JobCreate(
                name="fix-masks",
                input_job="masks",
                label_attribute="adjusted-ref",
                settings={"adjustment": True, "output": {"path": out}},
                **common,
            ),
        )
    answer_tasks(
        ws, "fix-masks", "w2", lambda item: seg_answer(mask_of(6), initialValueModified=True)
    )
    return "masks", "fix-masks"


MASK_FILE = r"0_\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\.png"
