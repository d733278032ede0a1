"""The charts on the console's job page, in Chromium: progress with its estimate, the label
distribution, agreement over time and the confusion matrix, drawn from what workers
answered through the API (markup in a class name stays text)."""

from __future__ import annotations

from typing import Any

from web.test_console import answer_all
from web.test_docs_screenshots import _shot_of
from web.ui_support import Pages, Site

LABELS = ["cat", "dog", "<i>bird</i>"]


def _truth(i: int) -> str:
    return LABELS[i % 3]


def test_charts_of_a_classification_job(pages: Pages, site: Site) -> None:
    items = [{"id": f"c{i:02d}", "source": f"animal {i}"} for i in range(12)]
    job = site.job("text-classification", LABELS, items, workers_per_item=3)
    page = pages.open("admin", f"/console/jobs/{job}")
    page.wait_for_selector("#chart-eta:has-text('No estimate: not enough answers yet')")
    page.wait_for_selector("#skill-none:has-text('No answers with a reference yet')")

    def truth(task: Any) -> dict[str, str]:
        return {"label": _truth(int(task["item"]["id"][1:]))}

    def says_dog_for_birds(task: Any) -> dict[str, str]:
        given = _truth(int(task["item"]["id"][1:]))
        return {"label": "dog" if given == LABELS[2] else given}

    answer_all(site, job, "worker1", truth)
    answer_all(site, job, "worker2", truth, limit=6)
    page.reload()
    # Half the items are in (6 of 12 by two workers, none by three): a pace, no label yet.
    page.wait_for_selector("#chart-eta:has-text('items an hour')")
    assert "0 of 12 items done" in page.inner_text("#chart-progress")
    answer_all(site, job, "worker2", truth)
    answer_all(site, job, "worker3", says_dog_for_birds)
    page.reload()
    page.wait_for_selector("#chart-eta:has-text('Done: every item is labeled')")
    assert "12 of 12 items done (100%), 0 left" in page.inner_text("#chart-progress")
    bars = page.locator("#label-distribution rect.bar")
    got = {
        bars.nth(i).get_attribute("data-label"): bars.nth(i).get_attribute("data-count")
        for i in range(3)
    }
    assert got == {"cat": "4", "dog": "4", "<i>bird</i>": "4"}
    assert page.locator("#label-distribution text:has-text('<i>bird</i>')").count() == 1
    assert page.locator("#label-distribution i").count() == 0
    # Confusion: worker3 said dog for each of the 4 birds; everything else on the diagonal.
    cell = lambda ref, given: page.get_attribute(  # noqa: E731
        f"#confusion rect[data-ref='{ref}'][data-given='{given}']", "data-count"
    )
    assert cell(LABELS[2], "dog") == "4" and cell(LABELS[2], LABELS[2]) == "8"
    assert cell("cat", "cat") == "12" and cell("dog", "dog") == "12" and cell("dog", "cat") == "0"
    assert "Rows: the consolidated label" in page.inner_text("#job-charts")
    # One line per worker; worker1 and worker2 always agree, worker3 two thirds of the time.
    lines = page.locator("#skill-chart polyline")
    assert sorted(lines.nth(i).get_attribute("data-worker") or "" for i in range(3)) == [
        "worker1",
        "worker2",
        "worker3",
    ]
    api = site.api("admin", "GET", f"/api/jobs/{job}/charts").json()
    shares = {w["worker"]: [p["share"] for p in w["points"]] for w in api["skill"]["workers"]}
    assert set(shares["worker1"]) == {1.0}
    answered = {
        w["worker"]: sum(p["answers"] for p in w["points"]) for w in api["skill"]["workers"]
    }
    assert answered == {"worker1": 12, "worker2": 12, "worker3": 12}
    _shot_of(page.locator("#job-charts"), "console-job-charts")


def test_charts_of_a_job_without_one_class_per_answer(pages: Pages, site: Site) -> None:
    job = site.job("bounding-box", ["car"], [{"id": "b1", "source-ref": site.image("b1", 64, 48)}])
    page = pages.open("admin", f"/console/jobs/{job}")
    page.wait_for_selector(
        "#confusion-none:has-text('bounding-box answers are not one class each')"
    )
    page.wait_for_selector("#skill-none:has-text('Not drawn')")
    assert page.get_attribute("#label-distribution rect.bar", "data-count") == "0"
