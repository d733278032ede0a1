"""Checking what an import reads, line by line, into batches of rows to insert.

This part of an import needs no database, so a large local manifest or CSV is checked in
a child process (`checked_batches_in_child`) while the importing process inserts the
batches it has already received: reading, parsing, validating and hashing a line costs
about as much as SQLite's insert of it, and the two now run on two cores.
"""

from __future__ import annotations

import pickle
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any

import orjson
from orjson import dumps

from truthset.api.nul_guard import nul_field
from truthset.datasets.gt_labels import (
    LabelLineError,
    LabelShape,
    labeled_attributes,
    read_label,
)
from truthset.datasets.sources import Record, SourceSpec, iter_records
from truthset.media.storage import AllowedRoots

MAX_LINE_CHARS = 100_000
MAX_ATTRIBUTE_CHARS = 20_000
MAX_ID_CHARS = 200
# Far below orjson's own limit of 254 on writing (a deeper line parses, then cannot be
# stored), and deeper than any manifest Ground Truth writes.
MAX_DEPTH = 64
BATCH = 5000
# How many checked batches the importer holds, read ahead of its inserts.
READ_AHEAD = 3


class LineError(Exception):
    pass


# A line's label in a batch: (row index, shape index, status, value JSON, meta JSON,
# confidence, human, created at, file ref), `gt_labels.ImportedLabel` with its shape
# numbered and `human` (status complete) worked out. From the status on, it is the row
# `labels.writer.write_imported_labels` takes after the item's id and position, with the
# file ref where the mask goes. A plain tuple: a big import's checking process pickles one
# per labeled line to the importer, and a named tuple costs ~15x more to pickle.
BatchLabel = tuple[int, int, str, str | None, str, float | None, bool, float, str | None]


@dataclass(slots=True)
class CheckedBatch:
    """Up to BATCH good lines as rows (external id, identity hash, stored JSON) with their
    line numbers, the Ground Truth labels they carry (`BatchLabel`s, in line order), the
    distinct label shapes those name as (shape, row index of its first line), and the bad
    lines met on the way as (line number, reason)."""

    lines: int = 0
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    line_nos: list[int] = field(default_factory=list)
    invalid: list[tuple[int, str]] = field(default_factory=list)
    labels: list[BatchLabel] = field(default_factory=list)
    shapes: list[tuple[LabelShape, int]] = field(default_factory=list)
    # Set by the importer: how many of the rows its insert added, and the id of the first
    # when they are known to be numbered in order (SQLite, every row added).
    added: int = 0
    first_id: int | None = None

    def without_lines(self, bad: set[int]) -> None:
        """Drop the rows of these line numbers (lines refused after checking). The shapes
        stay: they were checked already, and a shape no row names any more costs nothing."""
        keep = [i for i, n in enumerate(self.line_nos) if n not in bad]
        new_index = {old: new for new, old in enumerate(keep)}
        self.rows = [self.rows[i] for i in keep]
        self.line_nos = [self.line_nos[i] for i in keep]
        self.labels = [(new_index[lab[0]], *lab[1:]) for lab in self.labels if lab[0] in new_index]


def item_identity(obj: dict[str, Any], id_key: str) -> str:
    """The dedupe key of an item: which object it is (its `source-ref`, or its `source`
    text) and its id, not the whole line, so that a job's input manifest and its output
    manifest (the same objects, with labels added) are the same items. The migration
    0004 holds a copy of this function: change both or neither."""
    if "source-ref" in obj:
        kind, value = "source-ref", obj["source-ref"]
    else:
        kind, value = "source", obj.get("source")
    ident = obj.get(id_key)
    return blake2b(
        dumps([kind, value, None if ident is None else str(ident)]), digest_size=16
    ).hexdigest()


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
        # Cheap looks at the raw text first: almost no line has enough brackets to be
        # deep, or an escaped NUL.
        if stored.count("[") + stored.count("{") > MAX_DEPTH and _deeper_than(obj, MAX_DEPTH):
            raise LineError(f"nests deeper than {MAX_DEPTH} levels of objects and arrays")
        nul_suspect = "\\u0000" in stored
    else:
        assert rec.obj is not None
        obj = rec.obj
        stored = ""
        nul_suspect = True
    if nul_suspect:
        where = nul_field(obj)
        if where is not None:
            raise LineError(f"{where} contains a NUL character (\\u0000), which cannot be stored")
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


def _deeper_than(obj: Any, limit: int) -> bool:
    level = [obj]
    for _ in range(limit):
        level = [
            child
            for node in level
            if isinstance(node, (dict, list))
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return False
    return any(isinstance(node, (dict, list)) for node in level)


def checked_batches(
    records: Iterable[Record], roots: AllowedRoots, id_key: str, *, labels: bool = True
) -> Iterator[CheckedBatch]:
    """The records checked and hashed, in batches (the last may be empty); with `labels`,
    the Ground Truth labels of each line read too."""
    batch = CheckedBatch()
    # id(shape) -> its index in the batch: `read_label` gives equal shapes as one object
    # (mostly: a second object only costs a second, equal, entry).
    shape_index: dict[int, int] = {}
    now = time.time()
    for rec in records:
        text_ = rec.text
        if text_ is not None and (not text_ or text_.isspace()):
            continue  # blank lines are not items
        batch.lines += 1
        try:
            stored, obj = check_record(rec, roots, id_key)
        except LineError as exc:
            batch.invalid.append((rec.line_no, str(exc)))
            continue
        row = len(batch.rows)
        # Only a line with a `...-metadata"` key can hold a label: the text tells cheaply.
        if labels and (rec.text is None or '-metadata"' in stored):
            try:
                found = [read_label(obj, attr, now=now) for attr in labeled_attributes(obj)]
            except LabelLineError as exc:
                batch.invalid.append((rec.line_no, str(exc)))
                continue
            for shape, status, value, meta, confidence, created, ref in found:
                index = shape_index.get(id(shape))
                if index is None:
                    index = shape_index[id(shape)] = len(batch.shapes)
                    batch.shapes.append((shape, row))
                human = status == "complete"
                batch.labels.append(
                    (row, index, status, value, meta, confidence, human, created, ref)
                )
        digest = item_identity(obj, id_key)
        ident = obj.get(id_key)
        batch.rows.append((str(ident) if ident is not None else digest[:16], digest, stored))
        batch.line_nos.append(rec.line_no)
        if row + 1 >= BATCH:
            yield batch
            batch = CheckedBatch()
            shape_index = {}
    yield batch


def checked_batches_in_child(
    spec: SourceSpec, roots: AllowedRoots, id_key: str, *, labels: bool = True
) -> Iterator[CheckedBatch]:
    """`checked_batches` of a local source, computed by a child process
    (`python -m truthset.datasets.checking`: a fresh interpreter, so nothing of the
    importing program, such as a script without a main guard, runs again in it). A reader
    thread takes the child's batches off the pipe as they come, up to READ_AHEAD of them,
    so the child checks the next batches while the importer inserts (with the pipe alone,
    the child waited for every batch to be read): memory stays bounded. An error the
    source raises (bad UTF-8, a bad CSV header) is raised here; when the importer stops
    early, the child is stopped."""
    child = subprocess.Popen(
        [sys.executable, "-m", "truthset.datasets.checking"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    out = child.stdout
    ahead: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=READ_AHEAD)

    def read() -> None:
        try:
            while True:
                head = out.read(_HEAD.size)
                if len(head) < _HEAD.size:
                    ahead.put(("ended", None))
                    return
                message = pickle.loads(out.read(_HEAD.unpack(head)[0]))
                ahead.put(message)
                if message[0] != "batch":
                    return
        except (OSError, ValueError):  # the pipe closed under it: the import stopped early
            ahead.put(("ended", None))

    reader = threading.Thread(target=read, name="import-checking-reader", daemon=True)
    try:
        child.stdin.write(pickle.dumps((spec, roots, id_key, labels)))
        child.stdin.close()
        reader.start()
        while True:
            kind, value = ahead.get()
            if kind == "batch":
                yield value
            elif kind == "error":
                raise value
            elif kind == "ended":
                raise RuntimeError(
                    f"the import's checking process ended unexpectedly (exit {child.wait()})"
                )
            else:
                return
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        while reader.is_alive():  # let a reader blocked on a full queue see the end
            try:
                ahead.get_nowait()
            except queue.Empty:
                reader.join(0.05)
        out.close()


_HEAD = struct.Struct("<Q")  # each message: its length, then the pickle


def _send(out: Any, message: tuple[str, Any]) -> None:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    out.write(_HEAD.pack(len(data)))
    out.write(data)


def _child_main() -> None:
    spec, roots, id_key, labels = pickle.loads(sys.stdin.buffer.read())
    out = sys.stdout.buffer
    try:
        for batch in checked_batches(iter_records(spec), roots, id_key, labels=labels):
            _send(out, ("batch", batch))
    except Exception as exc:  # noqa: BLE001 - raised again in the importing process
        _send(out, ("error", exc))
    else:
        _send(out, ("done", None))
    out.flush()


if __name__ == "__main__":
    # Through the module's real name, so that what the child pickles (CheckedBatch, the
    # errors) is found under that name in the importer.
    from truthset.datasets.checking import _child_main as main

    main()
