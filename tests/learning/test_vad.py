"""Voice activity on generated audio of known truth: boundary error in ms and IoU of the
detected segments, for both detectors, whole or in chunks, at other sample rates."""

import numpy as np
import pytest

from audio_support import RATE, dialogue, render
from truthset.consensus.spatial import match_intervals
from truthset.learning.vad import (
    SegmentRules,
    activity_segments,
    detect_segments,
    energy_threshold,
    frame_levels,
)

EXACT = SegmentRules(pad_s=0.0)


def _score(truth, found):
    """(number matched, worst boundary error in ms, mean IoU) of found against truth."""
    t = np.array([(s, e) for _, s, e in truth])
    pairs = match_intervals(t, np.array(found).reshape(-1, 2), 0.3)
    errors = [
        max(abs(t[i, 0] - found[j][0]), abs(t[i, 1] - found[j][1])) * 1000 for i, j, _ in pairs
    ]
    return len(pairs), max(errors), float(np.mean([iou for _, _, iou in pairs]))


@pytest.fixture(scope="module")
def talk():
    truth, seconds = dialogue(8, seed=1)
    return truth, seconds, render(truth, seconds)


def test_energy_finds_every_turn_within_10_ms(talk):
    truth, seconds, x = talk
    found = detect_segments(x, RATE, "energy", duration=seconds, rules=EXACT)
    matched, worst_ms, iou = _score(truth, found)
    assert (matched, len(found)) == (len(truth), len(truth))
    assert worst_ms < 10 and iou > 0.99


def test_padding_widens_each_segment(talk):
    truth, seconds, x = talk
    exact = detect_segments(x, RATE, "energy", duration=seconds, rules=EXACT)
    padded = detect_segments(x, RATE, "energy", duration=seconds)  # pad_s 0.05
    assert len(exact) == len(padded)
    for (a, b), (c, d) in zip(exact, padded, strict=True):
        assert c == pytest.approx(max(0, a - 0.05), abs=1e-3)
        assert d == pytest.approx(min(seconds, b + 0.05), abs=1e-3)


def test_webrtcvad_finds_every_turn(talk):
    truth, seconds, x = talk
    found = detect_segments(x, RATE, "webrtcvad", duration=seconds, rules=EXACT)
    matched, worst_ms, iou = _score(truth, found)
    # WebRTC holds a decision for a few frames after the sound: ~0.1 s late ends.
    assert (matched, len(found)) == (len(truth), len(truth))
    assert worst_ms < 200 and iou > 0.85


@pytest.mark.parametrize("method", ["energy", "webrtcvad"])
def test_chunks_give_the_same_segments(talk, method):
    _truth, seconds, x = talk
    whole = detect_segments(x, RATE, method, duration=seconds)
    chunks = (x[i : i + 16_037] for i in range(0, len(x), 16_037))  # not frame-aligned
    assert detect_segments(chunks, RATE, method, duration=seconds) == whole


@pytest.mark.parametrize("method", ["energy", "webrtcvad"])
def test_other_sample_rates(method):
    """22.05 kHz is not a WebRTC rate (resampled); the truth is found all the same."""
    truth, seconds = dialogue(4, seed=2)
    x = render(truth, seconds, rate=22_050)
    found = detect_segments(x, 22_050, method, duration=seconds, rules=EXACT)
    matched, worst_ms, _iou = _score(truth, found)
    assert matched == len(truth) == len(found) and worst_ms < 200


def test_sound_events_by_energy():
    truth = [("dog", 0.5, 0.8), ("door", 2.0, 2.25), ("dog", 3.1, 4.0)]
    x = render(truth, 5.0, seed=3)
    found = detect_segments(x, RATE, "energy", duration=5.0, rules=EXACT)
    matched, worst_ms, _ = _score(truth, found)
    assert matched == 3 and worst_ms < 15


def test_silence_and_thresholds():
    quiet = np.random.default_rng(0).normal(0, 0.002, RATE * 3).astype(np.float32)
    assert detect_segments(quiet, RATE, "energy") == []
    assert detect_segments(np.zeros(RATE, np.float32), RATE, "energy") == []
    assert detect_segments(np.zeros(RATE, np.float32), RATE, "webrtcvad") == []
    levels = frame_levels(quiet, RATE)
    assert levels.shape == (300,)
    assert energy_threshold(levels) == pytest.approx(np.percentile(levels, 2) + 12)
    assert energy_threshold(np.full(10, -100.0)) == -60.0
    assert energy_threshold(np.full(10, -120.0)) == -60.0  # digital silence only
    # An explicit threshold overrides the floor: everything louder than -80 dBFS is heard.
    assert detect_segments(quiet, RATE, "energy", threshold_db=-80) == [(0.0, 3.0)]


def test_activity_rules():
    frame = 0.01
    flags = np.zeros(300, bool)
    flags[10:30] = True  # 0.1-0.3: long enough
    flags[50:60] = True  # 0.5-0.6 after a 0.2 s gap: bridged
    flags[200:205] = True  # 50 ms alone: dropped
    rules = SegmentRules(min_speech_s=0.1, min_silence_s=0.25, pad_s=0.02)
    assert activity_segments(flags, frame, 3.0, rules) == [(0.08, 0.62)]
    assert activity_segments(np.zeros(5, bool), frame) == []
    edge = np.ones(100, bool)
    assert activity_segments(edge, frame, 1.0, rules) == [(0.0, 1.0)]  # kept within the clip


def test_bad_parameters():
    with pytest.raises(ValueError, match="method: 'magic'"):
        detect_segments(np.zeros(10, np.float32), RATE, "magic")
    with pytest.raises(ValueError, match="rate: 0"):
        detect_segments(np.zeros(10, np.float32), 0)
    with pytest.raises(ValueError, match="aggressiveness: 7"):
        detect_segments(np.zeros(10, np.float32), RATE, "webrtcvad", aggressiveness=7)
    with pytest.raises(ValueError, match="pad_s: -1"):
        SegmentRules(pad_s=-1)


def test_energy_hears_a_recording_that_is_mostly_speech():
    """95 % speech with 0.3 s pauses, after half a second of digital silence (zeros) and
    over a noise floor: the floor is the pauses', not the speech's or the zeros'."""
    truth, t = [], 0.8
    for k in range(9):
        truth.append(("alice" if k % 2 == 0 else "bob", round(t, 3), round(t + 6.5, 3)))
        t += 6.8
    x = render(truth, t)
    x[: RATE // 2] = 0.0
    found = detect_segments(x, RATE, "energy", duration=t, rules=EXACT)
    matched, worst_ms, _ = _score(truth, found)
    assert matched == len(truth) == len(found) and worst_ms < 15
