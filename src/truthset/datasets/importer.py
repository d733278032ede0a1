"""Importing items into a dataset: validate every line, dedupe by content hash, and write
all or nothing.

One pass over the source inside one transaction: lines are checked as they stream by and
inserted in batches; when any line is bad (and `skip_invalid` is off) the transaction is
rolled back at the end, so nothing is written, and every bad line is reported with its
number and reason.

Its queries are in `truthset.datasets.repository`, the batch insert among them (raw SQL:
the import's hot path, see `repository.insert_items`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from truthset.datasets import repository
from truthset.datasets.checking import (
    CheckedBatch,
    checked_batches,
    checked_batches_in_child,
)
from truthset.datasets.service import create_dataset
from truthset.datasets.sources import SourceSpec, detect_source, iter_records
from truthset.errors import BadInput
from truthset.media.storage import AllowedRoots

# How many bad lines an error message lists; the report file (skip_invalid) has them all.
MAX_LISTED_ERRORS = 100
# A local source at least this large is checked in a child process while this one
# inserts (a process start costs ~0.1 s; a 16 MB manifest takes ~1.5 s to import).
CHILD_FROM_BYTES = 16 << 20


@dataclass
class ImportResult:
    dataset: str
    added: int
    duplicates: int
    invalid: int
    lines: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    report_path: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "added": self.added,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "lines": self.lines,
            "errors": self.errors[:MAX_LISTED_ERRORS],
            "report_path": self.report_path,
            "seconds": round(self.seconds, 3),
        }


def _flush_batch(
    session: Session,
    rows: list[tuple[Any, ...]],
    line_nos: list[int],
    errors: list[dict[str, Any]],
    report: Any,
) -> int:
    """Insert a batch; returns how many lines were refused. A duplicate id (same id, other
    content) fails the batch, which is then retried row by row to name the line."""
    if not rows:
        return 0
    try:
        if session.get_bind().dialect.name == "sqlite":
            # No savepoint: a failing executemany keeps the rows before the bad one, which
            # the retry below skips by content hash; a savepoint around every batch made a
            # 1,000,000-line import ~20% slower (SQLite journals the savepoint's pages).
            repository.insert_items(session, rows)
        else:
            # PostgreSQL aborts the transaction on a failed statement: only a savepoint
            # lets the retry go on.
            with session.begin_nested():
                repository.insert_items(session, rows)
        return 0
    except IntegrityError:
        pass
    refused = 0
    for row, line_no in zip(rows, line_nos, strict=True):
        try:
            with session.begin_nested():
                repository.insert_items(session, [row])
        except IntegrityError:
            refused += 1
            err = {"line": line_no, "reason": f"id {row[1]!r} is already used by another item"}
            errors.append(err)
            if report is not None:
                report.write(orjson.dumps(err) + b"\n")
    return refused


def _import_batches(
    session: Session, dataset_name: str, batches: Iterable[CheckedBatch], **kw: Any
) -> ImportResult:
    """Import inside a savepoint: when any line is refused, everything this import wrote
    is rolled back here, whatever the caller then does with its transaction."""
    savepoint = session.begin_nested()
    try:
        result = _import_records(session, dataset_name, batches, **kw)
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return result


def _import_records(
    session: Session,
    dataset_name: str,
    batches: Iterable[CheckedBatch],
    *,
    skip_invalid: bool = False,
    report_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    now: float | None = None,
) -> ImportResult:
    started = time.perf_counter()
    now = time.time() if now is None else now
    dataset = repository.dataset_named(session, dataset_name)
    if dataset is None:
        dataset = create_dataset(session, dataset_name, now=now)
    before = repository.item_count(session, dataset.id)
    next_pos = repository.next_item_position(session, dataset.id)

    errors: list[dict[str, Any]] = []
    n_invalid = 0
    lines = 0
    report = open(report_path, "wb") if (report_path and skip_invalid) else None  # noqa: SIM115
    dataset_id = dataset.id
    try:
        for batch in batches:
            lines += batch.lines
            for line_no, reason in batch.invalid:
                n_invalid += 1
                err = {"line": line_no, "reason": reason}
                if len(errors) < 10 * MAX_LISTED_ERRORS:
                    errors.append(err)
                if report is not None:
                    report.write(orjson.dumps(err) + b"\n")
            if n_invalid and not skip_invalid:
                continue  # keep validating, but this import will be refused
            rows = [
                (dataset_id, external_id, digest, next_pos + i, stored)
                for i, (external_id, digest, stored) in enumerate(batch.rows)
            ]
            next_pos += len(rows)
            n_invalid += _flush_batch(session, rows, batch.line_nos, errors, report)
            if progress:
                progress(lines)
    finally:
        if report is not None:
            report.close()
    if n_invalid and not skip_invalid:
        errors.sort(key=lambda e: e["line"])
        raise BadInput(
            {
                "message": f"{n_invalid} invalid line(s); nothing was imported",
                "errors": errors[:MAX_LISTED_ERRORS],
                "invalid_lines": n_invalid,
            }
        )
    added = repository.item_count(session, dataset.id) - before
    if added:
        dataset.version += 1
        _extend_streaming_jobs(session, dataset.id, now)
    session.flush()
    return ImportResult(
        dataset=dataset_name,
        added=added,
        duplicates=max(lines - n_invalid - added, 0),
        invalid=n_invalid,
        lines=lines,
        errors=sorted(errors, key=lambda e: e["line"]),
        report_path=str(report_path) if report_path and skip_invalid else None,
        seconds=time.perf_counter() - started,
    )


def _extend_streaming_jobs(session: Session, dataset_id: int, now: float) -> None:
    from truthset.jobs.service import add_tasks

    for job in repository.live_jobs_reading(session, dataset_id):
        if job.settings.get("streaming"):
            add_tasks(session, job, now=now)


def import_source(
    session: Session,
    dataset_name: str,
    source: str,
    *,
    allowed_roots: list[str],
    id_key: str = "id",
    skip_invalid: bool = False,
    report_path: Path | None = None,
    endpoint_url: str | None = None,
    progress: Callable[[int], None] | None = None,
    spec: SourceSpec | None = None,
) -> ImportResult:
    spec = spec or detect_source(source, endpoint_url=endpoint_url)
    roots = AllowedRoots(allowed_roots)
    if spec.implicit_root:
        roots.add(spec.implicit_root)
    if skip_invalid and report_path is None:
        raise BadInput("skip_invalid needs a report path for the bad lines")
    if spec.kind in ("manifest", "csv") and os.path.getsize(spec.location) >= CHILD_FROM_BYTES:
        batches = checked_batches_in_child(spec, roots, id_key)
    else:
        batches = checked_batches(iter_records(spec, endpoint_url=endpoint_url), roots, id_key)
    try:
        return _import_batches(
            session,
            dataset_name,
            batches,
            skip_invalid=skip_invalid,
            report_path=report_path,
            progress=progress,
        )
    finally:
        if isinstance(batches, Generator):
            batches.close()  # stops a checking process the import left early
