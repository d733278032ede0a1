"""Text tools with real mouse and keyboard input; answers read back from the API."""

from __future__ import annotations

from typing import Any

from web.ui_support import Pages, Site, wait_for_task

NER_LABELS = {
    "document-version": "2018-11-28",
    "labels": [
        {"label": "person", "shortDisplayName": "per"},
        {"label": "place", "shortDisplayName": "loc"},
    ],
}
TEXT = "😀 Alice met Bob in Paris on Monday."

CHAR_EDGE = """([cp, side]) => {
  for (const seg of document.querySelectorAll('#ner-text .seg:not(.caret)')) {
    const s = Number(seg.dataset.s), e = Number(seg.dataset.e);
    if (cp < s || cp >= e) continue;
    const node = seg.firstChild;
    const chars = Array.from(node.data);
    const off = chars.slice(0, cp - s).join('').length;
    const r = document.createRange();
    r.setStart(node, off); r.setEnd(node, off + chars[cp - s].length);
    const b = r.getBoundingClientRect();
    return [side === 'left' ? b.left + 1 : b.right - 1, b.top + b.height / 2];
  }
  return null;
}"""


def select_with_mouse(page: Any, start: int, end: int) -> None:
    a = page.evaluate(CHAR_EDGE, [start, "left"])
    b = page.evaluate(CHAR_EDGE, [end - 1, "right"])
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move(*b, steps=5)
    page.mouse.up()


def click_char(page: Any, cp: int) -> None:
    x, y = page.evaluate(CHAR_EDGE, [cp, "left"])
    page.mouse.click(x + 2, y)


def test_named_entities_by_mouse_and_keyboard(pages: Pages, site: Site) -> None:
    job = site.job("named-entity-recognition", NER_LABELS, [{"id": "n1", "source": TEXT}])
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    select_with_mouse(page, 2, 7)  # "Alice"
    page.keyboard.press("1")
    page.keyboard.press("Home")
    for _ in range(3):
        page.keyboard.press("Control+ArrowRight")
    page.keyboard.press("Control+Shift+ArrowLeft")  # "Bob"
    page.keyboard.press("1")
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    for _ in range(3):
        page.keyboard.press("Control+Shift+ArrowRight")  # "Alice met Bob", overlapping
    page.keyboard.press("2")
    select_with_mouse(page, 19, 24)  # "Paris"
    page.keyboard.press("2")
    assert page.locator("#entity-list li").count() == 4
    assert page.locator("#ner-text .seg[data-tag='loc · per']").count() == 1  # both start at 2
    click_char(page, 13)  # the innermost span under "Bob"
    page.keyboard.press("2")  # relabel it
    click_char(page, 13)  # again: the span under it, "Alice met Bob"
    page.keyboard.press("Delete")
    assert page.locator("#entity-list li").count() == 3
    page.keyboard.press("Control+z")
    assert page.locator("#entity-list li").count() == 4
    page.keyboard.press("Control+Shift+z")
    assert page.locator("#entity-list li").count() == 3
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "n1")
    assert answer["answer"]["entities"] == [
        {"label": "person", "startOffset": 2, "endOffset": 7},
        {"label": "place", "startOffset": 12, "endOffset": 15},
        {"label": "place", "startOffset": 19, "endOffset": 24},
    ]


def test_long_text_labels_without_lag(pages: Pages, site: Site) -> None:
    words = ("lorem ipsum dolor sit amet consectetur adipiscing elit " * 200)[:10_000]
    job = site.job("named-entity-recognition", NER_LABELS, [{"id": "long", "source": words}])
    page = pages.open("worker2", f"/work/{job}")
    wait_for_task(page)
    page.keyboard.press("Home")
    timings = []
    for i in range(30):
        t = page.evaluate("performance.now()")
        page.keyboard.press("Control+Shift+ArrowRight")
        page.keyboard.press(str(1 + i % 2))
        page.keyboard.press("Control+ArrowRight")
        timings.append(page.evaluate("performance.now()") - t)
    assert page.locator("#entity-list li").count() == 30
    # Three key presses each (selection, label, move), including Playwright's round trips.
    assert sorted(timings)[len(timings) // 2] < 150, timings


def test_an_entity_answer_with_no_spans_asks_first(pages: Pages, site: Site) -> None:
    job = site.job("named-entity-recognition", NER_LABELS, [{"id": "e1", "source": TEXT}])
    page = pages.open("worker3", f"/work/{job}")
    wait_for_task(page)
    page.keyboard.press("Enter")
    page.locator("#confirm-empty").wait_for(state="visible")
    assert "no spans" in page.locator("#confirm-empty-text").inner_text()
    page.click("#confirm-empty-no")  # go back: the task stays, nothing is sent
    page.locator("#confirm-empty").wait_for(state="hidden")
    assert site.answers(job, "e1") == []
    page.keyboard.press("Enter")
    page.click("#confirm-empty-yes")
    page.wait_for_selector("#no-work")
    assert site.answers(job, "e1")[0]["answer"] == {"entities": []}
