"""`truthset job import-ground-truth` as a migrating team types it: the job folder in,
then consolidated again and exported with the commands that exist."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from gt_job_folders import ANIMALS, IMAGE_BUCKET, WORKERS, classification_job, label_file
from truthset.cli.main import app

runner = CliRunner()


def cli(*args: str, data_dir) -> object:
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)])


def test_import_consolidate_and_export_a_ground_truth_job(tmp_path):
    data = tmp_path / "data"
    job = classification_job()
    rel = next(r for r in job.files if "/iteration-1/4/" in r)
    doc = json.loads(job.files[rel])
    doc["answers"][1]["answerContent"] = {"crowd-image-classifier": {"label": "unicorn"}}
    job.files[rel] = json.dumps(doc).encode()
    folder = job.write_local(tmp_path / "gt-output")
    labels = tmp_path / "animals.json"
    labels.write_text(json.dumps(label_file(ANIMALS)))

    r = cli(
        "job",
        "import-ground-truth",
        str(folder),
        "--labels",
        str(labels),
        "--allow-root",
        IMAGE_BUCKET,
        data_dir=data,
    )
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["job"] == "animals-2020" and summary["answers"] == 89
    assert "30 items, 30 labels, 3 workers (3 new accounts), 89 answers" in r.stderr
    assert f"skipped: {folder}/{rel}: worker {doc['answers'][1]['workerId']}:" in r.stderr
    assert "'unicorn' is not one of the job's labels" in r.stderr
    assert "truthset job consolidate animals-2020 --method auto" in r.stderr

    r = cli("job", "consolidate", "animals-2020", "--method", "auto", data_dir=data)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["tasks"] == 30
    r = cli("job", "agreement", "animals-2020", data_dir=data)
    assert r.exit_code == 0 and json.loads(r.stdout)["answers"] == 89
    out = tmp_path / "out.manifest"
    r = cli("export", "animals-2020", "--out", str(out), data_dir=data)
    assert r.exit_code == 0, r.output
    assert len(out.read_text().splitlines()) == 30
    r = cli("user", "list", data_dir=data)
    for worker in WORKERS:
        assert any(
            line.split()[:3] == [worker, "worker", "disabled"] for line in r.stdout.splitlines()
        )

    # The same folder again: refused, nothing changed.
    again = ("--labels", str(labels), "--allow-root", IMAGE_BUCKET)
    r = cli("job", "import-ground-truth", str(folder), *again, data_dir=data)
    assert r.exit_code == 2 and "already holds 89 answers" in r.stderr


def test_a_folder_that_is_not_a_job_is_refused_naming_the_file(tmp_path):
    empty = tmp_path / "not-a-job"
    empty.mkdir()
    r = cli("job", "import-ground-truth", str(empty), data_dir=tmp_path / "data")
    assert r.exit_code == 2
    assert f"{empty}/manifests/output/output.manifest does not exist" in r.stderr
