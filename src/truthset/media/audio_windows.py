"""Time windows of an item's audio: samples, min/max peaks, and an overview per recording.

The audio tools show an hour of audio a minute at a time, and pre-segmentation reads a
recording in pieces, so nothing here reads more of a file than the window asked for:
`soundfile` (libsndfile: WAV, FLAC, OGG/Vorbis/Opus, MP3...) seeks to the window's first
frame. Local files are opened by path; S3 objects through a file-like reader that fetches
ranged GETs in blocks, so a minute of a one-hour object costs a few requests, not the hour.

The one read of a whole recording is its *overview*: the min and max of every bucket of
`bucket` frames (at most `OVERVIEW_MAX_BUCKETS` buckets), made once per recording and kept
in memory, from which the peaks of any window wider than two buckets per bin are drawn.
Narrower windows read their own samples.

Times are seconds; a time becomes the frame `round(t * rate)`. Samples are mono float32 in
[-1, 1] (channels averaged). References are an item's `source-ref`, checked against the
allowed roots when it was imported; callers check who may read them.
"""

from __future__ import annotations

import io
import math
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
# The overview reads the whole object once, sequentially: fewer, larger requests.
S3_SCAN_BLOCK_BYTES = 8 << 20
OVERVIEW_MIN_BUCKET = 256
OVERVIEW_MAX_BUCKETS = 1 << 20
# Overviews kept in memory, by their bytes (an hour at 16 kHz is 1.8 MB).
OVERVIEW_CACHE_BYTES = 128 << 20
# Frames decoded per step while scanning a recording (about 4 MB of float32 mono at most).
_SCAN_FRAMES = OVERVIEW_MIN_BUCKET * 4096


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


@dataclass(frozen=True)
class Peaks:
    """Min and max of the samples of each of `len(min)` bins covering frames
    [start_frame, end_frame)."""

    start_frame: int
    end_frame: int
    rate: int
    min: np.ndarray
    max: np.ndarray

    @property
    def frames_per_bin(self) -> float:
        return (self.end_frame - self.start_frame) / max(1, len(self.min))


@dataclass(frozen=True)
class Overview:
    """Min and max of every `bucket` frames of the whole recording (the last bucket may be
    shorter)."""

    info: AudioInfo
    bucket: int
    min: np.ndarray
    max: np.ndarray


# ---------------------------------------------------------------------------------------
# Opening: a local path, or an S3 object read in ranged blocks


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
class _Source:
    """Where a reference's bytes are, and a key that changes when they change."""

    ref: str
    path: str | None
    size: int
    identity: tuple[Any, ...]
    endpoint_url: str | None


def _source(ref: str, endpoint_url: str | None) -> _Source:
    try:
        path = local_path_of(ref)
    except BadInput as exc:
        raise UnreadableMedia(f"{ref}: {exc.detail}") from None
    if path is not None:
        real = os.path.realpath(path)
        try:
            st = os.stat(real)
        except OSError as exc:
            raise UnreadableMedia(f"{ref}: {exc.strerror or exc}") from None
        return _Source(ref, real, st.st_size, (real, st.st_size, st.st_mtime_ns), endpoint_url)
    loc = parse_s3_uri(ref)
    try:
        head = _client(endpoint_url).head_object(Bucket=loc.bucket, Key=loc.key)
    except Exception as exc:
        raise UnreadableMedia(f"{ref}: cannot read the object ({exc})") from None
    size = int(head["ContentLength"])
    return _Source(ref, None, size, (ref, endpoint_url, head.get("ETag"), size), endpoint_url)


@contextmanager
def _open(source: _Source, *, block_bytes: int = S3_BLOCK_BYTES) -> Iterator[sf.SoundFile]:
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


def _mono(block: np.ndarray) -> np.ndarray:
    if block.ndim == 2:
        block = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(block, dtype=np.float32)


# ---------------------------------------------------------------------------------------
# Header facts and windows


_info_cache: OrderedDict[tuple[Any, ...], AudioInfo] = OrderedDict()
_info_lock = threading.Lock()


def _info_of(source: _Source) -> AudioInfo:
    with _info_lock:
        known = _info_cache.get(source.identity)
    if known is not None:
        return known
    with _open(source) as f:
        info = AudioInfo(int(f.samplerate), int(f.frames), int(f.channels), f.format, f.subtype)
    if info.rate <= 0:
        raise UnreadableMedia(f"{source.ref}: the header has no sample rate")
    with _info_lock:
        _info_cache[source.identity] = info
        while len(_info_cache) > 4096:
            _info_cache.popitem(last=False)
    return info


def audio_info(ref: str, *, endpoint_url: str | None = None) -> AudioInfo:
    """Rate, frames, channels and format of the audio at a local path or s3:// URI.
    Raises UnreadableMedia when it cannot be read or is not audio libsndfile decodes."""
    return _info_of(_source(ref, endpoint_url))


def duration_of(ref: str, *, endpoint_url: str | None = None) -> float:
    """The recording's length in seconds."""
    return audio_info(ref, endpoint_url=endpoint_url).duration


def _frames(info: AudioInfo, start_s: float, end_s: float) -> tuple[int, int]:
    for name, value in (("start", start_s), ("end", end_s)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise BadInput(f"{name}: {value!r} is not a finite number of seconds >= 0")
    if end_s <= start_s:
        raise BadInput(f"end: {end_s!r} must be after start ({start_s!r})")
    first = min(info.frames, round(start_s * info.rate))
    last = min(info.frames, round(end_s * info.rate))
    return first, max(first, last)


def _read_frames(f: sf.SoundFile, first: int, last: int) -> np.ndarray:
    if last <= first:
        return np.zeros(0, dtype=np.float32)
    f.seek(first)
    return _mono(f.read(last - first, dtype="float32", always_2d=True))


def read_window(
    ref: str, start_s: float, end_s: float, *, endpoint_url: str | None = None
) -> tuple[np.ndarray, int]:
    """The mono float32 samples of [start_s, end_s) and the sample rate. A window past the
    end is cut at the end (a window starting there is empty); only its frames are read."""
    source = _source(ref, endpoint_url)
    info = _info_of(source)
    first, last = _frames(info, start_s, end_s)
    if last <= first:
        return np.zeros(0, dtype=np.float32), info.rate
    with _open(source) as f:
        return _read_frames(f, first, last), info.rate


def iter_windows(
    ref: str, seconds: float, *, endpoint_url: str | None = None
) -> Iterator[tuple[float, np.ndarray, int]]:
    """The whole recording in consecutive windows of `seconds`: (start time, samples, rate),
    read through one open file (for a pass over a long recording without holding it)."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise BadInput(f"seconds: {seconds!r} must be a positive number")
    source = _source(ref, endpoint_url)
    info = _info_of(source)
    step = max(1, round(seconds * info.rate))
    with _open(source, block_bytes=S3_SCAN_BLOCK_BYTES) as f:
        for first in range(0, info.frames, step):
            block = _read_frames(f, first, min(info.frames, first + step))
            if len(block) == 0:
                break
            yield first / info.rate, block, info.rate


# ---------------------------------------------------------------------------------------
# Peaks and the overview


def _bin_edges(n: int, bins: int) -> np.ndarray:
    return (np.arange(bins, dtype=np.int64) * n) // bins


def peaks_of(samples: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of `bins` near-equal runs of `samples` (fewer bins when there are fewer
    samples than bins)."""
    bins = min(bins, len(samples))
    if bins <= 0:
        empty = np.zeros(0, dtype=np.float32)
        return empty, empty
    starts = _bin_edges(len(samples), bins)
    return np.minimum.reduceat(samples, starts), np.maximum.reduceat(samples, starts)


_overviews: OrderedDict[tuple[Any, ...], Overview] = OrderedDict()
_overview_bytes = 0
_overview_lock = threading.Lock()
# One lock per recording being scanned, so two requests for a new recording scan it once.
_scan_locks: dict[tuple[Any, ...], threading.Lock] = {}


def _bucket_for(frames: int) -> int:
    bucket = OVERVIEW_MIN_BUCKET
    while frames / bucket > OVERVIEW_MAX_BUCKETS:
        bucket *= 2
    return bucket


def _scan(source: _Source, info: AudioInfo) -> Overview:
    bucket = _bucket_for(info.frames)
    n = math.ceil(info.frames / bucket)
    mins = np.zeros(n, dtype=np.float32)
    maxs = np.zeros(n, dtype=np.float32)
    # 16-bit PCM decoded as int16 is about five times faster than as float32, and exact.
    as_int16 = info.subtype == "PCM_16" and info.channels == 1
    step = bucket * max(1, _SCAN_FRAMES // bucket)
    done = 0
    with _open(source, block_bytes=S3_SCAN_BLOCK_BYTES) as f:
        for block in f.blocks(blocksize=step, dtype="int16" if as_int16 else "float32"):
            samples = block if as_int16 else _mono(block)
            if len(samples) == 0:
                break
            whole = len(samples) // bucket * bucket
            i = done // bucket
            if whole:
                shaped = samples[:whole].reshape(-1, bucket)
                mins[i : i + len(shaped)] = shaped.min(axis=1)
                maxs[i : i + len(shaped)] = shaped.max(axis=1)
            if whole < len(samples):
                rest = samples[whole:]
                mins[i + whole // bucket] = rest.min()
                maxs[i + whole // bucket] = rest.max()
            done += len(samples)
    if as_int16:
        mins /= 32768.0
        maxs /= 32768.0
    filled = math.ceil(done / bucket)  # a header that promised more frames than there are
    return Overview(info, bucket, mins[:filled], maxs[:filled])


def _overview_of(source: _Source) -> Overview:
    global _overview_bytes
    key = source.identity
    with _overview_lock:
        known = _overviews.get(key)
        if known is not None:
            _overviews.move_to_end(key)
            return known
        scan_lock = _scan_locks.setdefault(key, threading.Lock())
    with scan_lock:
        with _overview_lock:
            known = _overviews.get(key)
        if known is not None:
            return known
        made = _scan(source, _info_of(source))
        with _overview_lock:
            _overviews[key] = made
            _overview_bytes += made.min.nbytes + made.max.nbytes
            while _overview_bytes > OVERVIEW_CACHE_BYTES and len(_overviews) > 1:
                _, old = _overviews.popitem(last=False)
                _overview_bytes -= old.min.nbytes + old.max.nbytes
            _scan_locks.pop(key, None)
        return made


def overview(ref: str, *, endpoint_url: str | None = None) -> Overview:
    """The recording's overview, scanned on first use and kept while memory allows."""
    return _overview_of(_source(ref, endpoint_url))


def window_peaks(
    ref: str, start_s: float, end_s: float, bins: int, *, endpoint_url: str | None = None
) -> Peaks:
    """Min and max of [start_s, end_s) in `bins` bins (fewer when the window has fewer
    frames). Wide windows come from the overview, narrow ones from their own samples."""
    if not isinstance(bins, int) or bins < 1:
        raise BadInput(f"bins: {bins!r} must be a positive whole number")
    source = _source(ref, endpoint_url)
    info = _info_of(source)
    first, last = _frames(info, start_s, end_s)
    n = last - first
    if n <= 0:
        empty = np.zeros(0, dtype=np.float32)
        return Peaks(first, last, info.rate, empty, empty)
    bins = min(bins, n)
    if n / bins >= 2 * _bucket_for(info.frames):
        ov = _overview_of(source)
        # Bin edges at bucket resolution: each bin is at least two buckets wide, so a peak
        # is drawn at most one bucket from where it is.
        edges = (first + _bin_edges(n, bins)) // ov.bucket
        stop = min(len(ov.min), math.ceil(last / ov.bucket))
        lo = int(edges[0])
        # (A header may promise more frames than the scan found: clip to what it found.)
        starts = np.minimum(edges, stop - 1) - lo
        return Peaks(
            first,
            last,
            info.rate,
            np.minimum.reduceat(ov.min[lo:stop], starts),
            np.maximum.reduceat(ov.max[lo:stop], starts),
        )
    with _open(source) as f:
        samples = _read_frames(f, first, last)
    low, high = peaks_of(samples, bins)
    return Peaks(first, first + len(samples), info.rate, low, high)


def clear_caches() -> None:
    """Forget header facts and overviews (tests; objects replaced in place under one ETag)."""
    global _overview_bytes
    with _info_lock:
        _info_cache.clear()
    with _overview_lock:
        _overviews.clear()
        _overview_bytes = 0
