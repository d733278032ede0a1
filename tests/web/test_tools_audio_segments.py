"""The audio segments tool in the real Chromium: draw, resize, snap to silence, label by
key, transcribe in a segment's box (whose keys stay its own), undo, zoom to the samples,
the spectrogram, a prediction to start from, and the saved answer read back from the API.
The audio is generated: tones with known onsets in silence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from web.ui_support import Pages, Site, wait_for_task

RATE = 16_000
# (onset s, length s, frequency Hz): a "speaker" per pitch.
TONES = [(1.0, 1.0, 440.0), (4.0, 2.0, 660.0), (7.5, 1.0, 440.0)]
LENGTH = 10.0


def _clip(site: Site, name: str) -> str:
    path = Path(site.ws.settings.media_dir) / "test-audio" / f"{name}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = np.zeros(round(LENGTH * RATE), dtype=np.float32)
    for onset, length, freq in TONES:
        first, n = round(onset * RATE), round(length * RATE)
        samples[first : first + n] = 0.5 * np.sin(2 * np.pi * freq * np.arange(n) / RATE)
    sf.write(path, samples, RATE, subtype="PCM_16")
    return str(path)


def _open(pages: Pages, site: Site, job: str, worker: str) -> Any:
    page = pages.open(worker, f"/work/{job}")
    wait_for_task(page)
    page.wait_for_selector("#audio-segments[data-ready='1']")
    page.wait_for_function("Number(document.getElementById('seg-wave').dataset.draws) > 0")
    return page


def _x(page: Any, t: float) -> float:
    """The page x of time t in the view now shown."""
    return float(
        page.evaluate(
            """(t) => { const c = document.getElementById('seg-wave');
                const r = c.getBoundingClientRect();
                const x = (t - Number(c.dataset.start)) / Number(c.dataset.spp);
                return r.left + x * r.width / c.width; }""",
            t,
        )
    )


def _drag(page: Any, t0: float, t1: float, y_offset: float = 160) -> None:
    box = page.locator("#seg-wave").bounding_box()
    y = box["y"] + y_offset
    page.mouse.move(_x(page, t0), y)
    page.mouse.down()
    page.mouse.move((_x(page, t0) + _x(page, t1)) / 2, y, steps=3)
    page.mouse.move(_x(page, t1), y, steps=3)
    page.mouse.up()


def _state(page: Any) -> list[dict[str, Any]]:
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('#segment-list li')].map((li) => ({
                  time: li.querySelector('.seg-time').textContent,
                  label: li.querySelector('select').value,
                  text: li.querySelector('textarea')?.value ?? null }))"""
        )
    )


def test_draw_resize_label_transcribe_undo_and_submit(pages: Pages, site: Site) -> None:
    job = site.job(
        "audio-segment-transcription",
        ["alice", "bob"],
        [{"id": "s1", "source-ref": _clip(site, "s1")}],
    )
    page = _open(pages, site, job, "worker1")
    # Draw [1.0, 2.0) roughly, then the second segment, then a third that is undone.
    _drag(page, 1.02, 1.98)
    page.keyboard.press("2")  # label the selected segment: bob
    _drag(page, 4.0, 5.5)
    # Resize: drag the second segment's end edge to 6.0.
    box = page.locator("#seg-wave").bounding_box()
    page.mouse.move(_x(page, 5.5), box["y"] + 200)
    page.mouse.down()
    page.mouse.move(_x(page, 6.0), box["y"] + 200, steps=4)
    page.mouse.up()
    _drag(page, 7.4, 8.6)
    assert len(_state(page)) == 3
    page.keyboard.press("Control+z")
    rows = _state(page)
    assert [r["label"] for r in rows] == ["bob", "bob"]  # "2" also made bob the next label
    assert (
        rows[1]["time"].endswith("0:06.000")
        or abs(float(rows[1]["time"].split(":")[-1]) - 6.0) < 0.05
    )
    # Transcribe the first segment: `t` opens its box; digits and Space are text there.
    page.keyboard.press("Tab")  # select the first segment in time order
    page.keyboard.press("t")
    assert page.evaluate("document.activeElement.classList.contains('seg-text')")
    page.keyboard.type("hi 2 you")
    assert page.evaluate("document.getElementById('seg-audio').paused")
    assert [r["label"] for r in _state(page)] == ["bob", "bob"]  # "2" was typed, not a label
    # The player's keys still work from the box, with a modifier.
    page.keyboard.press("Control+Space")
    page.wait_for_function("!document.getElementById('seg-audio').paused")
    page.keyboard.press("Control+Space")
    page.wait_for_function("document.getElementById('seg-audio').paused")
    page.keyboard.press("Escape")  # back to the waveform: keys are the tool's again
    assert page.evaluate("document.activeElement.id") == "seg-wave"
    page.keyboard.press("Tab")
    page.keyboard.press("t")
    page.keyboard.type("second")
    page.keyboard.press("Escape")
    page.keyboard.press("1")  # relabel the second segment: alice
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#no-work")
    assert pages.errors == []
    (answer,) = site.answers(job, "s1")
    saved = answer["answer"]
    assert saved["duration"] == LENGTH
    first, second = saved["segments"]
    assert (first["label"], first["text"]) == ("bob", "hi 2 you")
    assert (second["label"], second["text"]) == ("alice", "second")
    assert abs(first["start"] - 1.02) < 0.03 and abs(first["end"] - 1.98) < 0.03
    assert abs(second["start"] - 4.0) < 0.03 and abs(second["end"] - 6.0) < 0.03
    assert set(first) == {"start", "end", "label", "text"}


def test_an_answer_with_no_segments_asks_first(pages: Pages, site: Site) -> None:
    """Nothing heard is a valid answer, but an easy slip: the page asks before sending it,
    as it does for boxes and spans."""
    job = site.job(
        "audio-segmentation", ["alice", "bob"], [{"id": "e1", "source-ref": _clip(site, "e1")}]
    )
    page = _open(pages, site, job, "worker1")
    page.keyboard.press("Control+Enter")
    page.locator("#confirm-empty").wait_for(state="visible")
    assert "no segments" in page.locator("#confirm-empty-text").inner_text()
    page.keyboard.press("Escape")
    page.wait_for_timeout(200)
    assert site.answers(job, "e1") == []
    page.keyboard.press("Control+Enter")
    page.locator("#confirm-empty").wait_for(state="visible")
    page.keyboard.press("Enter")  # yes: send it empty
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "e1")
    assert answer["answer"]["segments"] == []


def test_snap_to_silence_zoom_to_the_samples_and_spectrogram(pages: Pages, site: Site) -> None:
    job = site.job("audio-segmentation", ["tone"], [{"id": "s2", "source-ref": _clip(site, "s2")}])
    page = _open(pages, site, job, "worker2")
    assert page.evaluate("document.getElementById('seg-wave').dataset.source") == "overview"
    page.select_option("#seg-snap", "silence")
    # Drawn loosely around the tone at [4, 6): the edges move to where it starts and stops.
    _drag(page, 3.8, 6.2)
    page.wait_for_function(
        "document.querySelector('#segment-list .seg-time').textContent.includes('0:04.0')"
    )
    # Zoom in at the playhead (the segment's start) to single samples.
    page.keyboard.press("Tab")
    for _ in range(14):
        page.keyboard.press("=")
    # The view redraws on the next frame: wait for the last zoom step's drawing.
    page.wait_for_function(
        """(target) => { const c = document.getElementById('seg-wave').dataset;
            return c.source === 'samples' && Math.abs(Number(c.spp) - target) < 1e-12; }""",
        arg=1 / (RATE * 20),
        timeout=5000,
    )
    page.keyboard.press("f")
    for _ in range(3):
        page.keyboard.press("=")
    page.keyboard.press("v")
    page.wait_for_function(
        "document.getElementById('seg-wave').dataset.source === 'spectrogram'", timeout=5000
    )
    page.keyboard.press("v")
    # Zero crossings: the 440 Hz tone at [1, 2) crosses zero every 1/880 s from its onset.
    snapped = page.evaluate(
        """async () => { const m = await import('/static/tools/audio-data.js');
            const url = document.getElementById('seg-audio').getAttribute('src');
            const src = new m.AudioSource(url);
            return [await m.snapTime(src, 1.0123, 'zero', 'start', 10),
                    await m.snapTime(src, 3.0, 'zero', 'start', 10)]; }"""
    )
    cycles = (snapped[0] - 1.0) * 880
    assert abs(snapped[0] - 1.0123) < 1 / 880 and abs(cycles - round(cycles)) < 880 / RATE
    assert snapped[1] == 3.0  # silence has no crossing: the edge stays
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "s2")
    (seg,) = answer["answer"]["segments"]
    assert seg["label"] == "tone" and "text" not in seg
    assert abs(seg["start"] - 4.0) <= 0.011 and abs(seg["end"] - 6.0) <= 0.011


def test_starts_from_the_prediction_and_deletes_with_the_key(pages: Pages, site: Site) -> None:
    name = "audio-seg-prediction"
    predicted = {
        "segments": [
            {"start": 1.0, "end": 2.0, "label": "b"},
            {"start": 4.0, "end": 6.0, "label": "a"},
            {"start": 7.5, "end": 8.5, "label": "a"},
        ]
    }
    job = site.job(
        "audio-segmentation",
        ["a", "b"],
        [{"id": "s3", "source-ref": _clip(site, "s3"), f"{name}-prediction": predicted}],
        name=name,
        settings={"allow_overlap": False},
    )
    page = _open(pages, site, job, "worker3")
    assert [r["label"] for r in _state(page)] == ["b", "a", "a"]
    page.locator("#segment-list li").nth(1).locator(".seg-time").click()
    page.keyboard.press("Delete")
    # Without overlaps, a segment drawn from inside free time stops at its neighbour.
    _drag(page, 3.0, 8.0)
    rows = _state(page)
    assert len(rows) == 3 and rows[1]["time"].endswith("0:07.500")
    page.keyboard.press("Control+z")
    assert len(_state(page)) == 2
    page.keyboard.press("Control+Shift+z")  # redo, then undo again
    assert len(_state(page)) == 3
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "s3")
    assert [(s["start"], s["end"], s["label"]) for s in answer["answer"]["segments"]] == [
        (1, 2, "b"),
        (7.5, 8.5, "a"),
    ]


def test_play_a_segment_loop_it_and_change_speed(pages: Pages, site: Site) -> None:
    predicted = {"segments": [{"start": 4.0, "end": 5.0, "label": "tone"}]}
    name = "audio-seg-play"
    job = site.job(
        "audio-segmentation",
        ["tone"],
        [{"id": "p1", "source-ref": _clip(site, "p1"), f"{name}-prediction": predicted}],
        name=name,
    )
    page = _open(pages, site, job, "worker1")
    page.wait_for_function("document.getElementById('seg-audio').duration > 9")
    page.locator("#seg-wave").focus()
    page.keyboard.press("Tab")  # select the segment (the playhead goes to its start)
    page.keyboard.press("]")
    page.keyboard.press("]")
    assert page.evaluate("document.getElementById('seg-audio').playbackRate") == 1.5
    page.keyboard.press("p")
    # It plays the segment and stops at its end.
    page.wait_for_function("!document.getElementById('seg-audio').paused")
    page.wait_for_function("document.getElementById('seg-audio').paused", timeout=5000)
    assert 4.95 <= page.evaluate("document.getElementById('seg-audio').currentTime") <= 5.1
    # Looped, it goes round: the playhead comes back to the start after passing 4.8.
    page.keyboard.press("l")
    times = page.evaluate(
        """() => new Promise((done) => { const a = document.getElementById('seg-audio');
            const seen = []; const t0 = performance.now();
            (function look() { seen.push(a.currentTime);
              if (performance.now() - t0 > 2000) done(seen); else requestAnimationFrame(look);
            })(); })"""
    )
    page.keyboard.press("l")
    page.keyboard.press(" ")
    assert max(times) <= 5.1 and min(times) >= 3.99
    wraps = sum(1 for a, b in zip(times, times[1:], strict=False) if b < a - 0.3)
    assert wraps >= 2  # 1 s at 1.5x: a round every ~0.7 s
    assert pages.errors == []


def test_a_reviewer_corrects_the_consolidated_segments(pages: Pages, site: Site) -> None:
    """The review page loads the consolidated label (segments with their confidence) into
    the tool; the reviewer deletes one and relabels another."""
    from truthset.workforce import service as workforce
    from web.test_console import answer_all
    from web.ui_support import TEAM

    with site.ws.db.session_scope() as s:
        try:
            workforce.get_user(s, "seg-reviewer")
        except Exception:
            workforce.create_user(
                s, "seg-reviewer", role="reviewer", password="seg-reviewer-pass", teams=[TEAM]
            )
    job = site.job(
        "audio-segmentation",
        ["a", "b"],
        [{"id": "r1", "source-ref": _clip(site, "r1")}],
        workers_per_item=2,
        settings={"quality": {"review": {"disputed": True, "min_agreement": 0.99}}},
    )
    for worker, end in (("worker1", 2.0), ("worker2", 2.1)):
        answer = {
            "segments": [
                {"start": 1.0, "end": end, "label": "a"},
                {"start": 4.0, "end": 6.0, "label": "b"},
            ]
        }
        assert answer_all(site, job, worker, answer) == 1
    page = pages.open("seg-reviewer", f"/review/{job}")
    page.wait_for_function("document.body.dataset.item === 'r1'")
    page.wait_for_selector("#audio-segments[data-ready='1']")
    assert [r["label"] for r in _state(page)] == ["a", "b"]
    page.locator("#segment-list li").nth(0).locator(".seg-time").click()
    page.keyboard.press("Delete")
    page.locator("#segment-list li").nth(0).locator(".seg-time").click()
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-review")
    res = site.api("admin", "GET", f"/api/jobs/{job}/items/r1")
    label = res.json()["label"]
    assert label["reviewed"] is True
    assert [(s["start"], s["end"], s["label"]) for s in label["value"]["segments"]] == [(4, 6, "a")]
    assert pages.errors == []


def _voices(site: Site, name: str) -> str:
    """Two "voices" (harmonic stacks at 140 and 230 Hz, gliding) over faint noise: what a
    spectrogram of speech looks like, roughly."""
    path = Path(site.ws.settings.media_dir) / "test-audio" / f"{name}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    samples = rng.standard_normal(round(LENGTH * RATE)).astype(np.float32) * 0.005
    for (onset, length, _), f0 in zip(TONES, (140.0, 230.0, 140.0), strict=True):
        first, n = round(onset * RATE), round(length * RATE)
        t = np.arange(n) / RATE
        phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.15 * np.sin(2 * np.pi * 1.5 * t))) / RATE
        voice = sum(np.sin(k * phase) / k for k in range(1, 12))
        samples[first : first + n] += (0.25 * voice * np.hanning(n)).astype(np.float32)
    sf.write(path, np.clip(samples, -1, 1), RATE, subtype="PCM_16")
    return str(path)


def test_screenshots(pages: Pages, site: Site) -> None:
    """docs/screenshots/audio-segmentation*.png with TRUTHSET_UPDATE_SCREENSHOTS=1 (as
    test_docs_screenshots.py makes the others); otherwise only that both tools render."""
    import os

    write = os.environ.get("TRUTHSET_UPDATE_SCREENSHOTS") == "1"
    docs = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    name = "audio-seg-shot"
    predicted = {
        "segments": [
            {"start": 1.0, "end": 2.0, "label": "alice", "text": "good morning"},
            {"start": 4.0, "end": 6.0, "label": "bob", "text": "and good morning to you"},
            {"start": 7.5, "end": 8.5, "label": "alice", "text": "shall we start"},
        ]
    }
    job = site.job(
        "audio-segment-transcription",
        ["alice", "bob", "noise"],
        [{"id": "shot", "source-ref": _voices(site, "shot"), f"{name}-prediction": predicted}],
        name=name,
    )
    page = _open(pages, site, job, "worker1")
    page.set_viewport_size({"width": 1400, "height": 800})
    page.locator("#segment-list li").nth(1).locator(".seg-time").click()
    page.wait_for_timeout(300)
    if write:
        page.screenshot(path=str(docs / "audio-segment-transcription.png"))
    job = site.job(
        "audio-segmentation",
        ["speech", "music", "noise"],
        [{"id": "shot2", "source-ref": _voices(site, "shot2")}],
    )
    page = _open(pages, site, job, "worker2")
    page.set_viewport_size({"width": 1400, "height": 800})
    _drag(page, 1.0, 2.0)
    page.keyboard.press("1")
    _drag(page, 4.0, 6.0)
    page.keyboard.press("2")
    page.keyboard.press("=")
    page.keyboard.press("v")
    page.wait_for_function(
        "document.getElementById('seg-wave').dataset.source === 'spectrogram'", timeout=5000
    )
    page.wait_for_timeout(300)
    if write:
        page.screenshot(path=str(docs / "audio-segmentation.png"))
    assert pages.errors == []
