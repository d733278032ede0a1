"""The label-file rule: a task type with `label_file_name` has its label written to
`<job>/annotations/consolidated-annotation/output/<datasetObjectId>/<name>` and the `-ref`
attribute set to it, in the export run's folder, the zip and the job's output folder; an
adjustment job chained on it writes both jobs' files. The type here is a plugin, registered
the way third-party task types are (`register_task_type`); tests/exports/test_video.py
runs the rule on the built-in video types."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from support import answer_tasks, job_over_items
from truthset.cli.main import app
from truthset.errors import BadInput
from truthset.exports.output_writer import write_output
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import create_job
from truthset.tasktypes.classification import SingleLabelClassification
from truthset.tasktypes.registry import TASK_TYPES, register_task_type
from truthset.workforce.service import create_team, create_user


@dataclasses.dataclass(frozen=True)
class FiledClassification(SingleLabelClassification):
    """A text classification whose label Ground Truth-style output puts in a file."""

    label_file_name: ClassVar[str] = "Label.json"


@pytest.fixture
def filed_type():
    task_type = FiledClassification(
        name="filed-classification", media="text", output_type="test/filed-classification"
    )
    register_task_type(task_type)
    yield task_type
    TASK_TYPES._entries.pop(task_type.name, None)  # noqa: SLF001 - undo the registration


def make_job(ws, name="filed", **spec):
    with ws.db.session_scope() as s:
        create_team(s, "t")
        create_user(s, "w", role="worker", teams=["t"])
    items = [{"id": f"i{i}", "source": f"text {i}"} for i in range(3)]
    job_over_items(
        ws,
        name,
        items,
        ["a", "b"],
        task_type="filed-classification",
        label_attribute=f"{name}-ref",
        **spec,
    )
    answer_tasks(ws, name, "w", lambda item: {"label": "b" if item == "i1" else "a"})
    return name


def test_the_label_attribute_must_end_in_ref(ws, filed_type):
    with ws.db.session_scope() as s:
        create_team(s, "t")
    job_over_items(ws, "x", [{"source": "t"}], ["a", "b"], task_type="text-classification")
    with (
        ws.db.session_scope() as s,
        pytest.raises(BadInput, match="must end with '-ref' for filed-classification"),
    ):
        create_job(
            s,
            JobCreate(
                name="y",
                task_type="filed-classification",
                label_config=["a", "b"],
                dataset="x-items",
                teams=["t"],
            ),
        )


def run_export(ws, job, out: Path) -> dict[str, Any]:
    result = CliRunner().invoke(
        app, ["export", job, "--out", str(out), "--data-dir", str(ws.settings.data_dir)]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_export_run_writes_each_label_as_its_file(ws, tmp_path, filed_type):
    make_job(ws)
    run_export(ws, "filed", tmp_path / "out" / "output.manifest")
    lines = [json.loads(x) for x in (tmp_path / "out" / "output.manifest").read_text().splitlines()]
    for pos, line in enumerate(lines):
        ref = line["filed-ref"]
        assert ref == str(
            tmp_path
            / "out"
            / "filed"
            / f"annotations/consolidated-annotation/output/{pos}/Label.json"
        )
        assert json.loads(Path(ref).read_bytes()) == (1 if pos == 1 else 0)
        meta = line["filed-ref-metadata"]
        assert (
            meta["type"] == "test/filed-classification" and meta["job-name"] == "labeling-job/filed"
        )
        assert meta["class-name"] == ("b" if pos == 1 else "a")


def test_without_a_destination_the_export_is_the_zip(ws, filed_type):
    make_job(ws)
    result = CliRunner().invoke(app, ["export", "filed", "--data-dir", str(ws.settings.data_dir)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["format"] == "groundtruth-zip" and out["out"].endswith(".zip")
    names = zipfile.ZipFile(out["out"]).namelist()
    assert "filed/annotations/consolidated-annotation/output/2/Label.json" in names


def test_zip_carries_the_files_by_relative_path(ws, filed_type):
    from exports.mask_jobs import export

    make_job(ws)
    _n, body = export(ws, "filed", "groundtruth-zip")
    archive = zipfile.ZipFile(io.BytesIO(body))
    lines = [json.loads(x) for x in archive.read("output.manifest").decode().splitlines()]
    for pos, line in enumerate(lines):
        assert (
            line["filed-ref"]
            == f"filed/annotations/consolidated-annotation/output/{pos}/Label.json"
        )
        assert json.loads(archive.read(line["filed-ref"])) == (1 if pos == 1 else 0)


def test_a_chained_job_writes_both_jobs_files(ws, tmp_path, filed_type):
    make_job(ws)
    with ws.db.session_scope() as s:
        create_job(
            s,
            JobCreate(
                name="again",
                task_type="filed-classification",
                label_config=["a", "b"],
                input_job="filed",
                label_attribute="again-ref",
                teams=["t"],
            ),
        )
    answer_tasks(ws, "again", "w", lambda item: {"label": "b"})
    run_export(ws, "again", tmp_path / "out" / "output.manifest")
    lines = [json.loads(x) for x in (tmp_path / "out" / "output.manifest").read_text().splitlines()]
    assert len(lines) == 3
    for pos, line in enumerate(lines):
        first, second = Path(line["filed-ref"]), Path(line["again-ref"])
        assert (
            first
            == tmp_path
            / "out"
            / "filed"
            / f"annotations/consolidated-annotation/output/{pos}/Label.json"
        )
        assert (
            second
            == tmp_path
            / "out"
            / "again"
            / f"annotations/consolidated-annotation/output/{pos}/Label.json"
        )
        assert json.loads(first.read_bytes()) == (1 if pos == 1 else 0)
        assert json.loads(second.read_bytes()) == 1


def test_the_output_folder_holds_the_files_and_the_consolidation_response_points_at_them(
    ws_out, out_dir, filed_type
):
    ws, folder = ws_out, out_dir
    make_job(ws, settings={"output": {"path": str(folder)}})
    with ws.db.session_scope() as s:
        from truthset.jobs.service import get_job

        get_job(s, "filed").state = "completed"
    result = write_output(ws.db, ws.settings, "filed", now=10**10)
    assert result["lines"] == 3, result
    lines = [
        json.loads(x)
        for x in (folder / "filed/manifests/output/output.manifest").read_text().splitlines()
    ]
    for pos, line in enumerate(lines):
        path = folder / "filed" / f"annotations/consolidated-annotation/output/{pos}/Label.json"
        assert line["filed-ref"] == str(path)
        assert json.loads(path.read_bytes()) == (1 if pos == 1 else 0)
    responses = list(
        (folder / "filed/annotations/consolidated-annotation/consolidation-response").rglob(
            "*.json"
        )
    )
    assert len(responses) == 1
    entries = json.loads(responses[0].read_bytes())
    refs = {
        e["datasetObjectId"]: e["consolidatedAnnotation"]["content"]["filed-ref"] for e in entries
    }
    assert refs == {
        str(p): str(folder / "filed" / f"annotations/consolidated-annotation/output/{p}/Label.json")
        for p in range(3)
    }


def test_an_export_to_s3_writes_the_files_beside_the_manifest(ws, bucket, filed_type):
    from truthset.media.storage import s3_client

    make_job(ws)
    run_export_to = f"s3://{bucket}/out/output.manifest"
    result = CliRunner().invoke(
        app, ["export", "filed", "--out", run_export_to, "--data-dir", str(ws.settings.data_dir)]
    )
    assert result.exit_code == 0, result.output
    s3 = s3_client()
    body = s3.get_object(Bucket=bucket, Key="out/output.manifest")["Body"].read()
    lines = [json.loads(x) for x in body.decode().splitlines()]
    for pos, line in enumerate(lines):
        key = f"out/filed/annotations/consolidated-annotation/output/{pos}/Label.json"
        assert line["filed-ref"] == f"s3://{bucket}/{key}"
        label = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        assert label == (1 if pos == 1 else 0)


def test_a_later_output_run_writes_only_newer_or_missing_label_files(
    ws_out, out_dir, filed_type, monkeypatch
):
    import time

    from exports.conftest import schedule
    from truthset.exports import output_writer
    from truthset.runs.executor import run_pending

    monkeypatch.setattr(output_writer, "SETTLE_SECONDS", 0.0)
    ws = ws_out
    with ws.db.session_scope() as s:
        create_team(s, "t")
        create_user(s, "w", role="worker", teams=["t"])
    items = [{"id": f"i{i}", "source": f"text {i}"} for i in range(3)]
    job_over_items(
        ws,
        "filed",
        items,
        ["a", "b"],
        task_type="filed-classification",
        label_attribute="filed-ref",
        settings={"output": {"path": str(out_dir), "interval": 60}},
    )
    t0 = time.time()
    answer_tasks(ws, "filed", "w", lambda item: {"label": "b"}, limit=2)
    assert schedule(ws, now=t0 + 100) == ["filed"]
    run_pending(ws.db, ws.settings)
    root = out_dir / "filed"
    assert (root / "manifests/intermediate/1/output.manifest").exists()
    folder = root / "annotations/consolidated-annotation/output"
    assert sorted(p.name for p in folder.iterdir()) == ["0", "1"]
    (folder / "0" / "Label.json").write_text("kept: not written again")
    (folder / "1" / "Label.json").unlink()
    time.sleep(0.01)
    answer_tasks(ws, "filed", "w", lambda item: {"label": "a"})
    assert schedule(ws, now=t0 + 3000) == ["filed"]
    run_pending(ws.db, ws.settings)
    # Every task answered: the job is complete, and this is its final manifest.
    assert (root / "manifests/output/output.manifest").exists()
    assert (folder / "0" / "Label.json").read_text() == "kept: not written again"
    assert json.loads((folder / "1" / "Label.json").read_text()) == 1  # missing: written
    assert json.loads((folder / "2" / "Label.json").read_text()) == 0  # newer: written
