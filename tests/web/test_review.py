"""The review page: a reviewer takes queued items one after another, sees every answer,
sets the final label with the job's own tool and the keyboard; checked through the API."""

from __future__ import annotations

import base64
import io
import json
import time
from typing import Any

import numpy as np
import pytest
from PIL import Image

from truthset.workforce import service as workforce
from web.test_console import answer_all, one_wrong_label_job
from web.test_tools_image import drag, to_client
from web.ui_support import ARTIFACTS, TEAM, Pages, Site

REVIEWER = "reviewer1"
LABELS = ["pos", "neg", "<b>odd</b>"]
HTML_TEXT = '<img src=x onerror="window.pwned=1"><b>bold</b> & more'


@pytest.fixture
def reviewer(site: Site) -> str:
    """A user with the reviewer role in the team every test job belongs to."""
    with site.ws.db.session_scope() as s:
        try:
            workforce.get_user(s, REVIEWER)
        except Exception:
            workforce.create_user(
                s, REVIEWER, role="reviewer", password=f"{REVIEWER}-pass", teams=[TEAM]
            )
    return REVIEWER


def wait_for_item(page: Any, item: str, timeout: float = 10000) -> None:
    page.wait_for_function(f"document.body.dataset.item === {json.dumps(item)}", timeout=timeout)


def disputed_text_job(site: Site) -> str:
    """Three items, each answered pos, neg, pos: every one is queued for review."""
    items = [
        {"id": "t1", "source": "plain words"},
        {"id": "t2", "source": HTML_TEXT},
        {"id": "t3", "source": "third one"},
    ]
    job = site.job(
        "text-classification",
        LABELS,
        items,
        workers_per_item=3,
        settings={"quality": {"review": {"disputed": True}}},
    )
    for worker, label in (("worker1", "pos"), ("worker2", "neg"), ("worker3", "pos")):
        assert answer_all(site, job, worker, {"label": label}) == 3
    return job


def item_label(site: Site, job: str, item: str) -> dict[str, Any]:
    res = site.api("admin", "GET", f"/api/jobs/{job}/items/{item}")
    res.raise_for_status()
    return dict(res.json()["label"])


def test_a_reviewer_sets_final_labels_with_the_keyboard(
    pages: Pages, site: Site, reviewer: str
) -> None:
    job = disputed_text_job(site)
    page = pages.open(reviewer, f"/review/{job}")
    wait_for_item(page, "t1")
    # Every answer beside the consolidated label, the reason and the lease timer.
    answers = page.locator("#answers .answer")
    assert answers.count() == 3
    assert [answers.nth(i).get_attribute("data-worker") for i in range(3)] == [
        "worker1",
        "worker2",
        "worker3",
    ]
    assert "neg" in answers.nth(1).inner_text()
    assert page.locator("#consolidated .answer-text").inner_text() == "pos"
    assert "confidence 0.67" in page.locator("#review-why").inner_text()
    assert page.locator("#timer").inner_text().endswith("left")
    # The tool starts from the consolidated label; the reviewer picks another with a key.
    assert page.locator(".label-btn.on").count() == 1
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    wait_for_item(page, "t2")
    label = item_label(site, job, "t1")
    assert label["reviewed"] is True and label["method"] == "review"
    assert label["meta"]["class-name"] == "neg"

    # Markup in the item text and in label names stays text.
    assert page.locator("#item-text").inner_text() == HTML_TEXT
    assert page.locator("#item-text img, #item-text b, #tool-side b").count() == 0
    assert page.locator("#tool-side").inner_text().count("<b>odd</b>") == 1
    assert page.evaluate("window.pwned") is None

    # Skipping gives the item back; the reviewer's next item is another one.
    page.keyboard.press("s")
    wait_for_item(page, "t3")

    # Someone else sets t3's label meanwhile: the reviewer's submit is refused in plain words.
    site.api(
        "admin", "POST", f"/api/jobs/{job}/review/items/t3", json={"answer": {"label": "pos"}}
    ).raise_for_status()
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    page.wait_for_selector("#task-error:has-text('already reviewed by')")
    assert "Press n for the next item" in page.locator("#task-error").inner_text()
    assert item_label(site, job, "t3")["meta"]["class-name"] == "pos"
    # Only the skipped item is left: it comes back, and the page says so.
    page.keyboard.press("n")
    page.wait_for_selector("#task-error:has-text('the one you skipped')")
    wait_for_item(page, "t2")

    # Releasing gives t2 back to the queue and leaves for the reviewer's portal.
    page.keyboard.press("q")
    page.wait_for_url(f"{site.base}/")
    link = page.locator(f"#review-jobs li[data-job='{job}'] a")
    assert link.get_attribute("href") == f"/review/{job}"
    queue = page.locator(f"#review-jobs li[data-job='{job}'] .queue-size")
    page.wait_for_selector(f"#review-jobs li[data-job='{job}'] .queue-size:has-text('reviewed')")
    assert queue.inner_text() == "1 item waits for review; 2 reviewed"
    taken = site.api("admin", "POST", f"/api/jobs/{job}/review/next")
    assert taken.status_code == 200 and taken.json()["item"] == "t2"
    site.api("admin", "POST", f"/api/jobs/{job}/review/items/t2/release").raise_for_status()


def test_nothing_to_review_and_the_console_link(pages: Pages, site: Site) -> None:
    job = site.job("text-classification", ["a", "b"], [{"id": "n1", "source": "x"}])
    page = pages.open("admin", f"/console/jobs/{job}")
    page.click("#btn-review")
    page.wait_for_selector("#no-review:has-text('Nothing to review')")
    assert page.evaluate("document.body.dataset.item") == "none"


def test_a_reviewer_adjusts_a_box(pages: Pages, site: Site, reviewer: str) -> None:
    ref = site.image("review-boxes", 800, 600)
    job = site.job(
        "bounding-box",
        ["car", "person"],
        [{"id": "b1", "source-ref": ref}],
        workers_per_item=2,
        settings={"quality": {"review": {"disputed": True, "min_agreement": 0.95}}},
    )
    for worker, left in (("worker1", 100), ("worker2", 110)):
        answer = {
            "boundingBoxes": [
                {"label": "car", "left": left, "top": 100, "width": 200, "height": 100}
            ],
            "inputImageProperties": {"width": 800, "height": 600},
        }
        assert answer_all(site, job, worker, answer) == 1
    before = item_label(site, job, "b1")["value"]["annotations"]
    assert len(before) == 1
    box = before[0]
    page = pages.open(reviewer, f"/review/{job}")
    wait_for_item(page, "b1")
    page.wait_for_function("document.querySelector('svg.overlay')?.getAttribute('width') === '800'")
    # Both workers' boxes are drawn on the image beside the tool's own.
    assert page.locator("#answers .answer svg rect.shape").count() == 2
    page.wait_for_selector("g.boxes rect.shape")
    assert page.locator("g.boxes rect.shape").count() == 1
    right, bottom = box["left"] + box["width"], box["top"] + box["height"]
    page.keyboard.press("v")  # edit mode: a drag on a handle resizes (draw mode draws)
    page.mouse.click(*to_client(page, box["left"] + 20, box["top"] + 20))  # select it...
    drag(page, (right, bottom), (right + 40, bottom + 30))  # ...and pull its SE corner
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-review")
    label = item_label(site, job, "b1")
    assert label["reviewed"] is True
    (after,) = label["value"]["annotations"]
    assert after["left"] == pytest.approx(box["left"], abs=1)
    assert after["top"] == pytest.approx(box["top"], abs=1)
    assert after["width"] == pytest.approx(box["width"] + 40, abs=1)
    assert after["height"] == pytest.approx(box["height"] + 30, abs=1)


def test_image_classification_review_and_an_expired_lease(
    pages: Pages, site: Site, reviewer: str
) -> None:
    ref = site.image("review-class", 400, 300)
    job = site.job(
        "image-classification",
        ["cat", "dog"],
        [{"id": "i1", "source-ref": ref}],
        workers_per_item=2,
        time_limit=4,
        settings={"quality": {"review": {"disputed": True}}},
    )
    for worker, label in (("worker1", "cat"), ("worker2", "dog")):
        assert answer_all(site, job, worker, {"label": label}) == 1
    page = pages.open(reviewer, f"/review/{job}")
    wait_for_item(page, "i1")
    page.wait_for_selector("#tool-root img")
    assert page.locator("#answers .answer img").count() == 2
    assert [t.strip() for t in page.locator("#answers .answer .answer-text").all_inner_texts()] == [
        "cat",
        "dog",
    ]
    # The lease runs out: the page says so, and the server's 410 is explained in words.
    page.wait_for_selector("#task-error:has-text('lease on this item expired')", timeout=8000)
    assert page.locator("#timer").inner_text() == "time is up"
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_selector("#task-error:has-text('Not saved: your lease on this item expired')")
    # n takes the item again with a fresh lease.
    page.keyboard.press("n")
    page.wait_for_function(
        "document.getElementById('task-error').hidden"
        " && document.getElementById('timer').textContent.endsWith('left')"
    )
    wait_for_item(page, "i1")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-review")
    label = item_label(site, job, "i1")
    assert label["reviewed"] is True and label["meta"]["class-name"] == "dog"


def test_the_review_context_is_only_for_the_item_one_holds(site: Site, reviewer: str) -> None:
    job = disputed_text_job(site)
    path = f"/api/ui/jobs/{job}/review/items/t1"
    assert site.api("worker1", "GET", path).status_code == 403
    assert site.api(reviewer, "GET", path).status_code == 404  # not leased to them
    taken = site.api(reviewer, "POST", f"/api/jobs/{job}/review/next")
    assert taken.json()["item"] == "t1"
    context = site.api(reviewer, "GET", path).json()
    assert context["media_url"] is None and context["input_label"] is None
    assert context["label"]["meta"]["class-name"] == "pos"
    assert site.api(reviewer, "GET", f"/api/ui/jobs/{job}/review/items/t2").status_code == 404
    assert site.api("admin", "GET", f"/api/ui/jobs/{job}/review/items/t2").status_code == 200
    site.api(reviewer, "POST", f"/api/jobs/{job}/review/items/t1/release").raise_for_status()
    assert site.api(reviewer, "GET", path).status_code == 404


def test_a_label_the_model_suspects_comes_first_with_its_suggestion(
    pages: Pages, site: Site, reviewer: str
) -> None:
    """The label-issues run flags a wrong label; the reviewer sees why, and the suggested
    class name (markup in it stays text)."""
    job = one_wrong_label_job(site, "pos3")
    started = site.api("admin", "POST", f"/api/jobs/{job}/label-issues", json={"folds": 4})
    assert started.status_code == 202, started.text
    run: dict[str, Any] = {}
    for _ in range(100):
        run = site.api("admin", "GET", f"/api/runs/{started.json()['id']}").json()
        if run["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert run["state"] == "succeeded", run
    assert [d["item"] for d in run["result"]["items"]] == ["pos3"]

    page = pages.open(reviewer, f"/review/{job}")
    wait_for_item(page, "pos3")
    assert page.locator("#review-reason").inner_text() == "suspected error"
    why = page.locator("#review-why").inner_text()
    assert 'thinks "<b>odd</b>" is wrong' in why and 'suggests "pos"' in why
    assert page.locator("#review-why b").count() == 0
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_function("document.body.dataset.item !== 'pos3'")
    assert item_label(site, job, "pos3")["meta"]["class-name"] == "pos"
    assert site.api("admin", "GET", f"/api/jobs/{job}/label-issues").json()["flagged"] == 0


def shot(page: Any, name: str) -> None:
    """A picture of the page for the docs (kept with the test's artifacts)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def box_answer(left: int) -> dict[str, Any]:
    return {
        "boundingBoxes": [{"label": "car", "left": left, "top": 100, "width": 150, "height": 100}],
        "inputImageProperties": {"width": 800, "height": 600},
    }


def thread_of(site: Site, job: str, item: str, user: str = "admin") -> list[dict[str, Any]]:
    res = site.api(user, "GET", f"/api/jobs/{job}/items/{item}/comments")
    res.raise_for_status()
    return list(res.json()["comments"])


def test_review_like_an_editor_from_a_worker_answer_return_accept(
    pages: Pages, site: Site, reviewer: str
) -> None:
    """Three disputed box items: one corrected from worker2's answer, one returned to its
    workers with a comment that worker1 then sees on its task and answers, one accepted."""
    ref = site.image("review-editor", 800, 600)
    job = site.job(
        "bounding-box",
        ["car", "person"],
        [{"id": f"e{i}", "source-ref": ref} for i in range(3)],
        workers_per_item=2,
        settings={"quality": {"review": {"disputed": True, "min_agreement": 0.95}}},
    )
    assert answer_all(site, job, "worker1", box_answer(100)) == 3
    assert answer_all(site, job, "worker2", box_answer(420)) == 3
    page = pages.open(reviewer, f"/review/{job}")
    page.wait_for_function("/^e\\d$/.test(document.body.dataset.item || '')")
    first = page.evaluate("document.body.dataset.item")
    assert page.evaluate("document.body.dataset.startedFrom") == "consolidated"
    # The boxes did not overlap: the consolidated label has none, and the page says so.
    assert "start from a worker's answer" in page.locator("#empty-consolidation").inner_text()

    # Both workers' boxes over the image, each in its worker's colour, with a legend.
    page.wait_for_selector("#disagreement .review-overlay-stage[data-drawn='1']")
    shapes = page.locator("#disagreement rect.worker-shape")
    assert shapes.count() == 2
    strokes = {shapes.nth(i).get_attribute("stroke") for i in range(2)}
    assert len(strokes) == 2
    assert [t.strip() for t in page.locator(".review-legend li").all_inner_texts()] == [
        "worker1 · 1 shapes",
        "worker2 · 1 shapes",
    ]
    page.locator("#disagreement input[data-worker='worker1']").uncheck()
    assert page.locator("#disagreement rect.worker-shape[hidden]").count() == 1

    # Start from worker2's answer: the tool now holds worker2's box; submit it.
    page.click("#answers .answer[data-worker='worker2'] button.start-from")
    page.wait_for_function("document.body.dataset.startedFrom === 'worker:worker2'")
    page.wait_for_selector("g.boxes rect.shape")
    assert float(page.locator("g.boxes rect.shape").first.get_attribute("x") or 0) == 420
    assert page.locator(
        "#answers .answer[data-worker='worker2'] button.start-from.active"
    ).inner_text() == ("Editing this")
    page.locator("#disagreement").scroll_into_view_if_needed()
    shot(page, "review-editor")
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.body.dataset.item !== {json.dumps(first)}")
    label = item_label(site, job, first)
    assert label["reviewed"] is True
    assert label["value"]["annotations"][0]["left"] == 420
    assert label["meta"]["reviewed-by"] == REVIEWER
    assert label["meta"]["adjustment-status"] == "adjusted"
    [decision] = thread_of(site, job, first)
    assert decision["kind"] == "corrected"
    assert decision["detail"]["started_from"] == "worker:worker2"

    # Return the second item: the comment is required, then both workers get it back.
    second = page.evaluate("document.body.dataset.item")
    page.keyboard.press("r")
    page.wait_for_selector("#return-dialog[open]")
    assert page.locator("#return-workers input:checked").count() == 2
    page.click("#return-send")
    page.wait_for_selector("#return-error:has-text('Write what the workers should change')")
    page.fill("#return-comment", "The car is the <b>red</b> one on the left.")
    page.click("#return-send")
    page.wait_for_function(f"document.body.dataset.item !== {json.dumps(second)}")
    assert site.api("admin", "GET", f"/api/jobs/{job}/items/{second}").json()["label"] is None
    [returned] = thread_of(site, job, second)
    assert returned["kind"] == "returned" and returned["detail"]["workers"] == [
        "worker1",
        "worker2",
    ]

    # Accept the third as it is, with the key.
    third = page.evaluate("document.body.dataset.item")
    assert third not in (first, second)
    before = item_label(site, job, third)["value"]
    page.keyboard.press("a")
    page.wait_for_selector("#no-review")
    label = item_label(site, job, third)
    assert label["value"] == before and label["reviewed"] is True
    assert label["meta"]["adjustment-status"] == "unadjusted"
    assert [e["kind"] for e in thread_of(site, job, third)] == ["accepted"]

    # worker1's portal lists the returned item with the comment and a link to redo it.
    portal = pages.open("worker1", "/")
    returned_item = portal.locator(f"#returned-items li[data-item='{second}']")
    returned_item.wait_for()
    assert "to redo" in portal.locator("#returned-items h1").inner_text()
    assert returned_item.locator(".thread-body").inner_text() == (
        "The car is the <b>red</b> one on the left."
    )
    assert returned_item.locator("a").get_attribute("href") == f"/work/{job}"
    shot(portal, "review-returned-portal")
    # worker1 gets the returned item again and sees the comment beside the task (as text).
    work = pages.open("worker1", f"/work/{job}")
    wait_for_item(work, second)
    work.wait_for_selector("#review-thread:not([hidden]) .thread-entry[data-kind='returned']")
    body = work.locator("#review-thread .thread-body").inner_text()
    assert body == "The car is the <b>red</b> one on the left."
    assert work.locator("#review-thread .thread-body b").count() == 0
    assert "returned the item to worker1, worker2" in work.locator("#review-thread").inner_text()
    shot(work, "review-returned-task")
    work.fill("#review-thread textarea", "Redrawn around the red car.")
    work.click("#review-thread button.thread-post")
    work.wait_for_selector("#review-thread .thread-entry[data-author='worker1']")
    assert [e["author"] for e in thread_of(site, job, second, "worker1")] == [
        REVIEWER,
        "worker1",
    ]
    returned_list = site.api("worker1", "GET", "/api/me/returned").json()
    assert returned_list[0]["item"] == second and returned_list[0]["reviewer"] == REVIEWER
    # Shortcuts do not fire while typing in the thread's box.
    work.fill("#review-thread textarea", "")
    work.locator("#review-thread textarea").press("s")
    assert work.evaluate("document.body.dataset.item") == second


def mask_answer(box: tuple[int, int, int, int], width: int = 240, height: int = 160) -> Any:
    """A sky mask (white background) covering rows box[0]:box[1], columns box[2]:box[3]."""
    pixels = np.full((height, width, 3), 255, dtype=np.uint8)
    pixels[box[0] : box[1], box[2] : box[3]] = (0x12, 0x34, 0x56)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return {
        "labeledImage": {"pngImageData": base64.b64encode(buf.getvalue()).decode()},
        "labelMappings": {"sky": {"color": "#123456"}},
        "inputImageProperties": {"width": width, "height": height},
    }


def test_workers_masks_overlaid_in_their_colours_and_edited_from_one(
    pages: Pages, site: Site, reviewer: str
) -> None:
    ref = site.image("review-masks", 240, 160)
    job = site.job(
        "semantic-segmentation",
        ["sky", "road"],
        [{"id": "m1", "source-ref": ref}],
        workers_per_item=2,
        settings={"quality": {"review": {"disputed": True, "min_agreement": 0.95}}},
    )
    assert answer_all(site, job, "worker1", mask_answer((0, 40, 0, 100))) == 1
    assert answer_all(site, job, "worker2", mask_answer((100, 160, 140, 240))) == 1
    page = pages.open(reviewer, f"/review/{job}")
    wait_for_item(page, "m1")
    page.wait_for_selector(
        "#disagreement canvas.review-mask[data-worker='worker2'][data-tinted='1']"
    )
    page.wait_for_selector(
        "#disagreement canvas.review-mask[data-worker='worker1'][data-tinted='1']"
    )
    pixel = (
        "([w, x, y]) => Array.from(document.querySelector(`canvas.review-mask[data-worker='${w}']`)"
        ".getContext('2d').getImageData(x, y, 1, 1).data)"
    )
    # Each worker's sky in that worker's colour, and nothing where the worker drew nothing.
    w1 = page.evaluate(pixel, ["worker1", 10, 10])
    w2 = page.evaluate(pixel, ["worker2", 200, 150])
    assert w1[3] > 0 and w2[3] > 0 and w1[:3] != w2[:3]
    assert page.evaluate(pixel, ["worker1", 200, 150])[3] == 0
    assert page.evaluate(pixel, ["worker2", 10, 10])[3] == 0
    # Start from worker2's mask: the brush tool holds exactly its pixels; submit it.
    page.click("#answers .answer[data-worker='worker2'] button.start-from")
    page.wait_for_function(
        "(window.truthsetMaskCounts && window.truthsetMaskCounts().sky) === 6000"
    )
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-review")
    label = item_label(site, job, "m1")
    assert label["reviewed"] is True and label["meta"]["reviewed-by"] == REVIEWER
    png = site.api("admin", "GET", f"/api/jobs/{job}/items/m1/mask")
    assert png.status_code == 200
    # worker2's sky is the label's; worker1's corner is background (white) in it.
    mask = np.array(Image.open(io.BytesIO(png.content)).convert("RGB"))
    background = np.array([255, 255, 255])
    assert (mask[:40, :100] == background).all()
    assert not (mask[100:, 140:] == background).all(axis=-1).any()


def test_the_console_item_page_shows_the_review_thread(
    pages: Pages, site: Site, reviewer: str
) -> None:
    job = disputed_text_job(site)
    taken = site.api(reviewer, "POST", f"/api/jobs/{job}/review/next").json()
    item = taken["item"]
    site.api(
        reviewer,
        "POST",
        f"/api/jobs/{job}/review/items/{item}/return",
        json={"comment": "Read the second sentence.", "workers": ["worker2"]},
    ).raise_for_status()
    site.api(
        "worker2", "POST", f"/api/jobs/{job}/items/{item}/comments", json={"body": "Will do."}
    ).raise_for_status()
    page = pages.open("admin", f"/console/jobs/{job}/items/{item}")
    page.wait_for_selector("#item-thread .thread-entry[data-author='worker2']")
    entries = page.locator("#item-thread .thread-entry")
    assert [entries.nth(i).get_attribute("data-kind") for i in range(2)] == [
        "returned",
        "comment",
    ]
    assert "returned the item to worker2" in entries.nth(0).inner_text()
    assert "Read the second sentence." in entries.nth(0).inner_text()
    # Two answers are left on the item (worker2's went back), and no label until it is redone.
    assert page.locator("#answers .answer").count() == 2
    assert "No label yet." in page.locator("#consolidated").inner_text()
