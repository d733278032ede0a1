"""The screenshots in docs/ui.md, made with real input like the other browser tests.

Run with TRUTHSET_UPDATE_SCREENSHOTS=1 to rewrite docs/screenshots/*.png; otherwise the
test only checks that every tool page renders (no file is written).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from web.test_tools_image import click, drag
from web.test_tools_other import _wav
from web.test_tools_text import NER_LABELS, select_with_mouse
from web.ui_support import Pages, Site, wait_for_task

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WRITE = os.environ.get("TRUTHSET_UPDATE_SCREENSHOTS") == "1"


def _photo(site: Site, name: str) -> str:
    from PIL import Image

    try:
        from skimage import data

        arr = getattr(data, name)()
    except Exception:
        return site.image(name, 600, 400)
    path = Path(site.ws.settings.media_dir) / "photos" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return str(path)


def _shot(page: Any, name: str) -> None:
    page.wait_for_timeout(150)
    if WRITE:
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"))


def _shot_of(element: Any, name: str) -> None:
    """A screenshot of one part of a page (a section below the fold)."""
    element.page.wait_for_timeout(150)
    if WRITE:
        DOCS.mkdir(parents=True, exist_ok=True)
        element.screenshot(path=str(DOCS / f"{name}.png"))


def _open(
    pages: Pages, site: Site, task_type: str, labels: Any, items: list[dict[str, Any]], **kw: Any
) -> Any:
    job = site.job(task_type, labels, items, instructions="# Guide\n\nFollow the examples.", **kw)
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    return job, page


@pytest.mark.slow
def test_screenshots_of_every_tool_and_console_page(pages: Pages, site: Site) -> None:
    astronaut = _photo(site, "astronaut")
    coffee = _photo(site, "coffee")
    short = {"short_instructions": "Draw a tight box around every object."}
    ready = "document.querySelector('svg.overlay')?.getAttribute('width')"

    _job, page = _open(
        pages,
        site,
        "image-classification",
        ["person", "animal", "food", "landscape"],
        [{"id": "c1", "source-ref": astronaut}],
    )
    page.wait_for_function(ready)
    page.keyboard.press("1")
    _shot(page, "image-classification")

    _job, page = _open(
        pages,
        site,
        "text-classification-multilabel",
        ["weather", "sports", "politics"],
        [{"id": "t1", "source": "Rain stopped play at the cricket ground this afternoon."}],
    )
    page.keyboard.press("1")
    page.keyboard.press("2")
    _shot(page, "text-classification")

    _job, page = _open(
        pages,
        site,
        "bounding-box",
        ["person", "flag", "patch"],
        [{"id": "b1", "source-ref": astronaut}],
        settings=short,
    )
    page.wait_for_function(ready)
    drag(page, (140, 20), (400, 500))
    page.keyboard.press("2")
    drag(page, (440, 60), (512, 200))
    page.keyboard.press("3")
    drag(page, (300, 260), (350, 320))
    _shot(page, "bounding-box")

    _job, page = _open(
        pages, site, "polygon", ["cup", "saucer"], [{"id": "p1", "source-ref": coffee}]
    )
    page.wait_for_function(ready)
    for x, y in ((200, 60), (420, 60), (440, 200), (330, 260), (210, 200)):
        click(page, x, y)
    click(page, 200, 60)
    _shot(page, "polygon")

    _job, page = _open(
        pages, site, "keypoint", ["eye", "nose", "mouth"], [{"id": "k1", "source-ref": astronaut}]
    )
    page.wait_for_function(ready)
    for key, (x, y) in (("1", (230, 130)), ("1", (290, 120)), ("2", (270, 165)), ("3", (270, 200))):
        page.keyboard.press("Escape")
        page.keyboard.press(key)
        click(page, x, y)
    _shot(page, "keypoint")

    _job, page = _open(pages, site, "polyline", ["edge"], [{"id": "l1", "source-ref": coffee}])
    page.wait_for_function(ready)
    for x, y in ((60, 380), (200, 300), (400, 290), (560, 360)):
        click(page, x, y)
    page.keyboard.press("Enter")
    _shot(page, "polyline")

    _job, page = _open(
        pages,
        site,
        "semantic-segmentation",
        ["cup", "coffee", "table"],
        [{"id": "s1", "source-ref": coffee}],
    )
    page.wait_for_function(ready)
    page.keyboard.press("p")
    for x, y in ((200, 60), (420, 60), (440, 200), (330, 260), (210, 200)):
        click(page, x, y)
    page.keyboard.press("Enter")
    page.keyboard.press("b")
    page.keyboard.press("2")
    drag(page, (280, 100), (360, 110), steps=10)
    page.keyboard.press("3")
    page.keyboard.press("]")
    page.keyboard.press("]")
    drag(page, (20, 350), (580, 370), steps=20)
    _shot(page, "semantic-segmentation")

    text = (
        "On Monday Alice Martin flew from Paris to New York to meet Bob at the United Nations. "
        "She will return to France on 12 March."
    )
    _job, page = _open(
        pages, site, "named-entity-recognition", NER_LABELS, [{"id": "n1", "source": text}]
    )
    select_with_mouse(page, 10, 22)
    page.keyboard.press("1")
    select_with_mouse(page, 33, 38)
    page.keyboard.press("2")
    select_with_mouse(page, 42, 50)
    page.keyboard.press("2")
    select_with_mouse(page, 59, 62)
    page.keyboard.press("1")
    _shot(page, "named-entity-recognition")

    _job, page = _open(
        pages,
        site,
        "audio-transcription",
        ["speech"],
        [{"id": "a1", "source-ref": _wav(site, "doc")}],
    )
    page.wait_for_function("document.getElementById('audio').duration > 1")
    page.locator("#transcript").type("the quick brown fox")
    page.wait_for_timeout(300)
    _shot(page, "audio-transcription")

    first = site.job("bounding-box", ["person"], [{"id": "v1", "source-ref": astronaut}])
    lease = site.api("worker3", "POST", f"/api/jobs/{first}/next").json()
    site.api(
        "worker3",
        "POST",
        f"/api/assignments/{lease['assignment_id']}/submit",
        json={
            "answer": {
                "boundingBoxes": [
                    {"label": "person", "left": 140, "top": 20, "width": 260, "height": 480}
                ],
                "inputImageProperties": {"width": 512, "height": 512},
            }
        },
    ).raise_for_status()
    _job, page = _open(pages, site, "label-verification", ["correct", "wrong"], [], input_job=first)
    page.wait_for_selector("svg.overlay rect.shape")
    page.keyboard.press("1")
    _shot(page, "label-verification")
    page.keyboard.press("?")
    page.wait_for_selector("#help[open] #job-progress")
    _shot(page, "help")

    # The console.
    job = site.job(
        "text-classification",
        ["Positive", "Negative", "Neutral"],
        [{"id": f"w{i}", "source": f"Sunny day number {i}"} for i in range(12)],
        workers_per_item=2,
    )
    for worker, n in (("worker1", 9), ("worker2", 7)):
        for i in range(n):
            lease = site.api(worker, "POST", f"/api/jobs/{job}/next").json()
            site.api(
                worker,
                "POST",
                f"/api/assignments/{lease['assignment_id']}/submit",
                json={"answer": {"label": ["Positive", "Negative", "Neutral"][(i + n) % 3]}},
            ).raise_for_status()
    admin = pages.open("admin", "/console")
    admin.wait_for_selector("#jobs")
    _shot(admin, "console-jobs")
    admin.goto(f"{site.base}/console/jobs/{job}")
    admin.wait_for_selector("#workers")
    _shot(admin, "console-job")
    _shot_of(admin.locator("#agreement"), "console-agreement")
    admin.click("#job-edit summary")
    _shot_of(admin.locator("#job-edit"), "console-job-edit")
    admin.goto(f"{site.base}/console/jobs/{first}/items/v1")
    admin.wait_for_selector(".answer svg rect")
    _shot(admin, "console-item")
    admin.goto(f"{site.base}/console/new")
    admin.wait_for_selector("#new-job")
    _shot(admin, "console-new-job")
    portal = pages.open("worker1", "/")
    portal.wait_for_selector(".job-card")
    _shot(portal, "portal")


@pytest.mark.slow
def test_screenshot_of_the_review_page(pages: Pages, site: Site) -> None:
    ref = _photo(site, "coffee")
    job = site.job(
        "bounding-box",
        ["cup", "spoon"],
        [{"id": "r1", "source-ref": ref}],
        workers_per_item=3,
        settings={"quality": {"review": {"disputed": True, "min_agreement": 0.95}}},
    )
    boxes = [(150, 60, 300, 250), (160, 80, 280, 220), (120, 40, 360, 300)]
    for worker, (left, top, width, height) in zip(
        ("worker1", "worker2", "worker3"), boxes, strict=True
    ):
        lease = site.api(worker, "POST", f"/api/jobs/{job}/next").json()
        site.api(
            worker,
            "POST",
            f"/api/assignments/{lease['assignment_id']}/submit",
            json={
                "answer": {
                    "boundingBoxes": [
                        {"label": "cup", "left": left, "top": top, "width": width, "height": height}
                    ],
                    "inputImageProperties": {"width": 600, "height": 400},
                }
            },
        ).raise_for_status()
    page = pages.open("admin", f"/review/{job}")
    page.wait_for_function("document.body.dataset.item === 'r1'")
    page.wait_for_selector("#answers .answer svg rect.shape")
    page.wait_for_selector("g.boxes rect.shape")
    _shot(page, "review")
    page.keyboard.press("q")
