"""The video classification tool in the real Chromium: the clip plays from the media route
(Range requests), the player's keys, a label by number key, the answer read back."""

from __future__ import annotations

from pathlib import Path

from media.video_support import render_video
from web.ui_support import Pages, Site, wait_for_task


def test_video_classification_plays_seeks_and_labels(pages: Pages, site: Site) -> None:
    # VP8 in webm: every Chromium build plays it (H.264 depends on the build's codecs).
    video = render_video(
        Path(site.ws.settings.media_dir) / "test-video" / "clip.webm", 60, rate=20, codec="libvpx"
    )
    job = site.job(
        "video-classification", ["sports", "music"], [{"id": "v1", "source-ref": str(video)}]
    )
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_function("document.getElementById('video').readyState >= 1")
    duration = page.evaluate("document.getElementById('video').duration")
    assert 2.9 < duration < 3.1
    page.keyboard.press("k")
    page.wait_for_function("!document.getElementById('video').paused")
    page.keyboard.press("k")
    page.wait_for_function("document.getElementById('video').paused")
    page.evaluate("document.getElementById('video').currentTime = 0")
    page.keyboard.press("ArrowRight")  # 5 s: to the end of a 3 s clip
    page.wait_for_function("document.getElementById('video').currentTime > 2.9")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("document.getElementById('video').currentTime < 0.1")
    page.keyboard.press(".")  # one frame on, paused
    page.wait_for_function("document.getElementById('video').currentTime > 0.02")
    page.keyboard.press("]")
    assert page.evaluate("document.getElementById('video').playbackRate") == 1.5
    # The time shown follows the clip.
    assert "/ 0:03.0" in page.inner_text("#video-time")
    page.keyboard.press("Enter")  # no label yet: the tool says so and nothing is sent
    page.wait_for_selector("text=Pick a label first")
    page.keyboard.press("2")
    assert page.get_attribute("button.label-btn[data-label=music]", "aria-pressed") == "true"
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    assert site.answers(job, "v1")[0]["answer"] == {"label": "music"}
