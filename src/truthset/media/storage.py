"""Where item bytes live: local folders and S3-compatible object storage.

Every `source-ref` must lie inside an allowed root: a local folder or an `s3://bucket[/prefix]`.
Paths are resolved (symlinks and `..` included) before the check, so nothing outside the
configured roots is ever read or served.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlparse

from truthset.errors import BadInput, Forbidden, NotFound


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


# Characters after which `urlparse` does more than split at the first slash.
_NOT_PLAIN = re.compile(r"[%?#;\\\s]")


# The bucket names botocore sends a request for (anything else is its ParamValidationError,
# raised where no caller expects it); S3 itself is stricter, and says so in its answer.
_BUCKET_NAME = re.compile(r"[A-Za-z0-9.\-_]{1,255}")


def parse_s3_uri(uri: str) -> S3Location:
    """An s3://bucket/key URI's parts. BadInput for anything else, a bucket name no S3
    request can carry, or a key with "." or ".." segments (an S3 server or a proxy may
    resolve them, so the key would name another object than the one checked)."""
    if uri.startswith("s3://") and not _NOT_PLAIN.search(uri):
        # The plain case, without urlparse: a manifest's refs are checked one by one, and
        # urlparse was most of the cost of importing a million-line manifest of S3 refs.
        bucket, _, key = uri[5:].partition("/")
        key = key.lstrip("/")
    else:
        parsed = urlparse(uri)
        if parsed.scheme != "s3":
            raise BadInput(f"{uri!r} is not an s3://bucket/key URI")
        bucket, key = parsed.netloc, unquote(parsed.path.lstrip("/"))
    if not bucket:
        raise BadInput(f"{uri!r} is not an s3://bucket/key URI")
    if not _BUCKET_NAME.fullmatch(bucket):
        raise BadInput(
            f"{uri!r}: {bucket!r} is not an S3 bucket name (letters, digits, '.', '-' and '_')"
        )
    if ("/." in key or key.startswith(".")) and {".", ".."} & set(key.split("/")):
        raise BadInput(f"{uri!r}: an S3 key may not hold '.' or '..' segments")
    return S3Location(bucket=bucket, key=key)


def s3_error_reason(exc: BaseException) -> str | None:
    """What a botocore error says went wrong, in words (a missing key or bucket, no
    access, no server), or None when `exc` is not one of botocore's."""
    if not type(exc).__module__.startswith("botocore"):
        return None
    error = (getattr(exc, "response", None) or {}).get("Error") or {}
    code = str(error.get("Code") or "")
    if code in ("NoSuchKey", "404", "NotFound"):
        return "it does not exist"
    if code == "NoSuchBucket":
        bucket = error.get("BucketName")
        return f"the bucket {bucket!r} does not exist" if bucket else "its bucket does not exist"
    if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return f"access denied ({code})"
    if code:
        return f"{code}: {error.get('Message') or 'the S3 server refused it'}"
    return str(exc)  # no answer: the server cannot be reached, a bad parameter


def s3_client(endpoint_url: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url
        or os.environ.get("TRUTHSET_S3_ENDPOINT_URL")
        or os.environ.get("S3_ENDPOINT_URL"),
        config=Config(
            s3={"addressing_style": "path"}, retries={"max_attempts": 3}, signature_version="s3v4"
        ),
    )


def local_path_of(ref: str) -> Path | None:
    """The local path a `source-ref` names, or None for a remote (s3://) reference."""
    if ref.startswith("s3://"):
        return None
    if ref.startswith("file://"):
        ref = unquote(urlparse(ref).path)
    if "://" in ref:
        raise BadInput(f"source-ref {ref!r}: only s3:// URIs and local paths are supported")
    return Path(ref)


class AllowedRoots:
    """The folders and buckets that `source-ref` values may point into."""

    def __init__(self, roots: Iterable[str]):
        self.local: list[Path] = []
        self.s3: list[tuple[str, str]] = []
        # "s3://bucket/prefix/" of each S3 root: a plain ref is checked against these
        # strings without being parsed (a manifest's refs are checked one by one).
        self._s3_heads: tuple[str, ...] = ()
        for root in roots:
            self.add(root)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._s3_heads = tuple(
            f"s3://{bucket}/{prefix + '/' if prefix else ''}" for bucket, prefix in self.s3
        )

    def add(self, root: str) -> None:
        if root.startswith("s3://"):
            loc = parse_s3_uri(root)
            self.s3.append((loc.bucket, loc.key.rstrip("/")))
            self.__setstate__({})
        else:
            path = local_path_of(root)
            assert path is not None
            self.local.append(Path(os.path.realpath(path)))

    def allows(self, ref: str) -> bool:
        if ref.startswith("s3://"):
            if (
                ref.startswith(self._s3_heads)
                and "//" not in ref[5:]
                and "/." not in ref  # "." and ".." segments: parse_s3_uri refuses them
                and not _NOT_PLAIN.search(ref)
            ):
                return True  # the plain case: inside a root, nothing to parse
            try:
                loc = parse_s3_uri(ref)
            except BadInput:
                return False
            if ".." in loc.key.split("/"):
                return False
            return any(
                loc.bucket == bucket
                and (not prefix or loc.key == prefix or loc.key.startswith(prefix + "/"))
                for bucket, prefix in self.s3
            )
        try:
            path = local_path_of(ref)
        except BadInput:
            return False
        if path is None or not path.is_absolute():
            return False
        real = Path(os.path.realpath(path))
        return any(real == root or root in real.parents for root in self.local)

    def check(self, ref: str) -> None:
        if not self.allows(ref):
            raise Forbidden(f"source-ref {ref!r} is outside the allowed roots and buckets")


def open_ref(ref: str, roots: AllowedRoots, *, endpoint_url: str | None = None) -> BinaryIO:
    """Open an item's bytes for reading, after checking the roots."""
    roots.check(ref)
    return open_item_media(ref, endpoint_url=endpoint_url)


def open_item_media(ref: str, *, endpoint_url: str | None = None) -> BinaryIO:
    """Open the media of an item already in a dataset (its `source-ref` was checked
    against the allowed roots when it was imported), for server-side work on it:
    features, detections."""
    path = local_path_of(ref)
    if path is not None:
        return open(os.path.realpath(path), "rb")
    loc = parse_s3_uri(ref)
    body: BinaryIO = s3_client(endpoint_url).get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
    return body


def presigned_url(ref: str, *, endpoint_url: str | None = None, expires: int = 3600) -> str:
    """A time-limited URL for the browser; the caller has checked that `ref` may be read."""
    loc = parse_s3_uri(ref)
    return str(
        s3_client(endpoint_url).generate_presigned_url(
            "get_object", Params={"Bucket": loc.bucket, "Key": loc.key}, ExpiresIn=expires
        )
    )


def iter_s3_keys(uri: str, *, endpoint_url: str | None = None) -> Iterator[str]:
    """Every object key under an s3:// prefix, in key order (folder-like listing)."""
    loc = parse_s3_uri(uri)
    paginator = s3_client(endpoint_url).get_paginator("list_objects_v2")
    pages = iter(paginator.paginate(Bucket=loc.bucket, Prefix=loc.key))
    while True:
        try:
            page = next(pages)
        except StopIteration:
            return
        except Exception as exc:
            reason = s3_error_reason(exc)
            if reason is None:
                raise
            raise BadInput(f"{uri!r} cannot be listed ({reason})") from None
        for obj in page.get("Contents", []):
            yield obj["Key"]


def write_bytes(dest: str, data_iter: Iterable[bytes], *, endpoint_url: str | None = None) -> None:
    """Write a stream to a local path or an s3:// URI (multipart upload for S3)."""
    if dest.startswith("s3://"):
        import io

        loc = parse_s3_uri(dest)

        class _Reader(io.RawIOBase):
            def __init__(self, chunks: Iterable[bytes]):
                self._it = iter(chunks)
                self._buf = b""

            def readable(self) -> bool:
                return True

            def readinto(self, b: Any) -> int:
                while not self._buf:
                    try:
                        self._buf = next(self._it)
                    except StopIteration:
                        return 0
                n = min(len(b), len(self._buf))
                b[:n] = self._buf[:n]
                self._buf = self._buf[n:]
                return n

        s3_client(endpoint_url).upload_fileobj(
            io.BufferedReader(_Reader(data_iter), buffer_size=8 << 20), loc.bucket, loc.key
        )
        return
    path = Path(dest)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as fh:
        for chunk in data_iter:
            fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_document(
    ref: str,
    what: str,
    *,
    limit: int,
    roots: AllowedRoots | None = None,
    endpoint_url: str | None = None,
) -> bytes:
    """A small file (a label category file, a template) from a local path or an s3:// URI,
    at most `limit` bytes. With `roots` the location must be inside them (what an API
    caller names); without, any the process can read (what an operator names on the
    command line). Any failure to read is a BadInput naming `what` and where."""
    try:
        if roots is not None:
            with open_ref(ref, roots, endpoint_url=endpoint_url) as fh:
                data = fh.read(limit + 1)
        elif ref.startswith("s3://"):
            loc = parse_s3_uri(ref)
            body = s3_client(endpoint_url).get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
            data = body.read(limit + 1)
        else:
            with open(ref, "rb") as fh:
                data = fh.read(limit + 1)
    except (BadInput, Forbidden):
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read is the user's to fix
        raise BadInput(f"{what} {ref!r} cannot be read ({exc})") from None
    if len(data) > limit:
        raise BadInput(f"{what} {ref!r} is larger than {limit:,} bytes")
    return bytes(data)


# -- whole small files, with a version to cache by ----------------------------------------


@lru_cache(maxsize=8)
def shared_s3_client(endpoint_url: str | None = None) -> Any:
    """One client per endpoint for readers called per request: making a boto3 client costs
    tens of milliseconds, and one is safe to share between threads."""
    return s3_client(endpoint_url)


@dataclass(frozen=True)
class FileVersion:
    """What changes when a file does: a local file's real path, size and mtime, an S3
    object's size and ETag. ``str()`` of it goes into ETags of what is derived from it."""

    where: str
    size: int
    stamp: str

    def __str__(self) -> str:
        return f"{self.size}-{self.stamp}"


def _unreadable(what: str, ref: str, exc: BaseException) -> Exception:
    """The error for a file that cannot be read: NotFound for a missing one."""
    if isinstance(exc, FileNotFoundError):
        return NotFound(f"{what} {ref}: no such file")
    if isinstance(exc, OSError):
        return BadInput(f"{what} {ref}: cannot be read ({exc.strerror or exc})")
    reason = s3_error_reason(exc)
    if reason == "it does not exist":
        return NotFound(f"{what} {ref}: {reason}")
    return BadInput(f"{what} {ref}: cannot be read ({reason or exc})")


def file_version(ref: str, what: str, *, endpoint_url: str | None = None) -> FileVersion:
    """The version of the file at a local path or s3:// URI (a stat, or an S3 HEAD)."""
    path = local_path_of(ref)
    try:
        if path is not None:
            real = os.path.realpath(path)
            st = os.stat(real)
            return FileVersion(real, st.st_size, str(st.st_mtime_ns))
        loc = parse_s3_uri(ref)
        head = shared_s3_client(endpoint_url).head_object(Bucket=loc.bucket, Key=loc.key)
    except (BadInput, NotFound):
        raise
    except Exception as exc:  # noqa: BLE001 - a missing file or no access: say which
        raise _unreadable(what, ref, exc) from None
    etag = str(head.get("ETag") or "").strip('"')
    return FileVersion(ref, int(head.get("ContentLength") or 0), etag)


def read_limited(
    ref: str, what: str, limit: int, *, endpoint_url: str | None = None
) -> tuple[bytes, FileVersion]:
    """The whole file at a local path or s3:// URI, at most `limit` bytes (refused
    before reading when its size says more), and the version that was read."""
    path = local_path_of(ref)
    try:
        if path is not None:
            real = os.path.realpath(path)
            with open(real, "rb") as fh:
                st = os.fstat(fh.fileno())
                if st.st_size > limit:
                    raise BadInput(f"{what} {ref}: larger than {limit:,} bytes")
                data = fh.read(limit + 1)
            version = FileVersion(real, st.st_size, str(st.st_mtime_ns))
        else:
            loc = parse_s3_uri(ref)
            response = shared_s3_client(endpoint_url).get_object(Bucket=loc.bucket, Key=loc.key)
            size = int(response.get("ContentLength") or 0)
            if size > limit:
                response["Body"].close()
                raise BadInput(f"{what} {ref}: larger than {limit:,} bytes")
            data = response["Body"].read(limit + 1)
            version = FileVersion(ref, size, str(response.get("ETag") or "").strip('"'))
    except (BadInput, NotFound):
        raise
    except Exception as exc:  # noqa: BLE001 - a missing file or no access: say which
        raise _unreadable(what, ref, exc) from None
    if len(data) > limit:
        raise BadInput(f"{what} {ref}: larger than {limit:,} bytes")
    return bytes(data), version
