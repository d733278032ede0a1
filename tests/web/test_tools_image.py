"""Image tools driven by real mouse and keyboard input; answers read back from the API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from web.ui_support import Pages, Site, wait_for_task

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def to_client(page: Any, x: float, y: float) -> tuple[float, float]:
    """Image pixel → page coordinates, from where the overlay is drawn now."""
    box = page.evaluate(
        "(() => { const r = document.querySelector('svg.overlay').getBoundingClientRect();"
        " return [r.x, r.y, r.width / Number(document.querySelector('svg.overlay')"
        ".getAttribute('width'))]; })()"
    )
    return box[0] + x * box[2], box[1] + y * box[2]


def drag(page: Any, a: tuple[float, float], b: tuple[float, float], steps: int = 6) -> None:
    page.mouse.move(*to_client(page, *a))
    page.mouse.down()
    page.mouse.move(*to_client(page, *b), steps=steps)
    page.mouse.up()


def open_image_job(pages: Pages, site: Site, task_type: str, labels: list[str], **kw: Any) -> Any:
    ref = site.image(f"img-{task_type}", 800, 600)
    job = site.job(task_type, labels, [{"id": "img1", "source-ref": ref}], **kw)
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_function("document.querySelector('svg.overlay')?.getAttribute('width') === '800'")
    return job, page


def test_bounding_boxes_draw_move_resize_nudge_relabel_delete_undo(
    pages: Pages, site: Site
) -> None:
    job, page = open_image_job(pages, site, "bounding-box", ["car", "person"])
    page.keyboard.press("2")
    drag(page, (100, 150), (300, 400))
    assert page.locator("g.boxes rect.shape").count() == 1
    page.keyboard.down("Shift")  # Shift: a drag edits instead of drawing
    drag(page, (200, 200), (250, 220))  # move by the body
    drag(page, (350, 420), (400, 450))  # resize by the south-east handle
    page.keyboard.up("Shift")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    drag(page, (500, 50), (501, 51))  # too small: not a box
    assert page.locator("g.boxes rect.shape").count() == 1
    page.keyboard.press("1")  # the selected box was deselected by the click: next label
    drag(page, (600, 300), (700, 500))
    assert page.locator("g.boxes rect.shape").count() == 2
    page.keyboard.press("Control+z")
    assert page.locator("g.boxes rect.shape").count() == 1
    page.keyboard.press("Control+Shift+z")
    assert page.locator("g.boxes rect.shape").count() == 2
    page.keyboard.press("Delete")
    assert page.locator("g.boxes rect.shape").count() == 1
    page.keyboard.press("h")
    assert page.locator("g.boxes rect.shape").count() == 0
    page.keyboard.press("h")
    page.mouse.click(*to_client(page, 300, 300))  # select the first box again
    page.keyboard.press("1")  # relabel it
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    assert answer["answer"]["inputImageProperties"] == {"width": 800, "height": 600}
    assert answer["answer"]["boundingBoxes"] == [
        {"label": "car", "left": 153, "top": 180, "width": 250, "height": 280}
    ]


def test_image_view_zooms_at_the_cursor_and_pans_with_space(pages: Pages, site: Site) -> None:
    _job, page = open_image_job(pages, site, "bounding-box", ["car"])
    before = to_client(page, 400, 300)
    page.mouse.move(*before)
    page.mouse.wheel(0, -400)
    page.wait_for_timeout(50)
    after = to_client(page, 400, 300)
    assert abs(after[0] - before[0]) < 1 and abs(after[1] - before[1]) < 1  # zoom at cursor
    assert "%" in page.locator(".zoom-label").inner_text()
    page.keyboard.down("Space")
    page.mouse.down()
    page.mouse.move(before[0] + 120, before[1] + 40, steps=4)
    page.mouse.up()
    page.keyboard.up("Space")
    moved = to_client(page, 400, 300)
    assert abs(moved[0] - before[0] - 120) < 1 and abs(moved[1] - before[1] - 40) < 1
    assert page.locator("g.boxes rect.shape").count() == 0  # panning drew nothing
    page.keyboard.press("f")


def click(page: Any, x: float, y: float) -> None:
    page.mouse.click(*to_client(page, x, y))


def test_polygon_click_close_drag_insert_and_delete_vertices(pages: Pages, site: Site) -> None:
    job, page = open_image_job(pages, site, "polygon", ["roof", "wall"])
    page.keyboard.press("2")
    for x, y in ((100, 100), (300, 100), (300, 250)):
        click(page, x, y)
    click(page, 100, 100)  # the first point closes it
    assert page.locator("g.shapes polygon").count() == 1
    page.keyboard.press("v")  # edit mode: presses on the polygon edit it
    drag(page, (300, 250), (320, 260))  # move a vertex
    drag(page, (200, 100), (200, 80))  # drag an edge midpoint: a new vertex
    click(page, 100, 100)  # select that vertex...
    page.keyboard.press("Delete")  # ...and remove it
    page.keyboard.press("v")  # back to drawing
    for x, y in ((500, 300), (600, 300), (550, 400)):
        click(page, x, y)
    page.keyboard.press("Enter")  # Enter closes too
    assert page.locator("g.shapes polygon").count() == 2
    page.keyboard.press("Control+z")
    assert page.locator("g.shapes polygon").count() == 1
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    assert answer["answer"]["polygons"] == [
        {
            "label": "wall",
            "vertices": [{"x": 200, "y": 80}, {"x": 300, "y": 100}, {"x": 320, "y": 260}],
        }
    ]


def test_a_box_drawn_inside_a_box_is_a_new_box_and_edit_mode_moves(
    pages: Pages, site: Site
) -> None:
    job, page = open_image_job(pages, site, "bounding-box", ["person", "face"])
    drag(page, (100, 100), (500, 500))
    page.keyboard.press("2")  # the selected box becomes a face...
    page.keyboard.press("1")  # ...and a person again
    page.keyboard.press("Escape")
    page.keyboard.press("2")
    drag(page, (200, 150), (300, 250))  # inside the person box: a face box, nothing moves
    assert page.locator("g.boxes rect.shape").count() == 2
    page.keyboard.press("Escape")
    page.mouse.click(*to_client(page, 250, 200))  # a click selects the innermost box
    assert page.evaluate("document.querySelector('rect.shape.selected').dataset.box") == "2"
    page.mouse.click(*to_client(page, 450, 450))  # the person box around it
    assert page.evaluate("document.querySelector('rect.shape.selected').dataset.box") == "1"
    assert page.locator("#tool-mode").get_attribute("data-mode") == "draw"
    page.keyboard.press("v")  # edit mode: a drag on a box moves it
    assert page.locator("#tool-mode").get_attribute("data-mode") == "edit"
    drag(page, (250, 200), (260, 210))  # the face box (innermost under the cursor)
    page.locator("#tool-mode button[data-mode=draw]").click()
    page.keyboard.press("?")
    help_text = page.locator("#help-body").inner_text()
    assert "switch draw / edit mode" in help_text and "inside another box" in help_text
    page.keyboard.press("?")
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    assert answer["answer"]["boundingBoxes"] == [
        {"label": "person", "left": 100, "top": 100, "width": 400, "height": 400},
        {"label": "face", "left": 210, "top": 160, "width": 100, "height": 100},
    ]


def test_a_click_on_a_polygon_starts_a_new_one_and_a_held_enter_never_submits(
    pages: Pages, site: Site
) -> None:
    job, page = open_image_job(pages, site, "polygon", ["field", "house"])
    for x, y in ((100, 100), (500, 100), (500, 400), (100, 400)):
        click(page, x, y)
    page.keyboard.press("Enter")  # closes the field
    assert page.locator("g.shapes polygon").count() == 1
    page.keyboard.press("Escape")  # deselect, so that 2 is the next shape's label
    page.keyboard.press("2")
    assignment = page.evaluate("document.body.dataset.assignment")
    # Clicks inside the field, one on its vertex: a new polygon, the field stays as it was.
    for x, y in ((500, 100), (300, 200), (250, 300)):
        click(page, x, y)
    page.keyboard.down("Enter")  # closes the house; the key held down repeats...
    page.keyboard.down("Enter")
    page.keyboard.down("Enter")
    page.keyboard.up("Enter")  # ...and none of the repeats submitted
    page.wait_for_timeout(300)
    assert page.locator("g.shapes polygon").count() == 2
    assert page.evaluate("document.body.dataset.assignment") == assignment
    assert page.locator("#no-work").count() == 0
    page.keyboard.press("Enter")  # no shape open: Enter submits
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    assert answer["answer"]["polygons"] == [
        {
            "label": "field",
            "vertices": [
                {"x": 100, "y": 100},
                {"x": 500, "y": 100},
                {"x": 500, "y": 400},
                {"x": 100, "y": 400},
            ],
        },
        {
            "label": "house",
            "vertices": [{"x": 500, "y": 100}, {"x": 300, "y": 200}, {"x": 250, "y": 300}],
        },
    ]


def test_keypoints_and_polylines(pages: Pages, site: Site) -> None:
    job, page = open_image_job(pages, site, "keypoint", ["eye", "nose"])
    page.keyboard.press("2")
    click(page, 50, 60)
    page.keyboard.press("Escape")
    page.keyboard.press("1")
    click(page, 70, 80)
    drag(page, (70, 80), (90, 100))
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    assert answer["answer"]["keypoints"] == [
        {"label": "nose", "x": 50, "y": 60},
        {"label": "eye", "x": 90, "y": 100},
    ]
    job, page = open_image_job(pages, site, "polyline", ["lane"])
    for x, y in ((10, 10), (100, 50), (200, 20)):
        click(page, x, y)
    page.keyboard.press("Enter")  # ends the line
    page.keyboard.press("Enter")  # submits
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    assert answer["answer"]["polylines"] == [
        {
            "label": "lane",
            "vertices": [{"x": 10, "y": 10}, {"x": 100, "y": 50}, {"x": 200, "y": 20}],
        }
    ]


def _expected_segmentation(width: int, height: int) -> dict[str, int]:
    """Pixel counts of: a disc r=5 at (40, 40) of "sky"; a filled rectangle [100, 150) ×
    [20, 60) of "road"; an eraser disc r=5 at (100, 20). Pixel centres decide."""

    def disc(cx: float, cy: float, r: float) -> set[tuple[int, int]]:
        return {
            (x, y)
            for y in range(height)
            for x in range(width)
            if (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r
        }

    sky = disc(40, 40, 5)
    road = {(x, y) for x in range(100, 150) for y in range(20, 60)} - disc(100, 20, 5)
    return {"sky": len(sky), "road": len(road)}


def test_semantic_segmentation_brush_fill_erase_gives_an_exact_png(
    pages: Pages, site: Site
) -> None:
    import base64
    import io

    from PIL import Image

    job, page = open_image_job(pages, site, "semantic-segmentation", ["sky", "road"])
    page.evaluate(
        "(() => { const s = document.getElementById('brush-size'); s.value = '5';"
        " s.dispatchEvent(new Event('input')); })()"
    )
    click(page, 40, 40)  # a brush dab of "sky"
    page.keyboard.press("2")
    page.keyboard.press("p")
    for x, y in ((100, 20), (150, 20), (150, 60), (100, 60)):
        click(page, x, y)
    page.keyboard.press("Enter")  # fill with "road"
    page.keyboard.press("e")
    click(page, 100, 20)  # erase a corner
    drag(page, (300, 300), (400, 300))  # a stroke...
    page.keyboard.press("Control+z")  # ...undone
    counts = page.evaluate("window.truthsetMaskCounts()")
    expected = _expected_segmentation(800, 600)
    assert counts == expected
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    content = answer["answer"]
    png = Image.open(io.BytesIO(base64.b64decode(content["labeledImage"]["pngImageData"])))
    assert png.size == (800, 600)
    colours = {
        tuple(int(c["color"][i : i + 2], 16) for i in (1, 3, 5)): name
        for name, c in content["labelMappings"].items()
    }
    got: dict[str, int] = {}
    for n, rgb in png.convert("RGB").getcolors(maxcolors=10) or []:
        if rgb != (255, 255, 255):
            got[colours[rgb]] = n
    assert got == expected


def test_adjustment_loads_the_earlier_label_and_predictions_preload(
    pages: Pages, site: Site
) -> None:
    ref = site.image("adjust", 800, 600)
    first = site.job("bounding-box", ["car"], [{"id": "img1", "source-ref": ref}])
    lease = site.api("worker2", "POST", f"/api/jobs/{first}/next").json()
    box = {"label": "car", "left": 100, "top": 100, "width": 200, "height": 100}
    site.api(
        "worker2",
        "POST",
        f"/api/assignments/{lease['assignment_id']}/submit",
        json={
            "answer": {
                "boundingBoxes": [box],
                "inputImageProperties": {"width": 800, "height": 600},
            }
        },
    ).raise_for_status()
    job = site.job("bounding-box", ["car"], [], input_job=first, settings={"adjustment": True})
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_selector("g.boxes rect.shape")
    page.keyboard.press("v")  # edit mode
    page.mouse.click(*to_client(page, 150, 150))  # select the box...
    drag(page, (300, 200), (320, 210))  # ...and pull its south-east corner
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    assert answer["answer"]["initialValueModified"] is True
    assert answer["answer"]["boundingBoxes"] == [
        {"label": "car", "left": 100, "top": 100, "width": 220, "height": 110}
    ]
    # A model's prediction in the item is loaded for correction.
    name = "predicted-boxes"
    predicted = {"boundingBoxes": [{**box, "label": "car"}]}
    site.job(
        "bounding-box",
        ["car"],
        [{"id": "p1", "source-ref": ref, f"{name}-prediction": predicted}],
        name=name,
    )
    page = pages.open("worker3", f"/work/{name}")
    wait_for_task(page)
    page.wait_for_selector("g.boxes rect.shape")
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    assert site.answers(name, "p1")[0]["answer"]["boundingBoxes"] == [box]


def test_boxes_in_progress_survive_a_reload(pages: Pages, site: Site) -> None:
    job, page = open_image_job(pages, site, "bounding-box", ["car"])
    assignment = page.evaluate("document.body.dataset.assignment")
    drag(page, (10, 20), (110, 70))
    page.reload()
    assert wait_for_task(page) == assignment
    page.wait_for_selector("g.boxes rect.shape")
    page.keyboard.press("Control+z")  # history starts afresh after a reload: nothing to undo
    assert page.locator("g.boxes rect.shape").count() == 1
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    assert answer["answer"]["boundingBoxes"] == [
        {"label": "car", "left": 10, "top": 20, "width": 100, "height": 50}
    ]


def test_instance_segmentation_uses_the_polygon_tool(pages: Pages, site: Site) -> None:
    job, page = open_image_job(pages, site, "instance-segmentation", ["cat", "dog"])
    for x, y in ((10, 10), (200, 10), (200, 150)):
        click(page, x, y)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.keyboard.press("2")
    for x, y in ((400, 300), (500, 300), (450, 400)):
        click(page, x, y)
    click(page, 400, 300)
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    assert [(p["label"], len(p["vertices"])) for p in answer["answer"]["polygons"]] == [
        ("cat", 3),
        ("dog", 3),
    ]


def test_segmentation_adjustment_loads_the_earlier_mask(pages: Pages, site: Site) -> None:
    """The tool paints the input job's mask (`prior_label` carries its PNG) and an
    unchanged answer gives the same pixels per class, whatever colours the mask used."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    width, height = 240, 160
    ref = site.image("seg-adjust", width, height)
    first = site.job("semantic-segmentation", ["sky", "road"], [{"id": "img1", "source-ref": ref}])
    # Colours other than the tool's own palette: the mask is read by its label mappings.
    hexes = {"sky": "#123456", "road": "#abcdef"}
    colours = {name: tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for name, c in hexes.items()}
    pixels = np.full((height, width, 3), 255, dtype=np.uint8)
    pixels[10:60, 20:200] = colours["sky"]
    yy, xx = np.mgrid[0:height, 0:width]
    pixels[(xx - 120) ** 2 + (yy - 110) ** 2 <= 30**2] = colours["road"]
    expected = {name: int(np.all(pixels == rgb, axis=-1).sum()) for name, rgb in colours.items()}
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    lease = site.api("worker2", "POST", f"/api/jobs/{first}/next").json()
    site.api(
        "worker2",
        "POST",
        f"/api/assignments/{lease['assignment_id']}/submit",
        json={
            "answer": {
                "labeledImage": {"pngImageData": base64.b64encode(buf.getvalue()).decode()},
                "labelMappings": {name: {"color": c} for name, c in hexes.items()},
                "inputImageProperties": {"width": width, "height": height},
            }
        },
    ).raise_for_status()
    job = site.job(
        "semantic-segmentation",
        ["sky", "road"],
        [],
        input_job=first,
        settings={"adjustment": True},
    )
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_function(
        "Object.keys((window.truthsetMaskCounts && window.truthsetMaskCounts()) || {}).length === 2"
    )
    assert page.evaluate("window.truthsetMaskCounts()") == expected
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    content = answer["answer"]
    assert content["initialValueModified"] is False
    png = Image.open(io.BytesIO(base64.b64decode(content["labeledImage"]["pngImageData"])))
    assert png.size == (width, height)
    by_colour = {
        tuple(int(c["color"][i : i + 2], 16) for i in (1, 3, 5)): name
        for name, c in content["labelMappings"].items()
    }
    got = {
        by_colour[rgb]: n
        for n, rgb in png.convert("RGB").getcolors(maxcolors=10) or []
        if rgb != (255, 255, 255)
    }
    assert got == expected


def test_an_empty_answer_asks_first_unless_the_job_says_not_to(pages: Pages, site: Site) -> None:
    job, page = open_image_job(pages, site, "bounding-box", ["car"])
    page.keyboard.press("Enter")  # no box drawn: the page asks
    dialog = page.locator("#confirm-empty")
    dialog.wait_for(state="visible")
    assert "no boxes" in page.locator("#confirm-empty-text").inner_text()
    if os.environ.get("TRUTHSET_UPDATE_SCREENSHOTS") == "1":  # docs/ui.md's picture of it
        page.screenshot(path=str(DOCS / "empty-answer.png"))
    page.keyboard.press("Escape")  # go back: nothing was sent
    dialog.wait_for(state="hidden")
    page.wait_for_timeout(200)
    assert site.answers(job, "img1") == []
    page.keyboard.press("Enter")
    dialog.wait_for(state="visible")
    page.keyboard.press("Enter")  # Enter again: submit it empty
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    assert answer["answer"]["boundingBoxes"] == []
    # A job where most images show nothing turns the question off.
    job, page = open_image_job(
        pages, site, "polygon", ["car"], settings={"confirm_empty_answer": False}
    )
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    assert site.answers(job, "img1")[0]["answer"]["polygons"] == []
    assert page.locator("#confirm-empty").is_visible() is False
