"""Importing items into a dataset: validate every line, dedupe by content hash, and write
all or nothing.

One pass over the source inside one transaction: lines are checked as they stream by and
inserted in batches; when any line is bad (and `skip_invalid` is off) the transaction is
rolled back at the end, so nothing is written, and every bad line is reported with its
number and reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from hashlib import blake2b
from pathlib import Path
from typing import Any

import orjson
from orjson import OPT_SORT_KEYS, dumps
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from truthset.datasets.sources import Record, SourceSpec, detect_source, iter_records
from truthset.errors import BadInput
from truthset.media.storage import AllowedRoots
from truthset.store.models import Dataset, Job

MAX_LINE_CHARS = 100_000
MAX_ATTRIBUTE_CHARS = 20_000
MAX_ID_CHARS = 200
BATCH = 5000
# How many bad lines an error message lists; the report file (skip_invalid) has them all.
MAX_LISTED_ERRORS = 100


class LineError(Exception):
    pass


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


def content_hash(obj: dict[str, Any]) -> str:
    """The dedupe key of an item: BLAKE2b of its canonical (sorted-key) JSON."""
    return blake2b(dumps(obj, option=OPT_SORT_KEYS), digest_size=16).hexdigest()


def check_record(rec: Record, roots: AllowedRoots, id_key: str) -> tuple[str, dict[str, Any]]:
    """Validate one record; returns (the JSON text to store, the object). Raises LineError."""
    if rec.error is not None:
        raise LineError(rec.error)
    if rec.text is not None:
        if len(rec.text) > MAX_LINE_CHARS:
            raise LineError(f"line is {len(rec.text):,} characters long; the limit is 100,000")
        try:
            obj = orjson.loads(rec.text)
        except orjson.JSONDecodeError as exc:
            raise LineError(f"not valid JSON ({exc})") from None
        if type(obj) is not dict:
            raise LineError("a manifest line must be a JSON object")
        stored = rec.text.strip()
    else:
        assert rec.obj is not None
        obj = rec.obj
        stored = ""
    has_source, has_ref = "source" in obj, "source-ref" in obj
    if not has_source and not has_ref:
        raise LineError("has neither 'source' nor 'source-ref'")
    if has_source and has_ref:
        raise LineError("has both 'source' and 'source-ref'; give exactly one")
    # The per-key checks only matter when the text could hold such a key or value: a quick
    # look at the raw line skips the loop for almost every line of a big manifest.
    if not stored or '"$' in stored or len(stored) > MAX_ATTRIBUTE_CHARS:
        for key, value in obj.items():
            if key.startswith("$"):
                raise LineError(f"key {key!r} starts with '$', which Ground Truth reserves")
            if isinstance(value, str) and len(value) > MAX_ATTRIBUTE_CHARS:
                raise LineError(f"attribute {key!r} is longer than 20,000 characters")
    if has_source:
        if type(obj["source"]) is not str:
            raise LineError("'source' must be a string")
    else:
        ref = obj["source-ref"]
        if not isinstance(ref, str) or not ref:
            raise LineError("'source-ref' must be a non-empty string")
        if not roots.allows(ref):
            raise LineError(f"source-ref {ref!r} is outside the allowed roots and buckets")
    ident = obj.get(id_key)
    if ident is not None:
        if type(ident) is not str and type(ident) is not int or ident == "":
            raise LineError(f"id key {id_key!r} must be a non-empty string or an integer")
        if len(str(ident)) > MAX_ID_CHARS:
            raise LineError(f"id {str(ident)[:40]!r}... is longer than {MAX_ID_CHARS} characters")
    if not stored:
        stored = orjson.dumps(obj).decode()
    return stored, obj


def _insert_sql(session: Session) -> str:
    ph = "?" if session.get_bind().dialect.name == "sqlite" else "%s"
    return (
        "INSERT INTO items (dataset_id, external_id, content_hash, position, data) "
        f"VALUES ({ph}, {ph}, {ph}, {ph}, {ph}) "
        "ON CONFLICT (dataset_id, content_hash) DO NOTHING"
    )


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
    sql = _insert_sql(session)
    conn = session.connection()
    try:
        with session.begin_nested():
            conn.exec_driver_sql(sql, rows)
        return 0
    except IntegrityError:
        pass
    refused = 0
    for row, line_no in zip(rows, line_nos, strict=True):
        try:
            with session.begin_nested():
                conn.exec_driver_sql(sql, row)
        except IntegrityError:
            refused += 1
            err = {"line": line_no, "reason": f"id {row[1]!r} is already used by another item"}
            errors.append(err)
            if report is not None:
                report.write(orjson.dumps(err) + b"\n")
    return refused


def import_records(
    session: Session, dataset_name: str, records: Iterable[Record], **kw: Any
) -> ImportResult:
    """Import inside a savepoint: when any line is refused, everything this import wrote
    is rolled back here, whatever the caller then does with its transaction."""
    savepoint = session.begin_nested()
    try:
        result = _import_records(session, dataset_name, records, **kw)
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return result


def _import_records(
    session: Session,
    dataset_name: str,
    records: Iterable[Record],
    *,
    roots: AllowedRoots,
    id_key: str = "id",
    skip_invalid: bool = False,
    report_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    now: float | None = None,
) -> ImportResult:
    started = time.perf_counter()
    now = time.time() if now is None else now
    dataset = session.scalar(select(Dataset).where(Dataset.name == dataset_name))
    if dataset is None:
        from truthset.datasets.service import create_dataset

        dataset = create_dataset(session, dataset_name, now=now)
    before = _count(session, dataset.id)
    next_pos = session.execute(
        text("SELECT coalesce(max(position), -1) + 1 FROM items WHERE dataset_id = :d"),
        {"d": dataset.id},
    ).scalar_one()

    errors: list[dict[str, Any]] = []
    n_invalid = 0
    lines = 0
    rows: list[tuple[Any, ...]] = []
    line_nos: list[int] = []
    report = open(report_path, "wb") if (report_path and skip_invalid) else None  # noqa: SIM115
    dataset_id = dataset.id
    try:
        for rec in records:
            text_ = rec.text
            if text_ is not None and (not text_ or text_.isspace()):
                continue  # blank lines are not items
            lines += 1
            try:
                stored, obj = check_record(rec, roots, id_key)
            except LineError as exc:
                n_invalid += 1
                err = {"line": rec.line_no, "reason": str(exc)}
                if len(errors) < 10 * MAX_LISTED_ERRORS:
                    errors.append(err)
                if report is not None:
                    report.write(orjson.dumps(err) + b"\n")
                continue
            if n_invalid and not skip_invalid:
                continue  # keep validating, but this import will be refused
            digest = content_hash(obj)
            ident = obj.get(id_key)
            external_id = str(ident) if ident is not None else digest[:16]
            rows.append((dataset_id, external_id, digest, next_pos, stored))
            line_nos.append(rec.line_no)
            next_pos += 1
            if len(rows) >= BATCH:
                n_invalid += _flush_batch(session, rows, line_nos, errors, report)
                rows, line_nos = [], []
                if progress:
                    progress(lines)
        n_invalid += _flush_batch(session, rows, line_nos, errors, report)
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
    added = _count(session, dataset.id) - before
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


def _count(session: Session, dataset_id: int) -> int:
    return int(
        session.execute(
            text("SELECT count(*) FROM items WHERE dataset_id = :d"), {"d": dataset_id}
        ).scalar_one()
    )


def _extend_streaming_jobs(session: Session, dataset_id: int, now: float) -> None:
    from truthset.jobs.service import add_tasks

    for job in session.scalars(
        select(Job).where(
            Job.dataset_id == dataset_id,
            Job.input_job_id.is_(None),
            Job.state.in_(("in_progress", "initializing")),
        )
    ):
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
    return import_records(
        session,
        dataset_name,
        iter_records(spec, endpoint_url=endpoint_url),
        roots=roots,
        id_key=id_key,
        skip_invalid=skip_invalid,
        report_path=report_path,
        progress=progress,
    )
