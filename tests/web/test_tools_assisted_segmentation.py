"""The segmentation tool's assisted modes in the real Chromium: four extreme points
(GrabCut), refinement clicks, grow; the saved mask checked against the scene's truth."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image

from segmentation_scenes import extreme_points, iou, next_click, scene
from web.test_tools_image import click
from web.ui_support import Pages, Site, wait_for_task


def _open(pages: Pages, site: Site, seed: int) -> tuple[str, Any, Any]:
    sc = scene(seed, 480)
    folder = site.ws.settings.media_dir / "test-images"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"scene-{seed}.png"
    Image.fromarray(sc.image).save(path)
    job = site.job(
        "semantic-segmentation", ["thing", "other"], [{"id": "s1", "source-ref": str(path)}]
    )
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_function("document.querySelector('svg.overlay')?.getAttribute('width') === '480'")
    return job, page, sc


def _saved_mask(site: Site, job: str, label: str) -> np.ndarray:
    (answer,) = site.answers(job, "s1")
    content = answer["answer"]
    png = Image.open(io.BytesIO(base64.b64decode(content["labeledImage"]["pngImageData"])))
    hexcolor = content["labelMappings"][label]["color"]
    rgb = np.array([int(hexcolor[i : i + 2], 16) for i in (1, 3, 5)])
    return np.all(np.asarray(png.convert("RGB")) == rgb, axis=2)


def _area(page: Any) -> int:
    return int(page.evaluate("(window.truthsetMaskCounts() || {}).thing || 0"))


def _wait_idle(page: Any) -> None:
    page.wait_for_function(
        "(() => { const s = document.getElementById('assist-status').textContent;"
        " return s && !s.startsWith('Working'); })()"
    )


def test_four_points_then_clicks_give_the_objects_mask(pages: Pages, site: Site) -> None:
    job, page, sc = _open(pages, site, 2)
    page.keyboard.press("a")
    pts = extreme_points(sc.mask)
    for x, y in pts[:3]:
        click(page, x, y)
    assert page.locator("polygon.assist-point").count() == 3
    assert _area(page) == 0
    click(page, *pts[3])
    _wait_idle(page)
    first = _area(page)
    assert first > 0.5 * sc.mask.sum(), page.locator("#assist-status").text_content()
    # A negative click inside the object takes a part away; undo brings it back.
    ys, xs = np.nonzero(sc.mask)
    inside = (float(np.median(xs)), float(np.median(ys)))
    page.keyboard.down("Shift")
    click(page, *inside)
    page.keyboard.up("Shift")
    _wait_idle(page)
    assert _area(page) < first
    assert page.locator("circle.assist-point[data-kind=negative]").count() == 1
    page.keyboard.press("Control+z")
    assert _area(page) == first
    page.keyboard.press("Enter")  # ends the object: the clicks' markers go
    assert page.locator(".assist-point").count() == 0
    page.keyboard.press("Enter")  # submits
    page.wait_for_selector("#no-work")
    saved = _saved_mask(site, job, "thing")
    assert int(saved.sum()) == first
    assert iou(saved, sc.mask) >= 0.85


def test_a_refinement_click_where_the_mask_is_wrong_improves_it(pages: Pages, site: Site) -> None:
    job, page, sc = _open(pages, site, 4)
    page.keyboard.press("a")
    for x, y in extreme_points(sc.mask):
        click(page, x, y)
    _wait_idle(page)
    before = _mask_now(page, sc.mask.shape)
    nxt = next_click(sc.mask, before)
    assert nxt is not None
    positive, (x, y) = nxt
    if not positive:
        page.keyboard.down("Shift")
    click(page, x, y)
    page.keyboard.up("Shift")
    _wait_idle(page)
    after = _mask_now(page, sc.mask.shape)
    assert iou(after, sc.mask) >= iou(before, sc.mask) - 0.002
    assert bool(after[int(y), int(x)]) == positive


def _mask_now(page: Any, shape: tuple[int, ...]) -> np.ndarray:
    """The tool's mask as the answer would save it, read from the page."""
    b64 = page.evaluate(
        "(() => { const c = document.getElementById('mask');"
        " return c.toDataURL('image/png').split(',')[1]; })()"
    )
    rgba = np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGBA"))
    assert rgba.shape[:2] == shape
    return rgba[:, :, 3] > 0


def test_grow_paints_and_shift_click_erases(pages: Pages, site: Site) -> None:
    job, page, sc = _open(pages, site, 0)
    page.keyboard.press("g")
    ys, xs = np.nonzero(sc.mask)
    inside = (float(np.median(xs)), float(np.median(ys)))
    click(page, *inside)
    _wait_idle(page)
    grown = _area(page)
    assert grown > 0.3 * sc.mask.sum()
    page.keyboard.down("Shift")
    click(page, *inside)
    page.keyboard.up("Shift")
    _wait_idle(page)
    assert _area(page) == 0
    page.keyboard.press("Control+z")
    assert _area(page) == grown
    # The help lists the assisted modes' keys.
    page.keyboard.press("?")
    page.wait_for_selector("#help[open]")
    help_text = page.locator("#help-body").inner_text()
    assert "4 points: click the object's top, bottom, left and right points" in help_text
    assert "grow: click a region to paint it, Shift+click to erase it" in help_text


def test_instance_segmentation_four_points_give_an_editable_polygon(
    pages: Pages, site: Site
) -> None:
    from skimage import draw

    sc = scene(5, 480)
    folder = site.ws.settings.media_dir / "test-images"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scene-inst-5.png"
    Image.fromarray(sc.image).save(path)
    job = site.job("instance-segmentation", ["cat", "dog"], [{"id": "s1", "source-ref": str(path)}])
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_function("document.querySelector('svg.overlay')?.getAttribute('width') === '480'")
    page.keyboard.press("2")
    page.keyboard.press("a")
    for x, y in extreme_points(sc.mask):
        click(page, x, y)
    _wait_idle(page)
    shapes = page.locator("g.shapes polygon, g.shapes .shape")
    assert shapes.count() >= 1
    first = shapes.count()
    # A negative click far outside the object changes nothing it covers, and replaces the
    # object's polygons rather than adding more (Control+z takes that step back).
    page.keyboard.down("Shift")
    click(page, 2, 2)
    page.keyboard.up("Shift")
    _wait_idle(page)
    assert shapes.count() == first
    assert page.locator("circle.assist-point[data-kind=negative]").count() == 1
    page.keyboard.press("Control+z")
    assert shapes.count() == first
    page.keyboard.press("Enter")  # ends the object
    page.keyboard.press("a")  # back to drawing polygons: a click adds a vertex again
    for x, y in ((5, 5), (40, 5), (40, 30)):
        click(page, x, y)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")  # submits
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "s1")
    polygons = answer["answer"]["polygons"]
    assert [p["label"] for p in polygons] == ["dog", "dog"]
    assert len(polygons[1]["vertices"]) == 3
    got = np.zeros(sc.mask.shape, bool)
    vs = polygons[0]["vertices"]
    rr, cc = draw.polygon([v["y"] - 0.5 for v in vs], [v["x"] - 0.5 for v in vs], sc.mask.shape)
    got[rr, cc] = True
    assert iou(got, sc.mask) >= 0.85
