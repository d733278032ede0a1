"""Audio tools and label verification with real input; answers read back from the API."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

from web.ui_support import Pages, Site, wait_for_task


def _wav(site: Site, name: str, seconds: float = 2.0) -> str:
    path = Path(site.ws.settings.media_dir) / "test-audio" / f"{name}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = 8000
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                for i in range(int(rate * seconds))
            )
        )
    return str(path)


def test_audio_transcription_with_player_keys(pages: Pages, site: Site) -> None:
    job = site.job(
        "audio-transcription", ["speech"], [{"id": "a1", "source-ref": _wav(site, "a1")}]
    )
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_function("document.getElementById('audio').duration > 1.9")
    # The keyboard starts on the player: k and Space play and pause, nothing is typed.
    assert page.evaluate("document.activeElement.id") == "play"
    page.keyboard.press("k")
    page.wait_for_function("!document.getElementById('audio').paused")
    page.keyboard.press(" ")
    page.wait_for_function("document.getElementById('audio').paused")
    page.keyboard.press("k")
    page.wait_for_function("!document.getElementById('audio').paused")
    page.keyboard.press("k")
    page.wait_for_function("document.getElementById('audio').paused")
    box = page.locator("#transcript")
    assert box.input_value() == ""
    page.keyboard.press("t")  # to the box: keys type from here on
    page.keyboard.type("hello   world")
    page.keyboard.press("Escape")  # back to the player
    assert page.evaluate("document.activeElement.id") == "play"
    page.keyboard.press("t")
    page.keyboard.press("Alt+ArrowRight")  # seek 5 s (to the end) while typing
    assert page.evaluate("document.getElementById('audio').currentTime") > 1.5
    page.select_option("#speed", "1.5")
    assert page.evaluate("document.getElementById('audio').playbackRate") == 1.5
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "a1")
    assert answer["answer"] == {"transcription": "hello   world"}


def test_shortcuts_never_fire_into_a_text_field(pages: Pages, site: Site) -> None:
    """Keys typed into a tool's text field (here a verification comment, then a box
    attribute's) are the field's: s, q, h, v, Enter and the label keys do nothing else."""
    ref = site.image("fields", 400, 300)
    config = {
        "documentVersion": "2020-03-01",
        "labels": [{"label": "car"}],
        "categoryGlobalAttributes": [{"name": "note", "type": "string"}],
    }
    job = site.job("bounding-box", config, [{"id": "f1", "source-ref": ref}])
    page = pages.open("worker1", f"/work/{job}")
    assignment = wait_for_task(page)
    page.wait_for_function("document.querySelector('svg.overlay')?.getAttribute('width') === '400'")
    overlay = page.locator("svg.overlay").bounding_box()
    assert overlay is not None
    k = overlay["width"] / 400
    page.mouse.move(overlay["x"] + 50 * k, overlay["y"] + 50 * k)
    page.mouse.down()
    page.mouse.move(overlay["x"] + 150 * k, overlay["y"] + 120 * k, steps=5)
    page.mouse.up()
    field = page.locator("#object-attributes input").first
    field.click()
    field.type("1 v h s q ")
    page.wait_for_timeout(200)
    assert field.input_value() == "1 v h s q "
    assert page.evaluate("document.body.dataset.assignment") == assignment
    assert page.locator("g.boxes rect.shape").count() == 1  # h did not hide the box
    assert page.locator("#tool-mode").get_attribute("data-mode") == "draw"


def test_audio_classification(pages: Pages, site: Site) -> None:
    job = site.job(
        "audio-classification", ["music", "speech"], [{"id": "a2", "source-ref": _wav(site, "a2")}]
    )
    page = pages.open("worker2", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_selector("#waveform")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    assert site.answers(job, "a2")[0]["answer"] == {"label": "speech"}


def test_label_verification_shows_the_earlier_label(pages: Pages, site: Site) -> None:
    ref = site.image("verify", 400, 300)
    first = site.job("bounding-box", ["car"], [{"id": "v1", "source-ref": ref}])
    lease = site.api("worker3", "POST", f"/api/jobs/{first}/next").json()
    box = {"label": "car", "left": 30, "top": 40, "width": 100, "height": 60}
    ok = site.api(
        "worker3",
        "POST",
        f"/api/assignments/{lease['assignment_id']}/submit",
        json={
            "answer": {
                "boundingBoxes": [box],
                "inputImageProperties": {"width": 400, "height": 300},
            }
        },
    )
    assert ok.status_code == 200, ok.text
    job = site.job("label-verification", ["correct", "wrong"], [], input_job=first)
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_selector("svg.overlay rect.shape")
    rect = page.locator("svg.overlay rect.shape")
    assert [rect.get_attribute(a) for a in ("x", "y", "width", "height")] == [
        "30",
        "40",
        "100",
        "60",
    ]
    page.keyboard.press("2")
    page.keyboard.press("c")
    page.keyboard.type("box is too loose")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#no-work")
    assert site.answers(job, "v1")[0]["answer"] == {"label": "wrong", "comment": "box is too loose"}
