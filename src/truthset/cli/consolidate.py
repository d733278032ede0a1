"""``truthset consolidate``: answers CSV in, one label and confidence per task out.

ANSWERS.csv has the columns ``task,worker,label`` and GOLD.csv ``task,label``; every value
is a string (ids like ``1`` and labels like ``0`` are identifiers, not numbers). Repeated
answers by one worker to one task are all kept, as the source data does: each row is a
judgement the worker made (see docs/quality-aggregation.md).
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from truthset.cli.common import handle_errors

# The method names, without importing numpy and scipy when the CLI starts (checked against
# the registry by tests/cli/test_consolidate.py).
METHODS = ("mv", "wawa", "ds", "gt-mds", "onecoin", "glad", "mace", "zbs", "bcc", "auto")

ANSWER_COLUMNS = ("task", "worker", "label")
GOLD_COLUMNS = ("task", "label")


class ConsolidateInputError(ValueError):
    """Bad input: the message names the file, line, field and value."""


def read_csv_columns(path: Path, columns: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    """Rows as (line number, values of ``columns``), checked for presence and emptiness."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ConsolidateInputError(f"{path}: cannot read: {exc.strerror}") from exc
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ConsolidateInputError(f"{path}: the file is empty (expected a header row)")
        header = [h.strip() for h in header]
        missing = [c for c in columns if c not in header]
        if missing:
            raise ConsolidateInputError(
                f"{path}:1: missing column {missing[0]!r} (header is {','.join(header)}; "
                f"expected {','.join(columns)})"
            )
        index = [header.index(c) for c in columns]
        rows = []
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            if len(row) != len(header):
                raise ConsolidateInputError(
                    f"{path}:{line}: expected {len(header)} fields, got {len(row)}"
                )
            values = [row[i] for i in index]
            for name, value in zip(columns, values, strict=True):
                if value == "":
                    raise ConsolidateInputError(f"{path}:{line}: field {name!r} is empty")
            rows.append((line, values))
    if not rows:
        raise ConsolidateInputError(f"{path}: no rows after the header")
    return rows


def read_gold(path: Path, known_labels: set[str]) -> dict[str, str]:
    gold: dict[str, str] = {}
    for line, (task, label) in read_csv_columns(path, GOLD_COLUMNS):
        if label not in known_labels:
            raise ConsolidateInputError(
                f"{path}:{line}: field 'label' value {label!r} (task {task!r}) never "
                "appears in the answers"
            )
        if gold.setdefault(task, label) != label:
            raise ConsolidateInputError(
                f"{path}:{line}: task {task!r} has two gold labels, {gold[task]!r} and {label!r}"
            )
    return gold


def consolidate_command(
    answers: Path, out: Path, method: str = "auto", gold: Path | None = None
) -> dict[str, object]:
    """Consolidate ``answers`` into ``out`` (``task,label,confidence``); return a summary.

    Raises :class:`ConsolidateInputError` on bad input; ``out`` is then left untouched.
    """
    from truthset.consensus.aggregation import AGGREGATORS, aggregate

    if method not in AGGREGATORS:
        raise ConsolidateInputError(
            f"--method: unknown method {method!r}; choose from {', '.join(AGGREGATORS)}"
        )
    rows = read_csv_columns(Path(answers), ANSWER_COLUMNS)
    tasks = [values[0] for _, values in rows]
    workers = [values[1] for _, values in rows]
    labels = [values[2] for _, values in rows]
    gold_labels = read_gold(Path(gold), set(labels)) if gold is not None else None
    result = aggregate(tasks, workers, labels, method=method, gold=gold_labels)
    _write_atomically(
        Path(out),
        [
            (task, label, f"{conf:.2f}")
            for task, label, conf in zip(
                result.task_ids, result.labels, result.confidences, strict=True
            )
        ],
    )
    summary: dict[str, object] = {
        "method": result.method,
        "answers": len(rows),
        "tasks": len(result.task_ids),
        "workers": len(result.worker_skills),
        "out": str(out),
    }
    if gold_labels is not None:
        summary["gold_tasks"] = result.details.get("gold_tasks", 0)
        summary["gold_accuracy"] = result.details.get("gold_accuracy")
    return summary


def _write_atomically(out: Path, rows: list[tuple[str, str, str]]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["task", "label", "confidence"])
            writer.writerows(rows)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def register(app: typer.Typer) -> None:
    """Add ``truthset consolidate`` to the main command."""

    @app.command("consolidate")
    @handle_errors
    def consolidate(
        answers: Annotated[Path, typer.Argument(help="CSV with columns task,worker,label")],
        out: Annotated[Path, typer.Option("--out", help="Where to write task,label,confidence")],
        method: Annotated[
            str, typer.Option("--method", help=f"One of: {', '.join(METHODS)}")
        ] = "auto",
        gold: Annotated[
            Path | None, typer.Option("--gold", help="CSV with columns task,label")
        ] = None,
    ) -> None:
        """Consolidate several workers' classification answers into one label per task."""
        try:
            summary = consolidate_command(answers, out, method=method, gold=gold)
        except ConsolidateInputError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        typer.echo(
            f"method: {summary['method']}; {summary['tasks']:,} tasks from "
            f"{summary['answers']:,} answers; wrote {summary['out']}"
        )
        if "gold_accuracy" in summary:
            accuracy = summary["gold_accuracy"]
            shown = "n/a" if accuracy is None else f"{accuracy:.4f}"
            note = "; auto also used them to choose" if method == "auto" else ""
            typer.echo(
                f"accuracy on gold: {shown} ({summary['gold_tasks']} gold tasks answered{note})"
            )
