"""Readers for what a dataset is imported from. Each yields records one by one (constant
memory): `(line_no, text)` for JSON Lines, `(line_no, dict)` for CSV rows and files.

`line_no` is what error messages name: the line of a manifest, the row of a CSV (header =
line 1), or the position of a file in a folder listing."""

from __future__ import annotations

import codecs
import csv
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from truthset.errors import BadInput
from truthset.media.storage import (
    AllowedRoots,
    iter_s3_keys,
    parse_s3_uri,
    read_document,
    s3_client,
    s3_error_reason,
)

# A label category file or job request is small; a larger one is not what it claims.
MAX_JSON_DOCUMENT = 4 << 20

MEDIA_EXTENSIONS = {
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".bmp",
    ".webp",
    ".tif",
    ".tiff",
    ".wav",
    ".mp3",
    ".flac",
    ".ogg",
    ".m4a",
    ".webm",
    ".mp4",
}
MANIFEST_EXTENSIONS = (".manifest", ".jsonl", ".json", ".ndjson")


@dataclass(slots=True)
class Record:
    line_no: int
    # Either the raw JSON text of a manifest line, or an already-built object.
    text: str | None = None
    obj: dict[str, Any] | None = None
    # A reason the source itself gives for rejecting this record (unsupported file...).
    error: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # manifest | csv | folder | s3-manifest | s3-prefix
    location: str

    @property
    def implicit_root(self) -> str | None:
        """The location imported from, allowed for the refs of this import only."""
        if self.kind == "folder":
            return self.location
        if self.kind == "s3-prefix":
            return self.location.rstrip("/")
        return None


def detect_source(source: str, *, endpoint_url: str | None = None) -> SourceSpec:
    if source.startswith("s3://"):
        loc = parse_s3_uri(source)
        if loc.key.endswith(MANIFEST_EXTENSIONS):
            return SourceSpec("s3-manifest", source)
        if loc.key.endswith(".csv"):
            return SourceSpec("s3-csv", source)
        return SourceSpec("s3-prefix", source)
    path = Path(source)
    if path.is_dir():
        return SourceSpec("folder", str(path.resolve()))
    if not path.exists():
        raise BadInput(f"source {source!r} does not exist")
    if path.suffix.lower() == ".csv":
        return SourceSpec("csv", str(path.resolve()))
    return SourceSpec("manifest", str(path.resolve()))


def iter_records(spec: SourceSpec, *, endpoint_url: str | None = None) -> Iterator[Record]:
    if spec.kind == "manifest":
        with open(spec.location, "rb") as fh:
            yield from _manifest_lines(fh)
    elif spec.kind == "csv":
        with open(spec.location, "rb") as fh:
            yield from _csv_rows(_utf8_lines(fh, "CSV"))
    elif spec.kind == "folder":
        yield from _folder_files(Path(spec.location))
    elif spec.kind in ("s3-manifest", "s3-csv"):
        loc = parse_s3_uri(spec.location)
        try:
            body = s3_client(endpoint_url).get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
        except Exception as exc:  # noqa: BLE001 - botocore's errors: a missing key, bucket
            reason = s3_error_reason(exc) or str(exc)
            raise BadInput(f"source {spec.location!r} cannot be read ({reason})") from None
        if spec.kind == "s3-manifest":
            yield from _manifest_lines(body)
        else:
            yield from _csv_rows(_utf8_lines(body, "CSV"))
    elif spec.kind == "s3-prefix":
        loc = parse_s3_uri(spec.location)
        for n, key in enumerate(iter_s3_keys(spec.location, endpoint_url=endpoint_url), start=1):
            name = key.rsplit("/", 1)[-1]
            if not name or name.startswith("."):
                continue
            if Path(name).suffix.lower() in MEDIA_EXTENSIONS:
                yield Record(n, obj={"source-ref": f"s3://{loc.bucket}/{key}"})
            else:
                yield Record(n, error=f"s3://{loc.bucket}/{key}: unsupported file type")
    else:  # pragma: no cover
        raise BadInput(f"unknown source kind {spec.kind}")


def _manifest_lines(fh: Any) -> Iterator[Record]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    line_no = 0
    # Read in large blocks: far faster than per-line reads on big manifests.
    pending = ""
    while True:
        block = fh.read(1 << 20)
        if not block:
            break
        try:
            text = pending + decoder.decode(block)
        except UnicodeDecodeError as exc:
            # The block holds many lines: name the one the bad byte is on.
            bad_line = line_no + 1 + block.count(b"\n", 0, max(exc.start, 0))
            raise BadInput(f"line {bad_line}: the manifest is not valid UTF-8 ({exc})") from None
        lines = text.split("\n")
        pending = lines.pop()
        for line in lines:
            line_no += 1
            yield Record(line_no, text=line.rstrip("\r"))
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise BadInput(f"line {line_no + 1}: the manifest is not valid UTF-8 ({exc})") from None
    if pending.strip():
        yield Record(line_no + 1, text=pending.rstrip("\r"))


# Where a line ends, as universal newlines see it: after "\n", or after a "\r" that no
# "\n" follows.
_LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


def _utf8_lines(fh: Any, what: str) -> Iterator[str]:
    """The lines of a binary stream of UTF-8 text (a leading BOM dropped), with their line
    ends, read in large blocks; invalid UTF-8 is a BadInput naming the line and the byte
    offset of the first bad byte (a text-mode file would raise UnicodeDecodeError from
    deep inside the reader, with neither)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes read before this block
    lines = 0  # lines handed out so far
    pending = ""
    first = True
    while True:
        block = fh.read(1 << 20)
        final = not block
        buffered = decoder.getstate()[0]  # the start of a character the last block split
        try:
            text = decoder.decode(block, final=final)
        except UnicodeDecodeError as exc:
            data = buffered + block
            at = max(exc.start, 0)
            before = pending + data[:at].decode("utf-8")
            line = lines + len(_LINE_END.split(before))
            raise BadInput(
                f"line {line}: the {what} is not valid UTF-8 (byte offset "
                f"{offset - len(buffered) + at}: {exc.reason})"
            ) from None
        offset += len(block)
        if first and text:
            text, first = text.removeprefix("\ufeff"), False
        text = pending + text
        # A "\r" at the end may be the first half of a "\r\n" split across blocks.
        cut = len(text) - 1 if text.endswith("\r") and not final else len(text)
        pieces = _LINE_END.split(text[:cut])
        pending = pieces.pop() + text[cut:]
        lines += len(pieces)
        yield from pieces
        if final:
            break
    if pending:
        yield pending


def _csv_rows(lines: Iterator[str]) -> Iterator[Record]:
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return
    if len(set(header)) != len(header):
        raise BadInput("line 1: the CSV header names a column twice")
    has_source, has_ref = "source" in header, "source-ref" in header
    if has_source == has_ref:
        raise BadInput("line 1: the CSV needs exactly one of the columns 'source' or 'source-ref'")
    for row in reader:
        line_no = reader.line_num
        if not row:
            continue
        if len(row) != len(header):
            yield Record(line_no, error=f"has {len(row)} fields, the header has {len(header)}")
            continue
        yield Record(line_no, obj=dict(zip(header, row, strict=True)))


def _folder_files(root: Path) -> Iterator[Record]:
    n = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            n += 1
            path = Path(dirpath) / name
            suffix = path.suffix.lower()
            if suffix in MEDIA_EXTENSIONS:
                yield Record(n, obj={"source-ref": str(path)})
            elif suffix == ".txt":
                # As Ground Truth's console: a .txt file holds one text item per line.
                with open(path, encoding="utf-8") as fh:
                    for line in fh:
                        if line.strip():
                            yield Record(n, obj={"source": line.rstrip("\r\n")})
            else:
                yield Record(n, error=f"{path}: unsupported file type {suffix or '(none)'}")


def read_json_document(
    ref: str, what: str, *, roots: AllowedRoots | None = None, endpoint_url: str | None = None
) -> object:
    """A JSON file (a label category file) from a local path or an s3:// URI
    (`truthset.media.storage.read_document` says where it may be)."""
    data = read_document(ref, what, limit=MAX_JSON_DOCUMENT, roots=roots, endpoint_url=endpoint_url)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"{what} {ref!r} is not valid JSON ({exc})") from None
