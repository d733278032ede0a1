"""An empty segmentation mask asks for confirmation before it goes, like an answer with no
boxes (job setting `confirm_empty_answer`); a painted one goes without a question."""

from __future__ import annotations

from web.test_tools_image import click, open_image_job
from web.ui_support import Pages, Site


def test_an_empty_mask_asks_first(pages: Pages, site: Site) -> None:
    job, page = open_image_job(pages, site, "semantic-segmentation", ["sky", "road"])
    page.keyboard.press("Enter")  # nothing painted: the page asks
    dialog = page.locator("#confirm-empty")
    dialog.wait_for(state="visible")
    assert "no painted pixels" in page.locator("#confirm-empty-text").inner_text()
    page.keyboard.press("Escape")  # go back: nothing was sent
    dialog.wait_for(state="hidden")
    page.wait_for_timeout(200)
    assert site.answers(job, "img1") == []
    click(page, 40, 40)  # a brush dab: now the answer goes at once
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    assert answer["answer"]["labeledImage"]["pngImageData"]


def test_an_empty_mask_goes_without_a_question_where_the_job_says_so(
    pages: Pages, site: Site
) -> None:
    job, page = open_image_job(
        pages, site, "semantic-segmentation", ["sky"], settings={"confirm_empty_answer": False}
    )
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    assert len(site.answers(job, "img1")) == 1
    assert page.locator("#confirm-empty").is_visible() is False
