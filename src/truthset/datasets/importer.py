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

from truthset.datasets import counts, repository
from truthset.datasets.checking import (
    CheckedBatch,
    checked_batches,
    checked_batches_in_child,
)
from truthset.datasets.label_import import LabelImport
from truthset.datasets.service import create_dataset
from truthset.datasets.sources import SourceSpec, detect_source, iter_records
from truthset.errors import BadInput
from truthset.media.storage import AllowedRoots

# How many bad lines an error message lists; the report file (skip_invalid) has them all.
MAX_LISTED_ERRORS = 100
# A local source at least this large is checked in a child process while this one
# inserts (a process start costs ~0.1 s; a 16 MB manifest takes ~1.5 s to import).
CHILD_FROM_BYTES = 16 << 20


@dataclass(frozen=True)
class LabelOptions:
    """How an import reads the Ground Truth labels of its lines (`labels=None`: it keeps
    them in the lines only, as keys like any other)."""

    roots: AllowedRoots
    # Label attribute (or "*" for all) -> its label category file, as given.
    configs: dict[str, Any] = field(default_factory=dict)
    endpoint_url: str | None = None
    created_by: int | None = None


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
    # Lines whose object the dataset held already and whose new keys were merged into it.
    merged: int = 0
    # Label attribute -> {"job", "task_type", "labels"}: the imported jobs written to.
    labels: dict[str, Any] = field(default_factory=dict)
    # Label attributes left in the lines only, with why (no task type writes their type).
    skipped_attributes: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "added": self.added,
            "merged": self.merged,
            "labels": self.labels,
            "skipped_attributes": self.skipped_attributes,
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
) -> tuple[int, int]:
    """Insert a batch; returns (lines refused, rows added). A duplicate id (same id, other
    object) fails the batch, which is then retried row by row to name the line."""
    if not rows:
        return 0, 0
    try:
        if session.get_bind().dialect.name == "sqlite":
            # No savepoint: a failing executemany keeps the rows before the bad one, which
            # the retry below skips by identity; a savepoint around every batch made a
            # 1,000,000-line import ~20% slower (SQLite journals the savepoint's pages).
            return 0, repository.insert_items(session, rows)
        # PostgreSQL aborts the transaction on a failed statement: only a savepoint
        # lets the retry go on.
        with session.begin_nested():
            return 0, repository.insert_items(session, rows)
    except IntegrityError:
        pass
    refused = added = 0
    for row, line_no in zip(rows, line_nos, strict=True):
        try:
            with session.begin_nested():
                added += repository.insert_items(session, [row])
        except IntegrityError:
            refused += 1
            err = {"line": line_no, "reason": f"id {row[1]!r} is already used by another item"}
            errors.append(err)
            if report is not None:
                report.write(orjson.dumps(err) + b"\n")
    return refused, added


def _settle_batch(
    session: Session,
    dataset_id: int,
    rows: list[tuple[Any, ...]],
    batch: CheckedBatch,
    labels: LabelImport | None,
) -> int:
    """After a batch's insert: merge the lines whose object the dataset already held (the
    later keys are added to the item, a later value replaces an earlier one), and write
    the batch's labels to their items. Returns how many items were changed by a merge.

    Cheap when nothing needs it: a batch that added all its rows and carries no labels
    reads nothing back."""
    all_added = batch.rows and len(batch.rows) == batch.added
    if all_added and not batch.labels:
        return 0
    if all_added and batch.first_id is not None:
        # SQLite numbered the batch's new rows in order after the largest id: no read.
        if labels is not None:
            first = batch.first_id
            labels.write(batch, None, new_items=True, first=(first, rows[0][3]))
        return 0
    else:
        labeled = [rows[label[0]] for label in batch.labels] if all_added else rows
        wanted = [r[2] for r in labeled]
        found = repository.items_by_identity(session, dataset_id, wanted, with_data=not all_added)
    merged = 0
    if not all_added:
        merged_into: dict[int, str] = {}  # item id -> its data after this batch's merges
        for _d, _ext, digest, position, stored in rows:
            hit = found.get(digest)
            if hit is None or hit[1] == position:
                continue  # refused (a taken id), or this row is the one that was added
            item_id = hit[0]
            current = merged_into.get(item_id, hit[2])
            if current == stored:
                continue  # the same line again (a re-import): nothing to merge
            old, new = orjson.loads(current), orjson.loads(stored)
            if all(k in old and old[k] == v for k, v in new.items()):
                continue
            old.update(new)
            merged_into[item_id] = orjson.dumps(old).decode()
        for item_id, data in merged_into.items():
            repository.set_item_data(session, item_id, data)
        merged = len(merged_into)
    if labels is not None and batch.labels:
        items: list[tuple[int, int] | None] = []
        for row in rows:
            hit = found.get(row[2])
            items.append(None if hit is None else (hit[0], hit[1]))
        labels.write(batch, items, new_items=bool(all_added))
    return merged


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


def _record_bad_lines(bad: list[tuple[int, str]], errors: list[dict[str, Any]], report: Any) -> int:
    """Note (line number, reason) pairs: listed (up to a bound) and in the report file."""
    for line_no, reason in bad:
        err = {"line": line_no, "reason": reason}
        if len(errors) < 10 * MAX_LISTED_ERRORS:
            errors.append(err)
        if report is not None:
            report.write(orjson.dumps(err) + b"\n")
    return len(bad)


def _check_labels(label_import: LabelImport, batch: CheckedBatch) -> list[tuple[int, str]]:
    """The batch's lines whose labels disagree with the label config (class ids), as
    (line number, reason of its first bad label); those lines are dropped from the batch.
    The config is checked once per label shape, and the labels are looked at one by one
    only when a shape is refused."""
    refused: dict[int, str] = {}
    for index, (shape, first_row) in enumerate(batch.shapes):
        reason = label_import.check(shape, batch.line_nos[first_row])
        if reason is not None:
            refused[index] = reason
    if not refused:
        return []
    bad: dict[int, str] = {}
    for label in batch.labels:
        reason = refused.get(label[1])
        if reason is not None:
            bad.setdefault(batch.line_nos[label[0]], reason)
    batch.without_lines(set(bad))
    return list(bad.items())


def _import_records(
    session: Session,
    dataset_name: str,
    batches: Iterable[CheckedBatch],
    *,
    skip_invalid: bool = False,
    report_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    now: float | None = None,
    labels: LabelOptions | None = None,
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
    merged = 0
    label_import = (
        LabelImport(
            session,
            dataset.id,
            dataset_name,
            label_configs=labels.configs,
            roots=labels.roots,
            endpoint_url=labels.endpoint_url,
            created_by=labels.created_by,
            now=now,
        )
        if labels is not None
        else None
    )
    report = open(report_path, "wb") if (report_path and skip_invalid) else None  # noqa: SIM115
    dataset_id = dataset.id
    sqlite = session.get_bind().dialect.name == "sqlite"
    try:
        for batch in batches:
            lines += batch.lines
            n_invalid += _record_bad_lines(batch.invalid, errors, report)
            if n_invalid and not skip_invalid:
                continue  # keep validating, but this import will be refused
            if label_import is not None:
                bad_labels = _check_labels(label_import, batch)
                n_invalid += _record_bad_lines(bad_labels, errors, report)
                if bad_labels and not skip_invalid:
                    continue
            rows = [
                (dataset_id, external_id, digest, next_pos + i, stored)
                for i, (external_id, digest, stored) in enumerate(batch.rows)
            ]
            next_pos += len(rows)
            last_id = repository.max_item_id(session) if sqlite and batch.labels else None
            refused, batch.added = _flush_batch(session, rows, batch.line_nos, errors, report)
            batch.first_id = None
            if last_id is not None and repository.max_item_id(session) == last_id + batch.added:
                batch.first_id = last_id + 1
            n_invalid += refused
            merged += _settle_batch(session, dataset_id, rows, batch, label_import)
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
    imported = label_import.finish() if label_import is not None else {}
    added = repository.item_count(session, dataset.id) - before
    if added or merged:
        dataset.version += 1
        counts.record_added_items(dataset, added)
        _extend_streaming_jobs(session, dataset.id, now)
    session.flush()
    return ImportResult(
        dataset=dataset_name,
        added=added,
        duplicates=max(lines - n_invalid - added - merged, 0),
        merged=merged,
        labels=imported,
        skipped_attributes=label_import.skipped if label_import is not None else {},
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
    labels: bool = True,
    label_configs: dict[str, Any] | None = None,
    created_by: int | None = None,
) -> ImportResult:
    """Import a source into a dataset. With `labels` (the default) the Ground Truth labels
    of its lines become labels (`truthset.datasets.label_import`); `label_configs` maps a
    label attribute (or "*") to its label category file, which the lines' class ids are
    checked against."""
    spec = spec or detect_source(source, endpoint_url=endpoint_url)
    roots = AllowedRoots(allowed_roots)
    if spec.implicit_root:
        roots.add(spec.implicit_root)
    if skip_invalid and report_path is None:
        raise BadInput("skip_invalid needs a report path for the bad lines")
    if label_configs and not labels:
        raise BadInput("label configs are for the labels of the lines: do not turn labels off")
    if spec.kind in ("manifest", "csv") and os.path.getsize(spec.location) >= CHILD_FROM_BYTES:
        batches = checked_batches_in_child(spec, roots, id_key, labels=labels)
    else:
        batches = checked_batches(
            iter_records(spec, endpoint_url=endpoint_url), roots, id_key, labels=labels
        )
    options = (
        LabelOptions(
            roots=roots,
            configs=dict(label_configs or {}),
            endpoint_url=endpoint_url,
            created_by=created_by,
        )
        if labels
        else None
    )
    try:
        return _import_batches(
            session,
            dataset_name,
            batches,
            skip_invalid=skip_invalid,
            report_path=report_path,
            progress=progress,
            labels=options,
        )
    finally:
        if isinstance(batches, Generator):
            batches.close()  # stops a checking process the import left early
