"""Opening an item's audio for decoding: a local path, or an S3 object read through a
seekable file of ranged GETs; the header facts of a recording, cached per version.

libsndfile (through `soundfile`) decodes WAV, FLAC, OGG/Vorbis/Opus, MP3... and seeks in
them, so a reader of a window asks for the bytes of that window only: a minute of a
one-hour S3 object costs a few requests, not the hour. `media.audio_windows` reads windows,
peaks and overviews through this module.
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import soundfile as sf

from truthset.errors import BadInput
from truthset.media.info import UnreadableMedia
from truthset.media.storage import local_path_of, parse_s3_uri, s3_client

# Ranged GETs of S3 objects are made this big: a window of a few seconds is one request.
S3_BLOCK_BYTES = 1 << 20
# A pass over a whole object reads it sequentially: fewer, larger requests.
S3_SCAN_BLOCK_BYTES = 8 << 20


@dataclass(frozen=True)
class AudioInfo:
    """What the header says: rate, length in frames, channels, container and encoding."""

    rate: int
    frames: int
    channels: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        return self.frames / self.rate


@lru_cache(maxsize=8)
def _client(endpoint_url: str | None) -> Any:
    # A boto3 client costs tens of milliseconds to make and is safe to share between threads.
    return s3_client(endpoint_url)


class S3RangeReader(io.RawIOBase):
    """A seekable, read-only file over an S3 object: reads become ranged GETs of
    `block_bytes`-sized blocks, the last few of which are kept."""

    def __init__(self, client: Any, bucket: str, key: str, size: int, *, block_bytes: int):
        super().__init__()
        self._client, self._bucket, self._key = client, bucket, key
        self._size, self._block = size, block_bytes
        self._pos = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        # libsndfile calls us through C callbacks, which cannot raise: the first failure is
        # kept here and raised by the caller once libsndfile returns.
        self.error: Exception | None = None
        self.requests = 0
        self.bytes_fetched = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _fetch(self, index: int) -> bytes:
        block = self._blocks.get(index)
        if block is not None:
            self._blocks.move_to_end(index)
            return block
        first = index * self._block
        last = min(self._size, first + self._block) - 1
        try:
            response = self._client.get_object(
                Bucket=self._bucket, Key=self._key, Range=f"bytes={first}-{last}"
            )
            block = response["Body"].read()
        except Exception as exc:
            self.error = self.error or exc
            raise
        self.requests += 1
        self.bytes_fetched += len(block)
        self._blocks[index] = block
        while len(self._blocks) > 4:
            self._blocks.popitem(last=False)
        return block

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._size:
            index, offset = divmod(self._pos, self._block)
            block = self._fetch(index)
            n = min(len(view) - done, len(block) - offset)
            if n <= 0:
                break
            view[done : done + n] = block[offset : offset + n]
            done += n
            self._pos += n
        return done


@dataclass(frozen=True)
class Source:
    """Where a reference's bytes are, and a key that changes when they change."""

    ref: str
    path: str | None
    size: int
    identity: tuple[Any, ...]
    endpoint_url: str | None


class MissingMedia(UnreadableMedia):
    """The file or object is not there (a 404 to the browser, not a 400)."""


def _is_missing(exc: Exception) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    return str(code) in ("404", "NoSuchKey", "NotFound")


def source_of(ref: str, endpoint_url: str | None) -> Source:
    try:
        path = local_path_of(ref)
    except BadInput as exc:
        raise UnreadableMedia(f"{ref}: {exc.detail}") from None
    if path is not None:
        real = os.path.realpath(path)
        try:
            st = os.stat(real)
        except FileNotFoundError as exc:
            raise MissingMedia(f"{ref}: {exc.strerror or exc}") from None
        except OSError as exc:
            raise UnreadableMedia(f"{ref}: {exc.strerror or exc}") from None
        return Source(ref, real, st.st_size, (real, st.st_size, st.st_mtime_ns), endpoint_url)
    loc = parse_s3_uri(ref)
    try:
        head = _client(endpoint_url).head_object(Bucket=loc.bucket, Key=loc.key)
    except Exception as exc:
        kind = MissingMedia if _is_missing(exc) else UnreadableMedia
        raise kind(f"{ref}: cannot read the object ({exc})") from None
    size = int(head["ContentLength"])
    return Source(ref, None, size, (ref, endpoint_url, head.get("ETag"), size), endpoint_url)


@contextmanager
def open_source(source: Source, *, block_bytes: int = S3_BLOCK_BYTES) -> Iterator[sf.SoundFile]:
    reader: S3RangeReader | None = None
    try:
        if source.path is not None:
            handle = sf.SoundFile(source.path)
        else:
            loc = parse_s3_uri(source.ref)
            reader = S3RangeReader(
                _client(source.endpoint_url),
                loc.bucket,
                loc.key,
                source.size,
                block_bytes=block_bytes,
            )
            handle = sf.SoundFile(reader)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        cause = reader.error if reader is not None and reader.error else exc
        raise UnreadableMedia(f"{source.ref}: not a readable audio file ({cause})") from None
    try:
        with handle:
            yield handle
    except (sf.LibsndfileError, RuntimeError) as exc:
        cause = reader.error if reader is not None and reader.error else exc
        raise UnreadableMedia(f"{source.ref}: cannot decode the audio ({cause})") from None
    if reader is not None and reader.error is not None:
        raise UnreadableMedia(f"{source.ref}: cannot read the object ({reader.error})")


def mono(block: np.ndarray) -> np.ndarray:
    if block.ndim == 2:
        block = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(block, dtype=np.float32)


# ---------------------------------------------------------------------------------------
# Header facts and windows


_info_cache: OrderedDict[tuple[Any, ...], AudioInfo] = OrderedDict()
_info_lock = threading.Lock()


def info_of(source: Source) -> AudioInfo:
    with _info_lock:
        known = _info_cache.get(source.identity)
    if known is not None:
        return known
    with open_source(source) as f:
        info = AudioInfo(int(f.samplerate), int(f.frames), int(f.channels), f.format, f.subtype)
    if info.rate <= 0:
        raise UnreadableMedia(f"{source.ref}: the header has no sample rate")
    with _info_lock:
        _info_cache[source.identity] = info
        while len(_info_cache) > 4096:
            _info_cache.popitem(last=False)
    return info


def clear_info_cache() -> None:
    with _info_lock:
        _info_cache.clear()


def audio_info(ref: str, *, endpoint_url: str | None = None) -> AudioInfo:
    """Rate, frames, channels and format of the audio at a local path or s3:// URI.
    Raises UnreadableMedia when it cannot be read or is not audio libsndfile decodes."""
    return info_of(source_of(ref, endpoint_url))


def duration_of(ref: str, *, endpoint_url: str | None = None) -> float:
    """The recording's length in seconds."""
    return audio_info(ref, endpoint_url=endpoint_url).duration
