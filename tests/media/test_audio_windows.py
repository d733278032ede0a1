"""Audio windows: samples and peaks of a time window, read by seeking, from local files and
from a real S3 server, in the formats libsndfile decodes."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import require
from truthset.errors import BadInput
from truthset.media import audio_windows as aw
from truthset.media.audio_source import S3_BLOCK_BYTES, S3RangeReader
from truthset.media.info import UnreadableMedia
from truthset.media.storage import parse_s3_uri, s3_client

RATE = 16_000


def tones(seconds: float, onsets: list[tuple[float, float, float]], rate: int = RATE) -> np.ndarray:
    """Silence with sine tones (onset s, length s, frequency Hz) at amplitude 0.5."""
    out = np.zeros(round(seconds * rate), dtype=np.float32)
    for onset, length, freq in onsets:
        first, n = round(onset * rate), round(length * rate)
        t = np.arange(n) / rate
        out[first : first + n] = 0.5 * np.sin(2 * np.pi * freq * t)
    return out


@pytest.fixture(autouse=True)
def _fresh_caches():
    aw.clear_caches()
    yield
    aw.clear_caches()


@pytest.fixture
def wav(tmp_path: Path) -> tuple[str, np.ndarray]:
    samples = tones(12.0, [(1.0, 0.5, 440.0), (4.25, 1.0, 880.0), (9.0, 2.0, 300.0)])
    path = tmp_path / "tones.wav"
    sf.write(path, samples, RATE, subtype="PCM_16")
    return str(path), sf.read(path, dtype="float32")[0]


def test_duration_and_info_from_the_header(wav):
    ref, samples = wav
    assert aw.duration_of(ref) == pytest.approx(12.0)
    info = aw.audio_info(ref)
    assert (info.rate, info.frames, info.channels, info.format) == (RATE, len(samples), 1, "WAV")


def test_read_window_is_the_slice_of_the_whole(wav):
    ref, samples = wav
    window, rate = aw.read_window(ref, 4.25, 5.25)
    assert rate == RATE and window.dtype == np.float32
    np.testing.assert_array_equal(window, samples[68_000:84_000])
    # Times become frames by rounding, and a window past the end stops at the end.
    window, _ = aw.read_window(ref, 11.5, 99.0)
    np.testing.assert_array_equal(window, samples[184_000:])
    assert len(aw.read_window(ref, 12.0, 13.0)[0]) == 0
    assert len(aw.read_window(ref, 0.00001, 0.00002)[0]) == 0


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (-1.0, 2.0, "start: -1.0 is not a finite number"),
        (float("nan"), 2.0, "start: nan"),
        (1.0, float("inf"), "end: inf"),
        (2.0, 2.0, "end: 2.0 must be after start (2.0)"),
    ],
)
def test_bad_windows_name_the_time(wav, start, end, message):
    with pytest.raises(BadInput) as info:
        aw.read_window(wav[0], start, end)
    assert message in info.value.detail


def test_channels_are_averaged_to_mono(tmp_path):
    left = tones(2.0, [(0.5, 0.5, 440.0)])
    right = tones(2.0, [(1.0, 0.5, 660.0)])
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([left, right], axis=1), RATE, subtype="PCM_16")
    stored = sf.read(path, dtype="float32")[0]
    window, _ = aw.read_window(str(path), 0.0, 2.0)
    np.testing.assert_allclose(window, stored.mean(axis=1), atol=1e-6)
    assert aw.audio_info(str(path)).channels == 2


@pytest.mark.parametrize(
    ("suffix", "subtype"), [("flac", "PCM_16"), ("ogg", "VORBIS"), ("mp3", "MPEG_LAYER_III")]
)
def test_compressed_formats_seek_to_the_window(tmp_path, suffix, subtype):
    samples = tones(20.0, [(13.0, 1.0, 440.0)])
    path = tmp_path / f"clip.{suffix}"
    sf.write(path, samples, RATE, subtype=subtype)
    ref = str(path)
    assert aw.duration_of(ref) == pytest.approx(20.0, abs=0.1)
    # The tone is in [13, 14): the window before it is silent, the one over it is not.
    quiet, _ = aw.read_window(ref, 11.5, 12.8)
    loud, _ = aw.read_window(ref, 13.1, 13.9)
    assert np.sqrt(np.mean(quiet**2)) < 0.02
    assert np.sqrt(np.mean(loud**2)) > 0.25


def test_narrow_peaks_are_exact(wav):
    ref, samples = wav
    peaks = aw.window_peaks(ref, 4.0, 5.0, 100)
    chunk = samples[64_000:80_000].reshape(100, 160)
    np.testing.assert_array_equal(peaks.min, chunk.min(axis=1))
    np.testing.assert_array_equal(peaks.max, chunk.max(axis=1))
    assert (peaks.start_frame, peaks.end_frame, peaks.frames_per_bin) == (64_000, 80_000, 160)
    # More bins than frames: one bin per frame, the samples themselves.
    few = aw.window_peaks(ref, 1.0, 1.001, 500)
    np.testing.assert_array_equal(few.min, samples[16_000:16_016])
    with pytest.raises(BadInput, match="bins: 0 must be a positive whole number"):
        aw.window_peaks(ref, 0.0, 1.0, 0)


def test_wide_peaks_come_from_the_overview_and_match_the_samples(wav):
    ref, samples = wav
    ov = aw.overview(ref)
    assert ov.bucket == aw.OVERVIEW_MIN_BUCKET and len(ov.min) == -(-len(samples) // 256)
    assert aw.overview(ref) is ov  # scanned once
    peaks = aw.window_peaks(ref, 0.0, 12.0, 120)
    assert len(peaks.min) == 120 and peaks.frames_per_bin == 1600
    exact = samples.reshape(120, 1600)
    # Bin edges fall on bucket edges: a peak may move by less than one bucket (256 frames).
    for i in range(120):
        lo, hi = max(0, i * 1600 - 256), min(len(samples), (i + 1) * 1600 + 256)
        assert samples[lo:hi].min() <= peaks.min[i] <= exact[i].min()
        assert exact[i].max() <= peaks.max[i] <= samples[lo:hi].max()
    # Where the tones are: bins over 1.0-1.5 s are loud, bins over 2-4 s silent.
    assert peaks.max[10:15].min() > 0.45 and abs(peaks.max[20:40]).max() == 0


def test_a_file_replaced_in_place_is_read_again(wav):
    ref, _ = wav
    before = aw.overview(ref)
    time.sleep(0.01)
    sf.write(ref, tones(3.0, []), RATE, subtype="PCM_16")
    assert aw.duration_of(ref) == pytest.approx(3.0)
    after = aw.overview(ref)
    assert after is not before and after.max.max() == 0


def test_hour_overview_is_scanned_fast_and_a_minute_reads_only_its_frames(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "hour.wav"
    sf.write(path, (rng.standard_normal(RATE * 3600) * 0.1).astype(np.float32), RATE, "PCM_16")
    t0 = time.perf_counter()
    peaks = aw.window_peaks(str(path), 0.0, 3600.0, 2000)
    assert len(peaks.max) == 2000 and time.perf_counter() - t0 < 3.0
    t0 = time.perf_counter()
    minute, _ = aw.read_window(str(path), 1800.0, 1860.0)
    assert len(minute) == 60 * RATE and time.perf_counter() - t0 < 0.2


def test_overviews_of_long_recordings_are_kept_in_the_cache_dir(tmp_path):
    path = tmp_path / "ten-minutes.wav"
    sf.write(path, tones(600.0, [(300.0, 10.0, 440.0)]), RATE, subtype="PCM_16")
    cache = tmp_path / "cache"
    first = aw.overview(str(path), cache_dir=cache)
    (stored,) = cache.glob("*.npz")
    # Another process (here: the memory cache forgotten) reads it instead of scanning; the
    # stored values are what it shows (changed here to tell them from a scan's).
    with np.load(stored) as f:
        np.savez(stored, bucket=f["bucket"], min=f["min"], max=f["max"] * 0 + 0.125)
    aw.clear_caches()
    again = aw.window_peaks(str(path), 0.0, 600.0, 100, cache_dir=cache)
    assert np.all(again.max == np.float32(0.125))
    # A broken file is scanned again, and rewritten.
    stored.write_bytes(b"half a file")
    aw.clear_caches()
    rescanned = aw.overview(str(path), cache_dir=cache)
    np.testing.assert_array_equal(rescanned.max, first.max)
    with np.load(stored) as f:
        np.testing.assert_array_equal(f["max"], first.max)
    # Short recordings scan in milliseconds: they are not stored.
    short = tmp_path / "short.wav"
    sf.write(short, tones(5.0, []), RATE, subtype="PCM_16")
    aw.overview(str(short), cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 1


def test_unreadable_references(tmp_path):
    with pytest.raises(UnreadableMedia, match="No such file"):
        aw.duration_of(str(tmp_path / "missing.wav"))
    (tmp_path / "notes.wav").write_bytes(b"these are not samples" * 10)
    with pytest.raises(UnreadableMedia, match="not a readable audio file"):
        aw.read_window(str(tmp_path / "notes.wav"), 0.0, 1.0)


def test_iter_windows_covers_the_recording(wav):
    ref, samples = wav
    pieces = list(aw.iter_windows(ref, 5.0))
    assert [start for start, _, _ in pieces] == [0.0, 5.0, 10.0]
    np.testing.assert_array_equal(np.concatenate([p for _, p, _ in pieces]), samples)


# --- S3 ---------------------------------------------------------------------------------


@pytest.fixture
def s3_wav(wav) -> tuple[str, np.ndarray]:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    client = s3_client()
    client.create_bucket(Bucket=bucket)
    with open(wav[0], "rb") as fh:
        client.put_object(Bucket=bucket, Key="audio/tones.wav", Body=fh.read())
    return f"s3://{bucket}/audio/tones.wav", wav[1]


def test_s3_windows_and_peaks_equal_the_local_ones(s3_wav, wav):
    ref, samples = s3_wav
    assert aw.duration_of(ref) == pytest.approx(12.0)
    window, rate = aw.read_window(ref, 9.0, 10.5)
    assert rate == RATE
    np.testing.assert_array_equal(window, samples[144_000:168_000])
    wide = aw.window_peaks(ref, 0.0, 12.0, 100)
    local = aw.window_peaks(wav[0], 0.0, 12.0, 100)
    np.testing.assert_array_equal(wide.max, local.max)
    np.testing.assert_array_equal(
        aw.window_peaks(ref, 4, 5, 50).min, aw.window_peaks(wav[0], 4, 5, 50).min
    )


def test_s3_reader_fetches_only_the_blocks_of_the_window(tmp_path):
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    path = tmp_path / "ten-minutes.wav"
    sf.write(path, tones(600.0, [(300.0, 1.0, 440.0)]), RATE, subtype="PCM_16")
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    client = s3_client()
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="long.wav", Body=path.read_bytes())
    loc = parse_s3_uri(f"s3://{bucket}/long.wav")
    size = path.stat().st_size  # 19.2 MB
    reader = S3RangeReader(client, loc.bucket, loc.key, size, block_bytes=S3_BLOCK_BYTES)
    with sf.SoundFile(reader) as f:
        f.seek(300 * RATE)
        second = f.read(RATE, dtype="float32")
    assert np.abs(second).max() > 0.45
    # The header's block and the second's one or two: nowhere near the object's 19 MB.
    assert reader.requests <= 3 and reader.bytes_fetched <= 3 * S3_BLOCK_BYTES < size / 6


def test_s3_missing_object_is_unreadable(s3_wav):
    ref, _ = s3_wav
    with pytest.raises(UnreadableMedia, match="cannot read the object"):
        aw.duration_of(ref.replace("tones.wav", "nothing.wav"))
