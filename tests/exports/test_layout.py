"""Ground Truth's output folder, written by the `groundtruth_output` runs for a job with an
output path: real jobs worked through the work engine, a local folder and a real S3
server, every path and every JSON shape checked."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import make_workspace, require
from support import answer_tasks, job_over_items
from truthset.exports import output_runs, output_writer
from truthset.exports.groundtruth import export_groundtruth
from truthset.jobs.service import get_job
from truthset.media.storage import s3_client
from truthset.runs.executor import run_pending
from truthset.runs.periodic import PERIODIC_RUNS
from truthset.runs.registry import get_run_kind
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


def test_a_finished_job_writes_ground_truths_folder_locally(ws_out: Workspace, out_dir: Path):
    ws = ws_out
    job = sentiment_job(ws, "find-people", str(out_dir))
    answer_tasks(ws, job, "w1", answer)
    answer_tasks(ws, job, "w2", answer)
    with ws.db.session_scope(write=False) as s:
        assert get_job(s, job).state == "completed"
    assert schedule(ws) == [job]
    assert run_pending(ws.db, ws.settings) == 1
    [run] = output_runs_of(ws, job)
    assert run.state == "succeeded", run.error
    assert run.result["final"] is True and run.result["objects"] == 3
    check_layout(
        job,
        lambda rel: (out_dir / rel).read_bytes(),
        files_under(out_dir),
        export_bytes(ws, job),
    )
    # Written: nothing more is due.
    assert schedule(ws) == []
    assert schedule(ws, now=time.time() + 10_000) == []


def test_the_run_kind_and_the_hook_are_registered():
    assert get_run_kind("groundtruth_output").fn is output_runs.groundtruth_output_run
    assert get_run_kind("groundtruth_output").resumable
    assert PERIODIC_RUNS.get("groundtruth_output") is output_runs.schedule_due


# -- on S3 ------------------------------------------------------------------------------------


def test_a_finished_job_writes_ground_truths_folder_on_s3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bucket: str
):
    ws = workspace_with_roots(tmp_path, monkeypatch, [f"s3://{bucket}"])
    try:
        job = sentiment_job(ws, "find-people", f"s3://{bucket}/jobs/")
        answer_tasks(ws, job, "w1", answer)
        answer_tasks(ws, job, "w2", answer)
        assert schedule(ws) == [job]
        run_pending(ws.db, ws.settings)
        [run] = output_runs_of(ws, job)
        assert run.state == "succeeded", run.error
        assert run.result["folder"] == f"s3://{bucket}/jobs/{job}"
        client = s3_client()
        keys = [
            o["Key"][len("jobs/") :]
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix="jobs/"
            )
            for o in page.get("Contents", [])
        ]

        def read(rel: str) -> bytes:
            return bytes(client.get_object(Bucket=bucket, Key=f"jobs/{rel}")["Body"].read())

        check_layout(job, read, keys, export_bytes(ws, job))
    finally:
        ws.close()


def test_a_missing_bucket_fails_the_run_with_its_name_and_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bucket: str
):
    missing = f"gt-missing-{uuid.uuid4().hex[:8]}"
    ws = workspace_with_roots(tmp_path, monkeypatch, [f"s3://{missing}"])
    try:
        job = sentiment_job(ws, "lost-output", f"s3://{missing}/out")
        answer_tasks(ws, job, "w1", answer)
        answer_tasks(ws, job, "w2", answer)
        assert schedule(ws) == [job]
        run_pending(ws.db, ws.settings)
        [failed] = output_runs_of(ws, job)
        assert failed.state == "failed"
        assert (
            failed.error
            == f"cannot write s3://{missing}/out/: the bucket {missing!r} does not exist"
        )
        # Not again at once; after RETRY_AFTER, and then it succeeds.
        assert schedule(ws) == []
        s3_client().create_bucket(Bucket=missing)
        assert schedule(ws, now=time.time() + output_runs.RETRY_AFTER + 1) == [job]
        run_pending(ws.db, ws.settings)
        assert [r.state for r in output_runs_of(ws, job)] == ["failed", "succeeded"]
        body = s3_client().get_object(
            Bucket=missing, Key=f"out/{job}/manifests/output/output.manifest"
        )
        assert body["Body"].read() == export_bytes(ws, job)
    finally:
        ws.close()


def test_a_file_in_the_way_fails_the_run_clearly(ws_out: Workspace, out_dir: Path):
    ws = ws_out
    job = sentiment_job(ws, "blocked", str(out_dir))
    (out_dir / job).write_text("a file where the job's folder goes")
    answer_tasks(ws, job, "w1", answer)
    answer_tasks(ws, job, "w2", answer)
    schedule(ws)
    run_pending(ws.db, ws.settings)
    [failed] = output_runs_of(ws, job)
    assert failed.state == "failed"
    assert re.fullmatch(
        rf"cannot write {out_dir}/{job}/annotations/worker-response/iteration-1/0/"
        rf"{FILE_TIME}\.json: not a directory",
        failed.error,
    ), failed.error


def test_a_folder_without_permission_fails_the_run_clearly(ws_out: Workspace, out_dir: Path):
    ws = ws_out
    locked = out_dir / "locked"
    locked.mkdir()
    job = sentiment_job(ws, "no-permission", str(locked))
    answer_tasks(ws, job, "w1", answer)
    answer_tasks(ws, job, "w2", answer)
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who may write anywhere")
        schedule(ws)
        run_pending(ws.db, ws.settings)
        [failed] = output_runs_of(ws, job)
        assert failed.state == "failed"
        assert failed.error.startswith(f"cannot write {locked}/{job}/")
        assert failed.error.endswith("permission denied")
    finally:
        locked.chmod(0o700)


# -- while the job runs -----------------------------------------------------------------------


def test_intermediate_manifests_and_iterations_while_the_job_runs(
    ws_out: Workspace, out_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    ws = ws_out
    monkeypatch.setattr(output_writer, "SETTLE_SECONDS", 0.0)
    add_workers(ws, "w1")
    job = job_over_items(
        ws,
        "long-job",
        [{"source": f"text {i}"} for i in range(4)],
        ["negative", "positive"],
        settings={"output": {"path": str(out_dir), "interval": 60}},
    )
    root = out_dir / job
    t0 = time.time()
    # Nothing answered yet: nothing to write, though the interval has passed.
    assert schedule(ws, now=t0 + 61) == []
    answer_tasks(ws, job, "w1", answer, limit=2)
    assert schedule(ws, now=t0 + 1) == []  # the interval has not passed since the creation
    assert schedule(ws, now=t0 + 100) == [job]
    run_pending(ws.db, ws.settings)
    first = (root / "manifests/intermediate/1/output.manifest").read_text().splitlines()
    assert len(first) == 4
    labeled = [json.loads(x) for x in first if '"long-job-metadata"' in x]
    assert len(labeled) == 2
    assert not (root / "manifests/output").exists()
    assert sorted(p.name for p in (root / "annotations/worker-response").iterdir()) == [
        "iteration-1"
    ]
    assert sorted(p.name for p in (root / "annotations/worker-response/iteration-1").iterdir()) == [
        "0",
        "1",
    ]
    # Unchanged: no second intermediate manifest, however long one waits.
    assert schedule(ws, now=t0 + 200) == []
    assert schedule(ws, now=t0 + 2000) == []
    answer_tasks(ws, job, "w1", answer, limit=1)
    assert schedule(ws, now=t0 + 3000) == [job]
    run_pending(ws.db, ws.settings)
    second = (root / "manifests/intermediate/2/output.manifest").read_text().splitlines()
    assert sum('"long-job-metadata"' in x for x in second) == 3
    assert sorted(p.name for p in (root / "annotations/worker-response/iteration-2").iterdir()) == [
        "2"
    ]
    # The last task finishes the job: the final manifest and the last iteration.
    answer_tasks(ws, job, "w1", answer)
    assert schedule(ws) == [job]
    run_pending(ws.db, ws.settings)
    assert (root / "manifests/output/output.manifest").read_bytes() == export_bytes(ws, job)
    assert sorted(p.name for p in (root / "annotations/worker-response/iteration-3").iterdir()) == [
        "3"
    ]
    iterations = sorted(
        p.name
        for p in (root / "annotations/consolidated-annotation/consolidation-response").iterdir()
    )
    assert iterations == ["iteration-1", "iteration-2", "iteration-3"]
    assert [r.state for r in output_runs_of(ws, job)] == ["succeeded"] * 3
    assert not (root / "manifests/intermediate/3").exists()


def test_a_stopped_job_gets_its_final_manifest(ws_out: Workspace, out_dir: Path):
    from truthset.jobs.service import stop_job

    ws = ws_out
    job = sentiment_job(ws, "stopped-early", str(out_dir))
    answer_tasks(ws, job, "w1", answer, limit=1)
    answer_tasks(ws, job, "w2", answer, limit=1)
    with ws.db.session_scope() as s:
        stop_job(s, get_job(s, job))
    assert schedule(ws) == [job]
    run_pending(ws.db, ws.settings)
    manifest = (out_dir / job / "manifests/output/output.manifest").read_bytes()
    assert manifest == export_bytes(ws, job)
    lines = [json.loads(x) for x in manifest.decode().splitlines()]
    assert [f"{job}-metadata" in line for line in lines] == [True, False, False]


# -- semantic segmentation: masks per job, chained exports --------------------------------------


def _mask(shift: int) -> Any:
    import numpy as np

    m = np.zeros((30, 40), dtype=np.uint8)
    m[5:20, 5 + shift : 20 + shift] = 1
    m[22:28, 25:38] = 2
    return m


def _seg_answer(mask: Any, **extra: Any) -> dict[str, Any]:
    from tasktypes.conftest import paint, rgb_png_b64

    return {
        "labeledImage": {"pngImageData": rgb_png_b64(paint(mask, {1: "#2ca02c", 2: "#1f77b4"}))},
        "labelMappings": {"cat": {"color": "#2ca02c"}, "dog": {"color": "#1f77b4"}},
        "inputImageProperties": {"width": 40, "height": 30},
        **extra,
    }


def _decoded(png: bytes) -> Any:
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
    answer_tasks(ws, "masks", "w1", lambda item: _seg_answer(_mask(0)))
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
        ws, "fix-masks", "w2", lambda item: _seg_answer(_mask(6), initialValueModified=True)
    )
    return "masks", "fix-masks"


MASK_FILE = r"0_\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\.png"


def test_a_segmentation_job_and_its_adjustment_keep_two_masks(ws_out: Workspace, out_dir: Path):
    ws = ws_out
    first, second = segmentation_and_adjustment(ws, str(out_dir))
    assert sorted(schedule(ws)) == sorted([first, second])
    run_pending(ws.db, ws.settings)
    assert [r.state for r in output_runs_of(ws, first) + output_runs_of(ws, second)] == [
        "succeeded",
        "succeeded",
    ]
    masks = {
        job: list((out_dir / job / "annotations/consolidated-annotation/output").iterdir())
        for job in (first, second)
    }
    for job in (first, second):
        assert len(masks[job]) == 1 and re.fullmatch(MASK_FILE, masks[job][0].name)
    assert (_decoded(masks[first][0].read_bytes()) == _mask(0)).all()
    assert (_decoded(masks[second][0].read_bytes()) == _mask(6)).all()

    [line] = [
        json.loads(x)
        for x in (out_dir / second / "manifests/output/output.manifest").read_text().splitlines()
    ]
    # The earlier job's value is its real mask file (not a placeholder), the new one's its own.
    assert line["masks-ref"] == str(masks[first][0])
    assert line["adjusted-ref"] == str(masks[second][0])
    assert line["adjusted-ref-metadata"]["adjustment-status"] == "adjusted"
    [first_line] = (out_dir / first / "manifests/output/output.manifest").read_text().splitlines()
    assert json.loads(first_line)["masks-ref"] == str(masks[first][0])

    # The consolidation response names the same file; the worker response holds the
    # painting under crowd-semantic-segmentation.
    root = out_dir / second / "annotations"
    [resp] = list((root / "consolidated-annotation/consolidation-response/iteration-1").iterdir())
    [entry] = json.loads(resp.read_text())
    assert entry["consolidatedAnnotation"]["content"]["adjusted-ref"] == str(masks[second][0])
    [worker_file] = list((root / "worker-response/iteration-1/0").iterdir())
    [worker_answer] = json.loads(worker_file.read_text())["answers"]
    painted = worker_answer["answerContent"]["crowd-semantic-segmentation"]
    assert set(painted) >= {"labeledImage", "labelMappings", "inputImageProperties"}
    [req] = list((root / "consolidated-annotation/consolidation-request/iteration-1").iterdir())
    [req_entry] = json.loads(req.read_text())
    assert req_entry["dataObject"] == {"s3Uri": str(ws.settings.media_dir / "cat.png")}


def test_exports_write_each_jobs_masks_apart_and_chained_ones_point_at_the_real_file(
    ws_out: Workspace, out_dir: Path
):
    """The `export` run (not the output folder): it wrote every mask to one shared
    `annotations/consolidated-annotation/output/<item>.png`, so the adjustment job's
    export replaced the first job's mask, and a chained export named the earlier mask
    "label.png"."""
    from truthset.runs.service import enqueue

    ws = ws_out
    first, second = segmentation_and_adjustment(ws, str(out_dir))
    with ws.db.session_scope() as s:
        for job in (first, second):
            enqueue(s, "export", {"job": job, "out": str(out_dir / "exports" / f"{job}.manifest")})
    run_pending(ws.db, ws.settings, max_runs=2)
    exports = out_dir / "exports"
    masks = {
        job: list((exports / job / "annotations/consolidated-annotation/output").iterdir())
        for job in (first, second)
    }
    assert [len(masks[first]), len(masks[second])] == [1, 1]
    assert (_decoded(masks[first][0].read_bytes()) == _mask(0)).all()
    assert (_decoded(masks[second][0].read_bytes()) == _mask(6)).all()
    [line] = [json.loads(x) for x in (exports / f"{second}.manifest").read_text().splitlines()]
    assert line["masks-ref"] == str(masks[first][0]) != "label.png"
    assert line["adjusted-ref"] == str(masks[second][0])
    [first_line] = (exports / f"{first}.manifest").read_text().splitlines()
    assert json.loads(first_line)["masks-ref"] == str(masks[first][0])
    assert not (exports / "annotations").exists()


# -- the output path is checked when the job is created ---------------------------------------


def _create(ws: Workspace, name: str, output: Any) -> None:
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job

    with ws.db.session_scope() as s:
        create_job(
            s,
            JobCreate(
                name=name,
                task_type="text-classification",
                label_config=["a", "b"],
                dataset="checked",
                teams=["t"],
                settings={"output": output},
            ),
        )


@pytest.fixture
def ws_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out_dir: Path
) -> Iterator[Workspace]:
    workspace = workspace_with_roots(
        tmp_path, monkeypatch, [str(out_dir), str(tmp_path), "s3://allowed-bucket/teams"]
    )
    add_workers(workspace, "w1")
    job_over_items(workspace, "seed", [{"source": "x"}], ["a", "b"], dataset="checked")
    yield workspace
    workspace.close()


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (
            {"path": "/etc/truthset-out"},
            r"'/etc/truthset-out' is outside the server's allowed roots",
        ),
        ({"path": "out/relative"}, r"'out/relative' is a relative path; give an absolute folder"),
        ({"path": "{out}/../escape"}, r"must not contain '\.\.'"),
        ({"path": "{out}/a/../../b"}, r"must not contain '\.\.'"),
        ({"path": "{data}/media/out"}, r"is inside the workspace's data directory"),
        ({"path": "{data}"}, r"is inside the workspace's data directory"),
        (
            {"path": "s3://other-bucket/x/"},
            r"'s3://other-bucket/x/' is outside the server's allowed",
        ),
        ({"path": "s3://allowed-bucket/elsewhere"}, r"outside the server's allowed roots"),
        ({"path": "s3://allowed-bucket/teams/../x"}, r"must not contain '\.\.'"),
        ({"path": "s3://Bad_Bucket/x"}, r"'Bad_Bucket' is not an S3 bucket name"),
        ({"path": "https://example.com/out"}, r"only s3:// URIs and local folders"),
        ({"path": ""}, r"settings.output.path must be an s3:// URI or an absolute local folder"),
        ({"path": 7}, r"settings.output.path must be an s3:// URI"),
        ({"path": "{out}", "every": 5}, r"unknown keys every"),
        ({"path": "{out}", "interval": 0}, r"interval must be a number of seconds from 1"),
        ({"path": "{out}", "interval": True}, r"interval must be a number"),
        ("{out}", r"settings.output must be an object"),
    ],
)
def test_a_bad_output_path_is_refused_when_the_job_is_created(
    ws_checked: Workspace, out_dir: Path, output: Any, message: str
):
    from truthset.errors import BadInput

    def fill(v: Any) -> Any:
        if isinstance(v, str):
            return v.format(out=out_dir, data=ws_checked.settings.data_dir)
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        return v

    with pytest.raises(BadInput, match=message):
        _create(ws_checked, "refused", fill(output))
    with ws_checked.db.session_scope(write=False) as s:
        from truthset.errors import NotFound

        with pytest.raises(NotFound):
            get_job(s, "refused")


def test_good_output_paths_are_taken(ws_checked: Workspace, out_dir: Path):
    _create(ws_checked, "local-out", {"path": str(out_dir / "not-yet-made")})
    _create(ws_checked, "s3-out", {"path": "s3://allowed-bucket/teams/vision/", "interval": 30})
    _create(ws_checked, "s3-root", {"path": "s3://allowed-bucket/teams"})


def test_a_symlink_out_of_the_roots_is_refused(
    ws_checked: Workspace, out_dir: Path, tmp_path: Path
):
    from truthset.errors import BadInput

    elsewhere = Path(f"/tmp/truthset-outside-{uuid.uuid4().hex[:8]}")
    elsewhere.mkdir()
    try:
        (out_dir / "link").symlink_to(elsewhere)
        with pytest.raises(BadInput, match="outside the server's allowed roots"):
            _create(ws_checked, "linked", {"path": str(out_dir / "link")})
    finally:
        elsewhere.rmdir()


def test_the_api_refuses_a_bad_output_path_with_the_error_body(ws_checked: Workspace):
    from fastapi.testclient import TestClient

    from support import bearer
    from truthset.api.tokens import issue_token
    from truthset.server.app import create_app

    with ws_checked.db.session_scope() as s:
        token = issue_token(s, create_user(s, "boss", role="admin"))
    body = {
        "name": "api-out",
        "task_type": "text-classification",
        "label_config": ["a", "b"],
        "dataset": "checked",
        "settings": {"output": {"path": "/etc"}},
    }
    with TestClient(create_app(ws_checked)) as c:
        r = c.post("/api/jobs", json=body, headers=bearer(token))
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_input"
    assert "settings.output.path '/etc' is outside the server's allowed roots" in r.json()["detail"]


def test_changing_a_jobs_settings_checks_the_output_path(ws_checked: Workspace, out_dir: Path):
    from truthset.errors import BadInput
    from truthset.jobs.service import update_job

    with ws_checked.db.session_scope() as s:
        job = get_job(s, "seed")
        with pytest.raises(BadInput, match="is a relative path"):
            update_job(s, job, {"settings": {"output": {"path": "rel"}}})
        update_job(s, job, {"settings": {"output": {"path": str(out_dir)}}})


# -- PostgreSQL ----------------------------------------------------------------------------


def test_the_output_folder_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out_dir: Path, pg_url: str
):
    ws = workspace_with_roots(tmp_path, monkeypatch, [str(out_dir)], pg_url)
    try:
        first, second = segmentation_and_adjustment(ws, str(out_dir))
        job = sentiment_job_pg(ws, str(out_dir))
        answer_tasks(ws, job, "w1", answer)
        answer_tasks(ws, job, "w2", answer)
        assert sorted(schedule(ws)) == sorted([first, second, job])
        run_pending(ws.db, ws.settings)
        for name in (first, second, job):
            runs = output_runs_of(ws, name)
            assert [r.state for r in runs] == ["succeeded"], (name, runs[0].error)
        check_layout(
            job,
            lambda rel: (out_dir / rel).read_bytes(),
            [n for n in files_under(out_dir) if n.startswith(f"{job}/")],
            export_bytes(ws, job),
        )
        [line] = (out_dir / second / "manifests/output/output.manifest").read_text().splitlines()
        [mask] = list((out_dir / first / "annotations/consolidated-annotation/output").iterdir())
        assert json.loads(line)["masks-ref"] == str(mask)
    finally:
        ws.close()


def sentiment_job_pg(ws: Workspace, path: str) -> str:
    # The workers exist already (segmentation_and_adjustment made them).
    return job_over_items(
        ws,
        "find-people",
        [{"source": t} for t in TEXTS],
        ["negative", "positive"],
        workers_per_item=2,
        settings={"output": {"path": path}},
    )
