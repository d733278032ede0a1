"""`truthset job create --from-ground-truth REQUEST.json`, as a migrating team runs it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from sagemaker.gt_requests import label_file, request
from support import write_manifest
from truthset.cli.main import app

runner = CliRunner()


def cli(*args: str, data_dir) -> object:
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)])


def test_create_from_a_ground_truth_request_file(tmp_path):
    data = tmp_path / "data"
    folder = tmp_path / "job"
    write_manifest(folder / "in.manifest", [{"source": f"review {i}"} for i in range(5)])
    (folder / "labels.json").write_text(json.dumps(label_file("good", "bad")))
    body = request(
        "reviews",
        "TextMultiClass",
        manifest="in.manifest",  # relative to the request file
        labels="labels.json",
        output=str(tmp_path / "out"),
    )
    (folder / "request.json").write_text(json.dumps(body))
    assert cli("team", "add", "crew", data_dir=data).exit_code == 0
    r = cli(
        "job",
        "create",
        "--from-ground-truth",
        str(folder / "request.json"),
        "--allow-root",
        str(tmp_path),
        data_dir=data,
    )
    assert r.exit_code == 0, r.output
    shown = json.loads(r.stdout)
    assert shown["job"]["name"] == "reviews" and shown["job"]["task_type"] == "text-classification"
    assert shown["import"]["added"] == 5
    assert any(w.startswith("HumanTaskConfig.UiConfig") for w in shown["warnings"])

    r = cli(
        "job",
        "create",
        "--from-ground-truth",
        str(folder / "request.json"),
        "--workers-per-item",
        "2",
        data_dir=data,
    )
    assert r.exit_code == 2 and "--workers-per-item cannot be given with it" in r.output
    r = cli("job", "create", "x", data_dir=data)
    assert r.exit_code == 2 and "--from-ground-truth" in r.output
