"""Label category and frame attributes of a 2020 label config in the image tools: the
form beside the image, required values checked before submit, undo, the stored answer."""

from __future__ import annotations

from typing import Any

from web.test_tools_image import drag, to_client
from web.ui_support import Pages, Site, wait_for_task

CONFIG: dict[str, Any] = {
    "documentVersion": "2020-03-01",
    "labels": [
        {
            "label": "Car",
            "categoryAttributes": [
                {
                    "name": "occluded",
                    "type": "string",
                    "enum": ["none", "partly", "fully"],
                    "isRequired": True,
                },
                {"name": "doors", "type": "number", "minimum": 2, "maximum": 5},
            ],
        },
        {"label": "Person"},
    ],
    "categoryGlobalAttributes": [{"name": "note", "type": "string"}],
    "frameAttributes": [
        {"name": "weather", "description": "The sky", "type": "string", "enum": ["sun", "rain"]}
    ],
}
OCCLUDED = '#object-attributes select[data-attr="occluded"]'


def test_box_attributes_are_set_checked_undone_and_submitted(pages: Pages, site: Site) -> None:
    ref = site.image("attrs", 800, 600)
    job = site.job("bounding-box", CONFIG, [{"id": "img1", "source-ref": ref}])
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_function("document.querySelector('svg.overlay')?.getAttribute('width') === '800'")
    # the image's own attributes are there before any object is drawn
    assert page.locator('#frame-attributes select[data-attr="weather"]').count() == 1
    assert page.locator("#object-attributes [data-attr]").count() == 0

    drag(page, (100, 150), (300, 400))  # a Car box (the first label), selected
    page.wait_for_selector(OCCLUDED)
    assert page.locator("#object-attributes h3").text_content() == "Box #1 · Car"
    # the label's attributes and the global one, each as its type asks
    names = page.eval_on_selector_all(
        "#object-attributes [data-attr]", "els => els.map(e => [e.dataset.attr, e.tagName, e.type])"
    )
    assert names == [
        ["note", "INPUT", "text"],
        ["occluded", "SELECT", "select-one"],
        ["doors", "INPUT", "number"],
    ]
    doors = page.locator('[data-attr="doors"]')
    assert (doors.get_attribute("min"), doors.get_attribute("max")) == ("2", "5")

    page.keyboard.press("Enter")  # submit without the required value: refused in the tool
    error = page.locator("#task-error")
    error.wait_for(state="visible")
    assert "Box #1 (Car): set “occluded”" in error.inner_text()

    page.select_option(OCCLUDED, "partly")
    page.fill('[data-attr="doors"]', "9")
    page.keyboard.press("Enter")  # leaves the field
    page.keyboard.press("Enter")  # submit: out of range
    page.wait_for_function(
        "document.querySelector('#task-error').innerText.includes('“doors” must be at most 5')"
    )
    page.fill('[data-attr="doors"]', "4")
    page.keyboard.press("Enter")
    # undo takes back the last value, redo gives it again; the keys reach the tool
    page.keyboard.press("Control+z")
    assert page.locator('[data-attr="doors"]').input_value() == "9"
    page.keyboard.press("Control+Shift+z")
    assert page.locator('[data-attr="doors"]').input_value() == "4"
    page.keyboard.press("ArrowRight")  # nudge the selected box: keyboard still drives it
    page.select_option('#frame-attributes select[data-attr="weather"]', "rain")

    # a second box, Person: only the global attribute; the first keeps its values
    page.keyboard.press("Escape")  # deselect, so that the label key picks the next box's
    page.keyboard.press("2")
    drag(page, (500, 100), (600, 250))
    page.wait_for_function(
        "document.querySelector('#object-attributes h3')?.textContent === 'Box #2 · Person'"
    )
    assert page.locator("#object-attributes [data-attr]").count() == 1
    page.mouse.click(*to_client(page, 200, 300))
    page.wait_for_function(f"document.querySelector('{OCCLUDED}')?.value === 'partly'")

    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    assert answer["answer"]["boundingBoxes"] == [
        {
            "label": "Car",
            "left": 101,
            "top": 150,
            "width": 200,
            "height": 250,
            "label-category-attributes": {"occluded": "partly", "doors": 4},
        },
        {"label": "Person", "left": 500, "top": 100, "width": 100, "height": 150},
    ]
    assert answer["answer"]["frame-attributes"] == {"weather": "rain"}

    # an adjustment job shows the earlier label's values in the form
    adjust = site.job("bounding-box", CONFIG, [], input_job=job, settings={"adjustment": True})
    page = pages.open("worker2", f"/work/{adjust}")
    wait_for_task(page)
    page.wait_for_selector("g.boxes rect.shape")
    page.mouse.click(*to_client(page, 200, 300))
    page.wait_for_function(f"document.querySelector('{OCCLUDED}')?.value === 'partly'")
    assert page.locator('#frame-attributes select[data-attr="weather"]').input_value() == "rain"


def test_polygon_tool_takes_attributes_and_a_free_text_typed_then_submitted(
    pages: Pages, site: Site
) -> None:
    config = {
        "documentVersion": "2020-03-01",
        "labels": [{"label": "roof", "categoryAttributes": [{"name": "colour", "type": "string"}]}],
    }
    ref = site.image("attrs-polygon", 800, 600)
    job = site.job("polygon", config, [{"id": "img1", "source-ref": ref}])
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_function("document.querySelector('svg.overlay')?.getAttribute('width') === '800'")
    assert page.locator("#frame-attributes [data-attr]").count() == 0
    for x, y in ((100, 100), (300, 100), (300, 300)):
        page.mouse.click(*to_client(page, x, y))
    page.keyboard.press("Enter")  # closes the polygon, which is selected
    field = page.locator('#object-attributes input[data-attr="colour"]')
    field.fill("red tiles")
    page.keyboard.press("Control+Enter")  # submit straight from the field keeps the text
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    (polygon,) = answer["answer"]["polygons"]
    assert polygon["label-category-attributes"] == {"colour": "red tiles"}
    assert "frame-attributes" not in answer["answer"]
