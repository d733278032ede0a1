"""Voice (and sound) activity on mono float samples, without a model: where in a recording
something is heard, as ``(start, end)`` seconds, for pre-segmentation.

Two detectors mark fixed frames active or not:

- ``energy``: the RMS level of each 10 ms frame in dBFS against a threshold. Unless given,
  the threshold is the recording's noise floor plus ``margin_db`` (12 dB), and never below
  -60 dBFS, so that a faint hiss stays silent in a quiet file. The floor is the 2nd
  percentile of the levels of the frames that are not digital silence (zeros padding a
  file would pull it down to nothing): a recording needs pauses for 2 % of its time, so
  that one of 95 % speech is still heard. It hears any sound: speech, music, a door.
- ``webrtcvad``: WebRTC's voice activity detector (the ``webrtcvad-wheels`` package) on 30
  ms frames of 16-bit PCM; ``aggressiveness`` 0-3 (3 rejects the most non-speech). Rates
  other than 8, 16, 32 or 48 kHz are resampled to 16 kHz by linear interpolation (enough
  to tell voice from silence).

Both take the recording as one array or as consecutive chunks (``Iterable`` of arrays, e.g.
``media.audio_windows.iter_windows``), so an hour never has to be in memory at once: only
one number (or flag) per frame is kept. The flags then become segments: gaps shorter than
``min_silence_s`` are bridged, segments shorter than ``min_speech_s`` dropped, and each
kept one is widened by ``pad_s`` on both sides (within the recording; widened neighbours
that meet are merged).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

ENERGY_FRAME_S = 0.01
WEBRTC_FRAME_MS = 30
WEBRTC_RATES = (8000, 16000, 32000, 48000)
FLOOR_PERCENTILE = 2.0
MIN_THRESHOLD_DB = -60.0
# The level of a frame of digital silence (log of zero).
SILENCE_DB = -120.0


@dataclass(frozen=True)
class SegmentRules:
    """How frame flags become segments (seconds)."""

    min_speech_s: float = 0.2
    min_silence_s: float = 0.25
    pad_s: float = 0.05

    def __post_init__(self) -> None:
        for name in ("min_speech_s", "min_silence_s", "pad_s"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name}: {value!r} must be a number of seconds >= 0")


def _chunks(samples: np.ndarray | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    if isinstance(samples, np.ndarray):
        yield samples
        return
    yield from samples


def _frames(chunks: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """(k, size) blocks of consecutive frames; the remainder of a chunk is carried into the
    next one; the last partial frame is padded with zeros."""
    carry = np.zeros(0, dtype=np.float32)
    for chunk in chunks:
        x = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if x.size == 0:
            continue
        if carry.size:
            x = np.concatenate([carry, x])
        whole = (x.size // size) * size
        if whole:
            yield x[:whole].reshape(-1, size)
        carry = x[whole:]
    if carry.size:
        yield np.concatenate([carry, np.zeros(size - carry.size, dtype=np.float32)])[None, :]


def frame_levels(
    samples: np.ndarray | Iterable[np.ndarray], rate: int, frame_s: float = ENERGY_FRAME_S
) -> np.ndarray:
    """The RMS level in dBFS of each ``frame_s`` frame (digital silence: -120)."""
    _check_rate(rate)
    size = max(1, round(frame_s * rate))
    levels = []
    for block in _frames(_chunks(samples), size):
        rms = np.sqrt(np.mean(np.square(block, dtype=np.float64), axis=1))
        levels.append(20 * np.log10(np.maximum(rms, 10 ** (SILENCE_DB / 20))))
    return np.concatenate(levels) if levels else np.zeros(0)


def energy_threshold(levels: np.ndarray, margin_db: float = 12.0) -> float:
    """The noise floor of the levels plus ``margin_db``, at least -60 dBFS."""
    sounding = levels[levels > SILENCE_DB + 1.0]
    if sounding.size == 0:
        return MIN_THRESHOLD_DB
    floor = float(np.percentile(sounding, FLOOR_PERCENTILE))
    return max(floor + margin_db, MIN_THRESHOLD_DB)


def energy_activity(
    samples: np.ndarray | Iterable[np.ndarray],
    rate: int,
    *,
    threshold_db: float | None = None,
    margin_db: float = 12.0,
    frame_s: float = ENERGY_FRAME_S,
) -> tuple[np.ndarray, float]:
    """Per ``frame_s`` frame: whether its level is above the threshold; and the frame length."""
    levels = frame_levels(samples, rate, frame_s)
    threshold = energy_threshold(levels, margin_db) if threshold_db is None else threshold_db
    return levels > threshold, max(1, round(frame_s * rate)) / rate


def _resampled(chunks: Iterable[np.ndarray], rate: int, target: int) -> Iterator[np.ndarray]:
    for chunk in chunks:
        x = np.asarray(chunk, dtype=np.float32).reshape(-1)
        n = round(x.size * target / rate)
        if n == 0:
            continue
        yield np.interp(np.arange(n) * (rate / target), np.arange(x.size), x).astype(np.float32)


def webrtc_activity(
    samples: np.ndarray | Iterable[np.ndarray],
    rate: int,
    *,
    aggressiveness: int = 2,
    frame_ms: int = WEBRTC_FRAME_MS,
) -> tuple[np.ndarray, float]:
    """Per ``frame_ms`` frame: whether WebRTC's detector hears voice; and the frame length."""
    import webrtcvad

    _check_rate(rate)
    if aggressiveness not in (0, 1, 2, 3):
        raise ValueError(f"aggressiveness: {aggressiveness!r} is not 0, 1, 2 or 3")
    if frame_ms not in (10, 20, 30):
        raise ValueError(f"frame_ms: {frame_ms!r} is not 10, 20 or 30")
    chunks = _chunks(samples)
    work_rate = rate
    if rate not in WEBRTC_RATES:
        chunks, work_rate = _resampled(chunks, rate, 16000), 16000
    size = work_rate * frame_ms // 1000
    vad = webrtcvad.Vad(aggressiveness)
    flags: list[bool] = []
    for block in _frames(chunks, size):
        pcm = (np.clip(block, -1.0, 1.0) * 32767).astype("<i2")
        flags.extend(vad.is_speech(frame.tobytes(), work_rate) for frame in pcm)
    return np.array(flags, dtype=bool), size / work_rate


def activity_segments(
    active: np.ndarray,
    frame_s: float,
    duration: float | None = None,
    rules: SegmentRules | None = None,
) -> list[tuple[float, float]]:
    """Frame flags as ``(start, end)`` seconds by ``rules`` (see the module doc), rounded to
    milliseconds and within ``[0, duration]`` (the frames' extent when not given)."""
    rules = rules or SegmentRules()
    flags = np.asarray(active, dtype=bool).reshape(-1)
    end_of_audio = float(duration) if duration is not None else flags.size * frame_s
    if not flags.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    runs = edges.reshape(-1, 2) * frame_s  # [start, end) of each active run
    merged: list[list[float]] = []
    for start, end in runs.tolist():
        if merged and start - merged[-1][1] < rules.min_silence_s:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    out: list[tuple[float, float]] = []
    for start, end in merged:
        if end - start < rules.min_speech_s:
            continue
        lo = max(0.0, start - rules.pad_s)
        hi = min(end_of_audio, end + rules.pad_s)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], hi)
        elif hi > lo:
            out.append((lo, hi))
    return [(round(a, 3), round(b, 3)) for a, b in out if round(b, 3) > round(a, 3)]


def detect_segments(
    samples: np.ndarray | Iterable[np.ndarray],
    rate: int,
    method: str = "energy",
    *,
    duration: float | None = None,
    rules: SegmentRules | None = None,
    threshold_db: float | None = None,
    aggressiveness: int = 2,
) -> list[tuple[float, float]]:
    """Where something is heard: ``method`` "energy" or "webrtcvad" (module doc)."""
    if method == "energy":
        active, frame_s = energy_activity(samples, rate, threshold_db=threshold_db)
    elif method == "webrtcvad":
        active, frame_s = webrtc_activity(samples, rate, aggressiveness=aggressiveness)
    else:
        raise ValueError(f"method: {method!r} is not 'energy' or 'webrtcvad'")
    return activity_segments(active, frame_s, duration, rules)


def _check_rate(rate: int) -> None:
    if isinstance(rate, bool) or not isinstance(rate, int | np.integer) or rate <= 0:
        raise ValueError(f"rate: {rate!r} is not a positive number of samples per second")
