"""The `truthset` command end to end, as a user types it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from support import write_manifest
from truthset.cli.main import app

runner = CliRunner()


def cli(*args: str, data_dir) -> object:
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)])


def test_import_create_export_round_trip(tmp_path):
    data = tmp_path / "data"
    manifest = write_manifest(
        tmp_path / "in.manifest", [{"id": f"t{i}", "source": f"tweet {i}"} for i in range(3)]
    )
    labels = tmp_path / "labels.json"
    labels.write_text(
        json.dumps(
            {"document-version": "2018-11-28", "labels": [{"label": "sunny"}, {"label": "rainy"}]}
        )
    )
    r = cli("dataset", "import", "tweets", str(manifest), data_dir=data)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["added"] == 3
    r = cli("user", "add", "ann", "--role", "worker", "--team", "crew", data_dir=data)
    assert r.exit_code == 0 and "created worker ann" in r.output
    r = cli("user", "token", "ann", data_dir=data)
    assert r.exit_code == 0 and r.stdout.strip().startswith("ts_")
    r = cli(
        "job",
        "create",
        "weather",
        "--dataset",
        "tweets",
        "--task-type",
        "text-classification",
        "--labels",
        str(labels),
        "--workers-per-item",
        "1",
        "--team",
        "crew",
        data_dir=data,
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["counters"]["total"] == 3
    out = tmp_path / "out.manifest"
    r = cli("export", "weather", "--format", "groundtruth", "--out", str(out), data_dir=data)
    assert r.exit_code == 0, r.output
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["t0", "t1", "t2"]
    r = cli("run", "list", data_dir=data)
    assert "export" in r.stdout and "succeeded" in r.stdout


def test_bad_manifest_exits_2_and_names_the_lines(tmp_path):
    manifest = write_manifest(
        tmp_path / "bad.manifest", ['{"source": "ok"}', "{nope", '{"$x": 1, "source": "y"}']
    )
    r = cli("dataset", "import", "d", str(manifest), data_dir=tmp_path / "data")
    assert r.exit_code == 2
    assert "line 2: not valid JSON" in r.stderr
    assert "line 3: key '$x' starts with '$'" in r.stderr
    r = cli("dataset", "list", data_dir=tmp_path / "data")
    assert json.loads(r.stdout) == []


def test_job_create_errors_are_clear(tmp_path):
    labels = tmp_path / "labels.json"
    labels.write_text("{broken")
    r = cli(
        "job",
        "create",
        "j",
        "--dataset",
        "nope",
        "--task-type",
        "text-classification",
        "--labels",
        str(labels),
        data_dir=tmp_path / "data",
    )
    assert r.exit_code == 2 and "is not valid JSON" in r.stderr


def test_database_url_option_selects_the_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    r = runner.invoke(app, ["migrate", "--data-dir", str(tmp_path / "d"), "--database-url", url])
    assert r.exit_code == 0
    assert (tmp_path / "elsewhere.db").exists()


def test_auto_label_flags_merge_with_a_settings_file(tmp_path):
    data = tmp_path / "data"
    manifest = write_manifest(tmp_path / "in.manifest", [{"source": f"t {i}"} for i in range(5)])
    assert cli("dataset", "import", "d", str(manifest), data_dir=data).exit_code == 0
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"auto_label": {"batch_size": 60, "features": "tfidf"}}))
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps(["a", "b"]))
    r = cli(
        "job",
        "create",
        "j",
        "--dataset",
        "d",
        "--task-type",
        "text-classification",
        "--labels",
        str(labels),
        "--auto-label",
        "--target-accuracy",
        "0.9",
        "--settings",
        str(settings),
        data_dir=data,
    )
    assert r.exit_code == 0, r.output
    auto = json.loads(r.stdout)["settings"]["auto_label"]
    assert auto["batch_size"] == 60 and auto["features"] == "tfidf"
    assert auto["target_accuracy"] == 0.9 and auto["strategy"] == "margin"


def test_job_labels_from_s3_and_a_missing_s3_manifest_is_a_clear_error(tmp_path):
    import os
    import uuid

    from conftest import require
    from truthset.media.storage import s3_client

    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    s3 = s3_client()
    s3.create_bucket(Bucket=bucket)
    config = {"document-version": "2018-11-28", "labels": [{"label": "a"}, {"label": "b"}]}
    s3.put_object(Bucket=bucket, Key="labels.json", Body=json.dumps(config).encode())
    data = tmp_path / "data"
    manifest = write_manifest(tmp_path / "in.manifest", [{"source": "one"}, {"source": "two"}])
    assert cli("dataset", "import", "d", str(manifest), data_dir=data).exit_code == 0
    r = cli(
        "job", "create", "j", "--task-type", "text-classification", "--dataset", "d",
        "--labels", f"s3://{bucket}/labels.json", data_dir=data,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["counters"]["total"] == 2
    r = cli("dataset", "import", "e", f"s3://{bucket}/missing.manifest", data_dir=data)
    assert r.exit_code == 2 and "cannot be read" in r.output
