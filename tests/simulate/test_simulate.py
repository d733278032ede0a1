"""`truthset simulate`: simulated workers drive a job over the real HTTP API."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from support import write_manifest
from truthset.cli.main import app

runner = CliRunner()


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def prepare(tmp_path, n=30):
    data = tmp_path / "data"
    items = [{"id": f"t{i}", "source": f"tweet {i}"} for i in range(n)]
    manifest = write_manifest(tmp_path / "in.manifest", items)
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"labels": [{"label": "a"}, {"label": "b"}, {"label": "c"}]}))
    assert (
        runner.invoke(
            app, ["dataset", "import", "d", str(manifest), "--data-dir", str(data)]
        ).exit_code
        == 0
    )
    r = runner.invoke(
        app,
        [
            "job",
            "create",
            "sim",
            "--dataset",
            "d",
            "--task-type",
            "text-classification",
            "--labels",
            str(labels),
            "--workers-per-item",
            "3",
            "--data-dir",
            str(data),
        ],
    )
    assert r.exit_code == 0, r.output
    truth = write_csv(
        tmp_path / "truth.csv", ["task", "label"], [(f"t{i}", "abc"[i % 3]) for i in range(n)]
    )
    return data, truth


def test_synthetic_workers_label_the_job(tmp_path):
    data, truth = prepare(tmp_path)
    r = runner.invoke(
        app,
        [
            "simulate",
            "sim",
            "--truth",
            str(truth),
            "--workers",
            "5",
            "--worker-accuracy",
            "1.0",
            "--concurrency",
            "4",
            "--data-dir",
            str(data),
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["answers"] == 90 and out["errors"] == 0
    assert out["state"] == "completed" and out["counters"]["human_labeled"] == 30
    assert out["accuracy_on_gold"] == 1.0


def test_replayed_answers_and_bad_input(tmp_path):
    data, truth = prepare(tmp_path, n=6)
    answers = write_csv(
        tmp_path / "answers.csv",
        ["task", "worker", "label"],
        [(f"t{i}", f"r{w}", "abc"[i % 3]) for i in range(6) for w in range(3)],
    )
    r = runner.invoke(
        app,
        [
            "simulate",
            "sim",
            "--answers",
            str(answers),
            "--gold",
            str(truth),
            "--data-dir",
            str(data),
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["workers"] == 3 and out["answers"] == 18 and out["accuracy_on_gold"] == 1.0
    bad = write_csv(tmp_path / "bad.csv", ["task", "who", "label"], [("t0", "x", "a")])
    r = runner.invoke(app, ["simulate", "sim", "--answers", str(bad), "--data-dir", str(data)])
    assert r.exit_code == 2 and "missing column(s) worker" in r.stderr
