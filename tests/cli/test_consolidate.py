"""`truthset consolidate`: happy path and every kind of bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from truthset.cli.consolidate import (
    ConsolidateInputError,
    consolidate_command,
    register,
)

ANSWERS = """task,worker,label
t1,w1,cat
t1,w2,cat
t1,w3,dog
t2,w1,dog
t2,w2,dog
t2,w3,dog
t3,w1,cat
t3,w2,bird
t3,w3,cat
"""


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)

    @application.command("noop")
    def noop() -> None:  # a second command keeps typer from flattening "consolidate"
        pass

    return application


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_writes_one_label_and_confidence_per_task(tmp_path, app):
    answers = write(tmp_path, "answers.csv", ANSWERS)
    out = tmp_path / "labels.csv"
    result = CliRunner().invoke(
        app, ["consolidate", str(answers), "--method", "mv", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "method: mv" in result.output
    rows = read_rows(out)
    assert [r["task"] for r in rows] == ["t1", "t2", "t3"]
    assert [r["label"] for r in rows] == ["cat", "dog", "cat"]
    assert [r["confidence"] for r in rows] == ["0.67", "1.00", "0.67"]


def test_auto_with_gold_prints_method_and_accuracy(tmp_path, app):
    answers = write(tmp_path, "answers.csv", ANSWERS)
    gold = write(tmp_path, "gold.csv", "task,label\nt1,cat\nt2,cat\nt9,dog\n")
    out = tmp_path / "labels.csv"
    result = CliRunner().invoke(
        app, ["consolidate", str(answers), "--gold", str(gold), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "method: " in result.output
    assert "accuracy on gold: 0.5000 (2 gold tasks answered; auto also used them" in result.output


def test_consolidate_command_returns_a_summary(tmp_path):
    answers = write(tmp_path, "answers.csv", ANSWERS)
    summary = consolidate_command(answers, tmp_path / "out" / "labels.csv", method="ds")
    assert summary["method"] == "ds"
    assert summary["tasks"] == 3 and summary["answers"] == 9 and summary["workers"] == 3


@pytest.mark.parametrize(
    ("answers_text", "gold_text", "method", "message"),
    [
        ("task,worker\nt1,w1\n", None, "auto", "answers.csv:1: missing column 'label'"),
        ("", None, "auto", "answers.csv: the file is empty"),
        ("task,worker,label\n", None, "auto", "answers.csv: no rows after the header"),
        (
            "task,worker,label\nt1,w1,cat\nt1,,cat\n",
            None,
            "auto",
            "answers.csv:3: field 'worker' is empty",
        ),
        (
            "task,worker,label\nt1,w1,cat,extra\n",
            None,
            "auto",
            "answers.csv:2: expected 3 fields, got 4",
        ),
        (ANSWERS, None, "best", "unknown method 'best'"),
        (
            ANSWERS,
            "task,label\nt1,cat\nt2,fish\n",
            "auto",
            "gold.csv:3: field 'label' value 'fish' (task 't2') never appears in the answers",
        ),
        (ANSWERS, "task,label\nt1,cat\nt1,dog\n", "auto", "task 't1' has two gold labels"),
        (ANSWERS, "label\ncat\n", "auto", "gold.csv:1: missing column 'task'"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    tmp_path, app, answers_text, gold_text, method, message
):
    answers = write(tmp_path, "answers.csv", answers_text)
    out = tmp_path / "labels.csv"
    out.write_text("previous run\n")
    args = ["consolidate", str(answers), "--method", method, "--out", str(out)]
    if gold_text is not None:
        args += ["--gold", str(write(tmp_path, "gold.csv", gold_text))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert out.read_text() == "previous run\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".labels")] == []
    with pytest.raises(ConsolidateInputError, match="error|column|empty|rows|field|method|gold"):
        consolidate_command(
            answers,
            out,
            method=method,
            gold=tmp_path / "gold.csv" if gold_text is not None else None,
        )


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConsolidateInputError, match="cannot read"):
        consolidate_command(tmp_path / "nope.csv", tmp_path / "out.csv")


def test_cli_method_names_match_the_registry():
    from truthset.cli.consolidate import METHODS
    from truthset.consensus.aggregation import AGGREGATORS

    assert set(METHODS) == set(AGGREGATORS)
