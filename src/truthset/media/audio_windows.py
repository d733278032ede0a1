"""Time windows of an item's audio: samples, min/max peaks, and an overview per recording.

The audio tools show an hour of audio a minute at a time, and pre-segmentation reads a
recording in pieces, so nothing here reads more of a file than the window asked for:
`soundfile` (libsndfile: WAV, FLAC, OGG/Vorbis/Opus, MP3...) seeks to the window's first
frame (`media.audio_source` opens local files by path and S3 objects by ranged GETs).

The one read of a whole recording is its *overview*: the min and max of every bucket of
`bucket` frames (at most `OVERVIEW_MAX_BUCKETS` buckets), made once per recording and kept
in memory, from which the peaks of any window wider than two buckets per bin are drawn (a
peak is then drawn at most one bucket from where it is). Narrower windows read their own
samples. Given a `cache_dir`, the overviews of long recordings are also kept there, for
the other app processes and the next start.

Times are seconds; a time becomes the frame `round(t * rate)`. Samples are mono float32 in
[-1, 1] (channels averaged). References are an item's `source-ref`, checked against the
allowed roots when it was imported; callers check who may read them.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from truthset.errors import BadInput
from truthset.media.audio_source import (
    S3_SCAN_BLOCK_BYTES,
    AudioInfo,
    Source,
    audio_info,
    clear_info_cache,
    duration_of,
    info_of,
    mono,
    open_source,
    source_of,
)

__all__ = [
    "AudioInfo",
    "Overview",
    "Peaks",
    "audio_info",
    "clear_caches",
    "duration_of",
    "iter_windows",
    "overview",
    "peaks_of",
    "read_window",
    "window_peaks",
]

OVERVIEW_MIN_BUCKET = 256
OVERVIEW_MAX_BUCKETS = 1 << 20
# Overviews kept in memory, by their bytes (an hour at 16 kHz is 1.8 MB).
OVERVIEW_CACHE_BYTES = 128 << 20
# Overviews of recordings at least this long are kept in `cache_dir` (about 9 minutes at
# 16 kHz): shorter ones scan in a few milliseconds, and would be many small files.
STORED_OVERVIEW_FRAMES = 1 << 23
# Frames decoded per step while scanning a recording (about 4 MB of float32 mono at most).
_SCAN_FRAMES = OVERVIEW_MIN_BUCKET * 4096


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
# Windows


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
    return mono(f.read(last - first, dtype="float32", always_2d=True))


def read_window(
    ref: str, start_s: float, end_s: float, *, endpoint_url: str | None = None
) -> tuple[np.ndarray, int]:
    """The mono float32 samples of [start_s, end_s) and the sample rate. A window past the
    end is cut at the end (a window starting there is empty); only its frames are read."""
    source = source_of(ref, endpoint_url)
    info = info_of(source)
    first, last = _frames(info, start_s, end_s)
    if last <= first:
        return np.zeros(0, dtype=np.float32), info.rate
    with open_source(source) as f:
        return _read_frames(f, first, last), info.rate


def iter_windows(
    ref: str, seconds: float, *, endpoint_url: str | None = None
) -> Iterator[tuple[float, np.ndarray, int]]:
    """The whole recording in consecutive windows of `seconds`: (start time, samples, rate),
    read through one open file (for a pass over a long recording without holding it)."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise BadInput(f"seconds: {seconds!r} must be a positive number")
    source = source_of(ref, endpoint_url)
    info = info_of(source)
    step = max(1, round(seconds * info.rate))
    with open_source(source, block_bytes=S3_SCAN_BLOCK_BYTES) as f:
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


def _scan(source: Source, info: AudioInfo) -> Overview:
    bucket = _bucket_for(info.frames)
    n = math.ceil(info.frames / bucket)
    mins = np.zeros(n, dtype=np.float32)
    maxs = np.zeros(n, dtype=np.float32)
    # 16-bit PCM decoded as int16 is about five times faster than as float32, and exact.
    as_int16 = info.subtype == "PCM_16" and info.channels == 1
    step = bucket * max(1, _SCAN_FRAMES // bucket)
    done = 0
    with open_source(source, block_bytes=S3_SCAN_BLOCK_BYTES) as f:
        for block in f.blocks(blocksize=step, dtype="int16" if as_int16 else "float32"):
            samples = block if as_int16 else mono(block)
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


def _stored_path(cache_dir: Path, source: Source) -> Path:
    # The identity holds the path, size and mtime (S3: the key, ETag and size), so a file
    # replaced in place has another name, and the old one is never read again.
    digest = hashlib.sha256(repr(source.identity).encode()).hexdigest()[:40]
    return cache_dir / f"{digest}.npz"


def _load_stored(path: Path, info: AudioInfo) -> Overview | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            bucket = int(stored["bucket"])
            mins = stored["min"].astype(np.float32, copy=False)
            maxs = stored["max"].astype(np.float32, copy=False)
    except (OSError, KeyError, ValueError):
        return None  # missing, or half-written by a process that died: scan again
    if bucket != _bucket_for(info.frames) or mins.shape != maxs.shape or mins.ndim != 1:
        return None
    return Overview(info, bucket, mins, maxs)


def _store(path: Path, made: Overview) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.partial.npz")
        np.savez(partial, bucket=np.int64(made.bucket), min=made.min, max=made.max)
        os.replace(partial, path)
    except OSError:
        pass  # a cache that cannot be written is only slower


def _overview_of(source: Source, cache_dir: Path | None) -> Overview:
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
        info = info_of(source)
        stored = cache_dir is not None and info.frames >= STORED_OVERVIEW_FRAMES
        path = _stored_path(cache_dir, source) if cache_dir is not None and stored else None
        made = _load_stored(path, info) if path is not None else None
        if made is None:
            made = _scan(source, info)
            if path is not None:
                _store(path, made)
        with _overview_lock:
            _overviews[key] = made
            _overview_bytes += made.min.nbytes + made.max.nbytes
            while _overview_bytes > OVERVIEW_CACHE_BYTES and len(_overviews) > 1:
                _, old = _overviews.popitem(last=False)
                _overview_bytes -= old.min.nbytes + old.max.nbytes
            _scan_locks.pop(key, None)
        return made


def overview(
    ref: str, *, endpoint_url: str | None = None, cache_dir: Path | None = None
) -> Overview:
    """The recording's overview, scanned on first use (or read from `cache_dir`) and kept
    in memory while it allows."""
    return _overview_of(source_of(ref, endpoint_url), cache_dir)


def window_peaks(
    ref: str,
    start_s: float,
    end_s: float,
    bins: int,
    *,
    endpoint_url: str | None = None,
    cache_dir: Path | None = None,
) -> Peaks:
    """Min and max of [start_s, end_s) in `bins` bins (fewer when the window has fewer
    frames). Wide windows come from the overview, narrow ones from their own samples."""
    if not isinstance(bins, int) or bins < 1:
        raise BadInput(f"bins: {bins!r} must be a positive whole number")
    source = source_of(ref, endpoint_url)
    info = info_of(source)
    first, last = _frames(info, start_s, end_s)
    n = last - first
    if n <= 0:
        empty = np.zeros(0, dtype=np.float32)
        return Peaks(first, last, info.rate, empty, empty)
    bins = min(bins, n)
    if n / bins >= 2 * _bucket_for(info.frames):
        ov = _overview_of(source, cache_dir)
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
    with open_source(source) as f:
        samples = _read_frames(f, first, last)
    low, high = peaks_of(samples, bins)
    return Peaks(first, first + len(samples), info.rate, low, high)


def clear_caches() -> None:
    """Forget header facts and overviews (tests; objects replaced in place under one ETag)."""
    global _overview_bytes
    clear_info_cache()
    with _overview_lock:
        _overviews.clear()
        _overview_bytes = 0
