"""Audio with known truth for the audio-segment tests: "speakers" as voiced tones of
different pitches (a fundamental and its harmonics, with a syllable-rate tremolo and short
fades), sound events as noise bursts, over a faint noise floor; written as WAV with
soundfile. The truth is the list of (label, start, end) it was made from."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16_000
# Fundamental frequency per "speaker" (Hz).
PITCHES = {"alice": 220.0, "bob": 120.0, "carol": 330.0}
FLOOR = 0.002  # the noise floor's standard deviation
FADE_S = 0.01


def voice(pitch: float, seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in range(1, 6))
    tremolo = 0.75 + 0.25 * np.sin(2 * np.pi * 4.0 * t)  # about 4 syllables a second
    return 0.25 * wave * tremolo


def burst(seconds: float, rng: np.random.Generator, rate: int = RATE) -> np.ndarray:
    return rng.normal(0, 0.3, round(seconds * rate))


def _fade(x: np.ndarray, rate: int) -> np.ndarray:
    n = min(len(x) // 2, round(FADE_S * rate))
    if n:
        ramp = np.linspace(0, 1, n)
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def render(
    truth: Sequence[tuple[str, float, float]],
    seconds: float,
    *,
    rate: int = RATE,
    seed: int = 0,
) -> np.ndarray:
    """The mono signal of ``truth``: a voice per label in PITCHES, a noise burst for any
    other label (a sound event)."""
    rng = np.random.default_rng(seed)
    out = rng.normal(0, FLOOR, round(seconds * rate))
    for label, start, end in truth:
        length = end - start
        sound = (
            voice(PITCHES[label], length, rate) if label in PITCHES else burst(length, rng, rate)
        )
        first = round(start * rate)
        piece = _fade(sound, rate)[: len(out) - first]
        out[first : first + len(piece)] += piece
    return np.clip(out, -1, 1).astype(np.float32)


def write_wav(
    path: Path,
    truth: Sequence[tuple[str, float, float]],
    seconds: float,
    *,
    rate: int = RATE,
    seed: int = 0,
) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), render(truth, seconds, rate=rate, seed=seed), rate, subtype="PCM_16")
    return str(path)


def dialogue(turns: int = 8, *, seed: int = 0) -> tuple[list[tuple[str, float, float]], float]:
    """Alternating turns of alice and bob with pauses: (truth, total seconds)."""
    rng = np.random.default_rng(seed)
    truth = []
    t = 0.4
    for k in range(turns):
        length = round(float(rng.uniform(0.8, 2.0)), 3)
        truth.append(("alice" if k % 2 == 0 else "bob", round(t, 3), round(t + length, 3)))
        t += length + float(rng.uniform(0.4, 0.9))
    return truth, round(t + 0.3, 3)
