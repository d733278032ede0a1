"""Media files uploaded from the browser: resumable chunked uploads that become items.

An upload is named by an id the browser chooses (so a request that died before its answer
can still be asked about) and is written in chunks at explicit offsets: a chunk whose
offset is not the bytes held so far is refused with that number, so a resumed upload sends
only what is missing. The first chunk's bytes are sniffed at once (a file that is no image,
audio or video is refused before the rest is sent). Committing uploads checks each file
again, stores it in the media folder under its content hash (the same bytes twice are one
file and, as any import dedupes by `source-ref`, one item) and imports the lot into a
dataset; a file refused is named with the reason, the others are still imported.

Small files may come several in one request (a bundle, `write_bundle`): each is written
as the first and only chunk of its upload, with the same checks and its own answer, so a
bundle that died is resumed file by file like any upload. A request per 200 KB photo was
the upload's cost (its round trip and the server's middleware), not the bytes.

Parts wait in ``<data>/upload-parts/<id>`` (bytes) and ``<id>.json`` (who, name, size).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from sqlalchemy.orm import Session

from truthset.config import Settings
from truthset.datasets import repository
from truthset.datasets.importer import import_source
from truthset.datasets.service import create_dataset
from truthset.datasets.sources import SourceSpec
from truthset.errors import BadInput, Conflict, NotFound
from truthset.media.storage import AllowedRoots, parse_s3_uri, s3_client, s3_error_reason

# Ids are the browser's: random enough not to collide, and safe as a file name.
UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_FILE_BYTES = 4 << 30  # a long video; larger media is imported from a path or S3
MAX_NAME_CHARS = 500
MAX_FILES_PER_COMMIT = 1000
MAX_FILES_PER_BUNDLE = 256
# Unfinished parts older than this are deleted when an upload starts, at most once an
# hour (looking at every part on each start made a folder's upload quadratic).
STALE_AFTER_S = 7 * 24 * 3600
_SWEEP_EVERY_S = 3600
_last_sweep = 0.0
# The sniffer needs this many leading bytes (the longest signature read).
SNIFF_BYTES = 16


def sniff_media(head: bytes) -> tuple[str, str] | None:
    """(kind, file extension) of media recognised from its first bytes, or None. Read from
    the bytes, never the name: a renamed text file is not an image."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image", ".jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", ".png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image", ".gif"
    if head.startswith(b"BM") and len(head) >= 14:
        return "image", ".bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image", ".tiff"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image", ".webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio", ".wav"
    if head.startswith(b"fLaC"):
        return "audio", ".flac"
    if head.startswith(b"OggS"):
        return "audio", ".ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio", ".mp3"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return ("audio", ".m4a") if brand in (b"M4A ", b"M4B ") else ("video", ".mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video", ".webm"
    return None


@dataclass(frozen=True)
class UploadState:
    upload_id: str
    name: str
    size: int
    received: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "upload": self.upload_id,
            "name": self.name,
            "size": self.size,
            "received": self.received,
            "complete": self.received == self.size,
        }


def parts_dir(settings: Settings) -> Path:
    return settings.data_dir / "upload-parts"


def _paths(settings: Settings, upload_id: str) -> tuple[Path, Path]:
    if not isinstance(upload_id, str) or not UPLOAD_ID.match(upload_id):
        raise BadInput(f"upload id {upload_id!r} must be 16-64 letters, digits, '_' or '-'")
    folder = parts_dir(settings)
    return folder / upload_id, folder / f"{upload_id}.json"


def _read_meta(settings: Settings, upload_id: str, user_id: int) -> dict[str, Any]:
    _data, meta_path = _paths(settings, upload_id)
    try:
        meta: dict[str, Any] = orjson.loads(meta_path.read_bytes())
    except FileNotFoundError:
        raise NotFound(f"no upload {upload_id!r} is in progress") from None
    if meta.get("user") != user_id:
        # Another person's upload is not theirs to see or extend.
        raise NotFound(f"no upload {upload_id!r} is in progress")
    return meta


def upload_state(settings: Settings, upload_id: str, user_id: int) -> UploadState:
    """How much of an upload the server holds (what a resumed upload sends from)."""
    meta = _read_meta(settings, upload_id, user_id)
    data_path, _ = _paths(settings, upload_id)
    received = data_path.stat().st_size if data_path.exists() else 0
    return UploadState(upload_id, meta["name"], meta["size"], received)


def _check_name_and_size(name: str, size: int) -> None:
    if not name or len(name) > MAX_NAME_CHARS or "\x00" in name:
        raise BadInput(f"file name {name[:80]!r} must be 1-{MAX_NAME_CHARS} characters")
    if size < 1:
        raise BadInput(f"{name}: the file is empty")
    if size > MAX_FILE_BYTES:
        raise BadInput(
            f"{name}: the file is {size:,} bytes, over the upload limit of {MAX_FILE_BYTES:,}; "
            "import it from a folder or S3 prefix on the server instead"
        )


def write_chunk(
    settings: Settings,
    upload_id: str,
    user_id: int,
    *,
    name: str,
    size: int,
    offset: int,
    body: BinaryIO,
) -> UploadState:
    """Write the chunk `body` at `offset` of the upload (offset 0 starts it). A chunk at an
    offset other than the bytes held is refused (Conflict, naming the offset to resume
    from); a chunk going past the declared size is refused too."""
    data_path, meta_path = _paths(settings, upload_id)
    _check_name_and_size(name, size)
    if offset == 0 and not meta_path.exists():
        _start(settings, meta_path, {"user": user_id, "name": name, "size": size})
    meta = _read_meta(settings, upload_id, user_id)
    if meta["size"] != size or meta["name"] != name:
        raise Conflict(
            f"upload {upload_id!r} is of {meta['name']!r} ({meta['size']:,} bytes), "
            f"not {name!r} ({size:,} bytes)"
        )
    # The offset check and the write under a lock on the part: two requests carrying the
    # same chunk (a retry racing its original, maybe in another server process) must not
    # both append it.
    with open(data_path, "ab") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        held = os.fstat(fh.fileno()).st_size
        if offset != held:
            raise Conflict(
                {
                    "message": f"{name}: the server holds {held:,} bytes of it; "
                    f"send from offset {held}, not {offset}",
                    "received": held,
                }
            )
        written = 0
        while piece := body.read(1 << 20):
            if held == 0 and written == 0:
                _refuse_unless_media(piece[:SNIFF_BYTES], name, upload_id, settings)
            written += len(piece)
            if held + written > size:
                fh.truncate(held)
                raise BadInput(f"{name}: more bytes were sent than its size of {size:,}")
            fh.write(piece)
    return UploadState(upload_id, name, size, held + written)


def write_bundle(settings: Settings, user_id: int, body: bytes) -> list[dict[str, Any]]:
    """Write several whole files sent in one request. `body` is one line of JSON, the list
    of files (`upload` id, `name`, `size`), then their bytes back to back in that order.
    A malformed bundle is refused whole (BadInput); otherwise each file gets its own
    answer: its state as `write_chunk` returns it, or `error` (and `received` when the
    server holds part of it: resume from there). A file the server holds all of already
    (the answer to an earlier try was lost) is answered as complete."""
    end = body.find(b"\n")
    if end < 0:
        raise BadInput("bundle: the first line must list the files (JSON)")
    try:
        listed = orjson.loads(body[:end])
    except orjson.JSONDecodeError:
        raise BadInput("bundle: the first line is not JSON") from None
    if not isinstance(listed, list) or not 1 <= len(listed) <= MAX_FILES_PER_BUNDLE:
        raise BadInput(f"bundle: list 1-{MAX_FILES_PER_BUNDLE} files on the first line")
    files: list[tuple[str, str, int]] = []
    for entry in listed:
        if not isinstance(entry, dict):
            raise BadInput("bundle: each file is {upload, name, size}")
        upload_id, name, size = entry.get("upload"), entry.get("name"), entry.get("size")
        if (
            not isinstance(upload_id, str)
            or not isinstance(name, str)
            or not isinstance(size, int)
            or isinstance(size, bool)
        ):
            raise BadInput("bundle: each file is {upload, name, size}")
        _paths(settings, upload_id)  # the id's form, before any file is written
        files.append((upload_id, name, size))
    payload = memoryview(body)[end + 1 :]
    if len(payload) != sum(max(size, 0) for _id, _name, size in files):
        raise BadInput(
            f"bundle: {len(payload):,} bytes follow the list, not the "
            f"{sum(max(size, 0) for _id, _name, size in files):,} its sizes add up to"
        )
    answers: list[dict[str, Any]] = []
    at = 0
    for upload_id, name, size in files:
        piece = payload[at : at + max(size, 0)]
        at += max(size, 0)
        try:
            state = write_chunk(
                settings, upload_id, user_id, name=name, size=size, offset=0, body=io.BytesIO(piece)
            )
            answers.append(state.as_dict())
        except Conflict as exc:
            held = exc.detail.get("received") if isinstance(exc.detail, dict) else None
            if held == size:
                answers.append(UploadState(upload_id, name, size, size).as_dict())
            else:
                message = exc.detail["message"] if isinstance(exc.detail, dict) else exc.detail
                answers.append({"upload": upload_id, "error": message, "received": held})
        except (BadInput, NotFound) as exc:
            answers.append({"upload": upload_id, "error": str(exc.detail)})
    return answers


def _start(settings: Settings, meta_path: Path, meta: dict[str, Any]) -> None:
    """Write a new upload's facts; a request that started it first (a retry) wins. The
    facts are written aside and linked into place, so no reader sees a half-written
    file (link, unlike rename, fails when the name exists)."""
    parts_dir(settings).mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(settings)
    aside = meta_path.with_name(f"{meta_path.name}.{os.getpid()}.{threading.get_ident()}")
    aside.write_bytes(orjson.dumps({**meta, "started": time.time()}))
    try:
        os.link(aside, meta_path)
    except FileExistsError:
        pass
    finally:
        aside.unlink()


def _refuse_unless_media(head: bytes, name: str, upload_id: str, settings: Settings) -> None:
    if sniff_media(head) is None:
        discard(settings, upload_id)
        raise BadInput(
            f"{name}: not an image, audio or video file the server knows (its first bytes "
            "are no JPEG, PNG, GIF, BMP, TIFF, WebP, WAV, FLAC, Ogg, MP3, MP4/M4A or WebM)"
        )


def discard(settings: Settings, upload_id: str) -> None:
    for path in _paths(settings, upload_id):
        path.unlink(missing_ok=True)


def _remove_stale_parts(settings: Settings) -> None:
    global _last_sweep
    if time.time() - _last_sweep < _SWEEP_EVERY_S:
        return
    _last_sweep = time.time()
    cutoff = time.time() - STALE_AFTER_S
    for path in parts_dir(settings).glob("*.json"):
        try:
            if path.stat().st_mtime < cutoff:
                discard(settings, path.stem)
        except (FileNotFoundError, BadInput):
            continue


def upload_destination(settings: Settings, roots: AllowedRoots) -> str | None:
    """The S3 prefix uploads are stored under, or None for the media folder. BadInput
    when the configured prefix is outside the allowed roots (its items could not be
    read)."""
    prefix = settings.upload_prefix
    if not prefix:
        return None
    parse_s3_uri(prefix)
    if not prefix.startswith("s3://") or not roots.allows(prefix.rstrip("/") + "/x"):
        raise BadInput(
            f"TRUTHSET_UPLOAD_PREFIX {prefix!r} must be an s3://bucket/prefix inside the "
            "server's allowed roots (TRUTHSET_ALLOWED_ROOTS)"
        )
    return prefix.rstrip("/")


def _store(settings: Settings, data_path: Path, name: str, s3_prefix: str | None) -> str:
    """Move a complete upload into the media store (the media folder, or the S3 prefix)
    under its content hash; the same bytes uploaded again land on the same path (and the
    part is dropped). Returns the item's `source-ref`."""
    with open(data_path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
        sniffed = sniff_media(head)
        if sniffed is None:
            raise BadInput(f"{name}: not an image, audio or video file the server knows")
        fh.seek(0)
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    relative = f"{digest[:2]}/{digest}{sniffed[1]}"
    if s3_prefix is not None:
        ref = f"{s3_prefix}/{relative}"
        _put_unless_there(settings, data_path, ref)
        data_path.unlink()
        return ref
    dest = settings.media_dir / "uploads" / relative
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        data_path.unlink()
    else:
        os.replace(data_path, dest)
    return str(dest)


def _put_unless_there(settings: Settings, data_path: Path, ref: str) -> None:
    loc = parse_s3_uri(ref)
    client = s3_client(settings.s3_endpoint_url)
    try:
        client.head_object(Bucket=loc.bucket, Key=loc.key)
        return  # the same bytes are stored already
    except Exception as exc:  # noqa: BLE001 - botocore's errors, told apart below
        reason = s3_error_reason(exc)
        if reason is None:
            raise
        if reason != "it does not exist":
            raise BadInput(f"the upload store {ref!r} cannot be read ({reason})") from None
    try:
        client.upload_file(str(data_path), loc.bucket, loc.key)
    except Exception as exc:  # noqa: BLE001
        reason = s3_error_reason(exc)
        if reason is None:
            raise
        raise BadInput(f"the upload store {ref!r} cannot be written ({reason})") from None


def commit_uploads(
    session: Session,
    settings: Settings,
    allowed_roots: list[str],
    dataset: str,
    upload_ids: list[str],
    user_id: int,
) -> dict[str, Any]:
    """Turn complete uploads into items of `dataset` (created when new). Returns the
    import's counts plus `files`: per upload, its item's `source-ref` or the sentence that
    says why it was refused. A refused upload keeps its part (it may be resumed); a stored
    one is gone from the parts."""
    if not upload_ids:
        raise BadInput("uploads: name at least one upload to add")
    if len(upload_ids) > MAX_FILES_PER_COMMIT:
        raise BadInput(f"uploads: at most {MAX_FILES_PER_COMMIT} files in one request")
    s3_prefix = upload_destination(settings, AllowedRoots(allowed_roots))
    if repository.dataset_named(session, dataset) is None:
        # Named and checked before any file moves: a bad name refuses the whole request.
        create_dataset(session, dataset)
    files: list[dict[str, Any]] = []
    lines: list[bytes] = []
    for upload_id in upload_ids:
        try:
            state = upload_state(settings, upload_id, user_id)
            if state.received != state.size:
                raise BadInput(
                    f"{state.name}: {state.received:,} of {state.size:,} bytes arrived; "
                    "send the rest before adding it"
                )
            data_path, meta_path = _paths(settings, upload_id)
            ref = _store(settings, data_path, state.name, s3_prefix)
            meta_path.unlink(missing_ok=True)
        except (BadInput, NotFound) as exc:
            files.append({"upload": upload_id, "error": str(exc.detail)})
            continue
        files.append({"upload": upload_id, "name": state.name, "source-ref": ref})
        lines.append(orjson.dumps({"source-ref": ref, "file-name": state.name}))
    result: dict[str, Any] = {"dataset": dataset, "added": 0, "duplicates": 0, "lines": 0}
    if lines:
        manifest = parts_dir(settings) / f"commit-{os.getpid()}-{threading.get_ident()}.jsonl"
        manifest.write_bytes(b"\n".join(lines) + b"\n")
        try:
            imported = import_source(
                session,
                dataset,
                str(manifest),
                allowed_roots=allowed_roots,
                spec=SourceSpec("manifest", str(manifest)),
                labels=False,
                created_by=user_id,
            )
        finally:
            manifest.unlink(missing_ok=True)
        result.update(
            added=imported.added,
            duplicates=imported.duplicates + imported.merged,
            lines=imported.lines,
        )
    result["files"] = files
    result["refused"] = sum(1 for f in files if "error" in f)
    return result
