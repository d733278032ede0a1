"""The job page of the console: editing a running job, its teams, agreement and the
automated-labeling report, checked through the API afterwards."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from web.test_console import answer_all, one_wrong_label_job
from web.ui_support import Pages, Site


def test_edit_a_running_job_and_remove_a_team(pages: Pages, site: Site) -> None:
    job = site.job("text-classification", ["a", "b"], [{"id": "e1", "source": "<b>x</b>"}])
    team = f"extra-{uuid.uuid4().hex[:6]}"
    site.api("admin", "POST", "/api/teams", json={"name": team}).raise_for_status()
    site.api("admin", "POST", f"/api/jobs/{job}/teams", json={"team": team}).raise_for_status()
    page = pages.open("admin", f"/console/jobs/{job}")
    page.click("#job-edit summary")
    page.fill("#e-instructions", "# New rules\n\n**Bold** <script>bad()</script>")
    page.wait_for_selector("#e-preview strong:has-text('Bold')")
    assert page.locator("#e-preview script").count() == 0
    page.fill("#e-time", "600")
    page.fill("#e-availability", "2")
    page.fill("#e-max-concurrent", "5")
    page.fill("#e-max-human", "3")
    page.fill("#e-max-percent", "50")
    page.click("#e-save")
    page.wait_for_selector(".toast.ok:has-text('Job updated')")
    got = site.api("admin", "GET", f"/api/jobs/{job}").json()
    assert got["instructions"] == "# New rules\n\n**Bold** <script>bad()</script>"
    assert got["task_time_limit"] == 600
    assert got["task_availability"] == 7200
    assert got["max_concurrent_tasks"] == 5
    assert got["max_human_labeled"] == 3
    assert got["max_percentage_labeled"] == 50
    page.wait_for_selector("p:has-text('10:00 per task')")
    # Untouched fields are not sent; a cleared optional limit is removed (null).
    page.click("#job-edit summary")
    assert page.input_value("#e-max-human") == "3"
    page.fill("#e-max-human", "")
    page.click("#e-save")
    page.wait_for_selector(".toast.ok:has-text('Job updated')  >> nth=1")
    got = site.api("admin", "GET", f"/api/jobs/{job}").json()
    assert got["max_human_labeled"] is None and got["task_time_limit"] == 600
    # The server's validation message is shown, and nothing changes.
    page.click("#job-edit summary")
    page.fill("#e-time", "99999")
    page.click("#e-save")
    page.wait_for_selector("#e-error:has-text('task_time_limit must be a number from 1 to 28800')")
    page.fill("#e-time", "")
    page.click("#e-save")
    page.wait_for_selector("#e-error:has-text('task_time_limit cannot be null')")
    assert site.api("admin", "GET", f"/api/jobs/{job}").json()["task_time_limit"] == 600
    # Remove a team (after a confirmation).
    page.on("dialog", lambda d: d.accept())
    page.click(f"#job-teams button[data-remove-team='{team}']")
    page.wait_for_selector(f".toast.ok:has-text('Team {team} removed')")
    assert site.api("admin", "GET", f"/api/jobs/{job}").json()["teams"] == ["labelers"]
    page.wait_for_selector(f"#team-select option[value='{team}']", state="attached")
    assert page.locator("#job-teams li").all_inner_texts()[0].startswith("labelers")


def test_agreement_of_a_classification_job(pages: Pages, site: Site) -> None:
    labels = ["cat", "<i>dog</i>"]
    items = [{"id": f"k{i}", "source": f"pet {i}"} for i in range(6)]
    job = site.job("text-classification", labels, items, workers_per_item=2)
    page = pages.open("admin", f"/console/jobs/{job}")
    page.wait_for_selector("#agreement-none:has-text('No answers yet')")
    answer_all(
        site, job, "worker1", lambda t: {"label": "cat" if t["item"]["id"] < "k3" else labels[1]}
    )
    answer_all(
        site, job, "worker2", lambda t: {"label": "cat" if t["item"]["id"] < "k4" else labels[1]}
    )
    page.reload()
    page.wait_for_selector("#agreement-labels")
    report = site.api("admin", "GET", f"/api/jobs/{job}/agreement").json()
    assert page.locator("#a-answers b").inner_text() == "12"
    alpha = page.locator("#a-alpha b").inner_text()
    assert alpha == str(round(report["krippendorff_alpha"], 3))
    assert page.locator("#a-fleiss b").inner_text() == str(round(report["fleiss_kappa"], 3))
    rows = page.locator("#agreement-labels tbody tr")
    assert rows.count() == 2
    assert rows.nth(1).locator("td").first.inner_text() == "<i>dog</i>"  # text, not markup
    assert page.locator("#agreement i").count() == 0
    pair = page.locator("#agreement-pairs tbody tr").first.inner_text()
    assert "worker1 · worker2" in pair
    # The worker table shows each worker's skill and gold accuracy columns.
    headers = page.locator("#workers thead th").all_inner_texts()
    assert "SKILL" in [h.upper() for h in headers] and "GOLD ACCURACY" in [
        h.upper() for h in headers
    ]


def test_agreement_of_a_box_job_is_the_mean_pairwise_agreement(pages: Pages, site: Site) -> None:
    ref = site.image("agree-boxes", 400, 300)
    job = site.job("bounding-box", ["car"], [{"id": "a1", "source-ref": ref}], workers_per_item=2)
    for worker, width in (("worker1", 100), ("worker2", 80)):
        answer_all(
            site,
            job,
            worker,
            {
                "boundingBoxes": [
                    {"label": "car", "left": 10, "top": 10, "width": width, "height": 50}
                ],
                "inputImageProperties": {"width": 400, "height": 300},
            },
        )
    report = site.api("admin", "GET", f"/api/jobs/{job}/agreement").json()
    page = pages.open("admin", f"/console/jobs/{job}")
    page.wait_for_selector("#a-mean")
    assert report["mean_pairwise_agreement"] == 0.8  # box IoU of 80 × 50 within 100 × 50
    assert page.locator("#a-mean b").inner_text() == "80%"
    assert page.locator("#a-pairs b").inner_text() == "1"
    assert page.locator("#agreement-workers tbody tr").count() == 2
    # Objects are also compared label by label.
    assert report["per_label"] == {"car": 0.8}
    assert page.locator("#agreement-labels tr[data-label=car] td").nth(1).inner_text() == "80%"


def test_the_workers_table_says_what_the_agreement_section_says(pages: Pages, site: Site) -> None:
    ref = site.image("agree-table", 400, 300)
    items = [{"id": f"t{i}", "source-ref": ref} for i in range(2)]
    job = site.job("bounding-box", ["car"], items, workers_per_item=3)
    widths = {"worker1": 100, "worker2": 80, "worker3": 50}
    for worker, width in widths.items():
        box = {"label": "car", "left": 10, "top": 10, "width": width, "height": 50}
        answer_all(
            site,
            job,
            worker,
            {"boundingBoxes": [box], "inputImageProperties": {"width": 400, "height": 300}},
        )
    page = pages.open("admin", f"/console/jobs/{job}")
    page.wait_for_selector("#agreement-workers")
    assert page.locator("#workers-agreement").text_content() == "Agreement with the others"
    for worker in widths:
        below = page.locator(f"#agreement-workers tr[data-worker={worker}] td").nth(1)
        table = page.locator(f"#workers tr[data-worker={worker}] td.agreement")
        assert table.inner_text() == below.inner_text() != "–", worker


def test_a_finished_job_offers_only_what_it_can_do_in_plain_words(pages: Pages, site: Site) -> None:
    job = site.job("text-classification", ["a", "b"], [{"id": "f1", "source": "x"}])
    answer_all(site, job, "worker1", {"label": "a"})
    assert site.api("admin", "GET", f"/api/jobs/{job}").json()["state"] == "completed"
    page = pages.open("admin", f"/console/jobs/{job}")
    page.wait_for_selector("#job-state")
    assert page.locator("#job-state").inner_text() == "completed"
    # Nothing to stop, resume or edit on a completed job; review, clone and chain remain.
    for absent in ("#btn-resume", "#btn-stop", "#job-edit"):
        assert page.locator(absent).count() == 0, absent
    for present in ("#btn-review", "#btn-clone", "#btn-chain", "#btn-delete"):
        assert page.locator(present).count() == 1, present
    cell = page.locator("#labels tr[data-item=f1] td[data-status]")
    assert cell.get_attribute("data-status") == "complete"
    assert cell.inner_text() == "labeled by people"
    page.click("#labels tr[data-item=f1] a")
    page.wait_for_selector("#item-status")
    assert page.locator("#item-status").inner_text() == "labeled by people"
    # A stopped job is resumed; its settings can be edited first, and it says so.
    running = site.job("text-classification", ["a", "b"], [{"id": "r1", "source": "y"}])
    page.goto(f"{site.base}/console/jobs/{running}")
    assert page.locator("#job-state").inner_text() == "in progress"
    assert page.locator("#job-edit summary").inner_text() == "Edit the running job"
    page.click("#btn-stop")
    page.wait_for_selector("#btn-resume")
    assert page.locator("#job-state").get_attribute("data-state") in ("stopping", "stopped")
    assert page.locator("#job-edit summary").inner_text() == "Edit the job before resuming it"
    words = page.evaluate(
        "import('/static/js/words.js').then((w) => [w.taskStatusWords('full'),"
        " w.taskStatusWords('open'), w.jobStateWords('initializing')])"
    )
    assert words == ["all answers in, waiting for consolidation", "waiting for answers", "starting"]


def test_autolabel_report_of_a_job_with_automated_labeling(pages: Pages, site: Site) -> None:
    items = [{"id": f"al{i}", "source": f"text {i}"} for i in range(3)]
    job = site.job(
        "text-classification", ["a", "b"], items, settings={"auto_label": {"batch_size": 50}}
    )
    # The server's executor runs the first iteration (it sends the first batch to people).
    deadline = time.time() + 60
    while True:
        report = site.api("admin", "GET", f"/api/jobs/{job}/autolabel").json()
        if report["iterations"]:
            break
        assert time.time() < deadline, report
        time.sleep(0.3)
    (first,) = report["iterations"]
    page = pages.open("admin", f"/console/jobs/{job}")
    row = page.locator(f"#autolabel-iterations tbody tr[data-run='{first['run_id']}']")
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[1] == "succeeded"
    assert cells[3:8] == ["3", "0", "–" if first["validation_labeled"] is None else "0", "3", "0"]
    settings = page.locator("#autolabel-settings").inner_text()
    assert "Target accuracy 95%" in settings and "batches of 50" in settings


# Every field of the report, as GET /api/jobs/{name}/autolabel gives them after the model
# has run (training takes longer than a browser test should).
REPORT: dict[str, Any] = {
    "enabled": True,
    "settings": {"target_accuracy": 0.95, "confidence_level": 0.95, "strategy": "margin"},
    "pending": {"run_id": 9, "state": "running"},
    "iterations": [
        {
            "run_id": 7,
            "state": "succeeded",
            "error": None,
            "finished_at": 1_700_000_000,
            "items": 1000,
            "human_labels": 120,
            "validation_labeled": 40,
            "waiting_for": 100,
            "auto_labeled": 600,
            "threshold": 0.8765,
            "estimated_accuracy": 0.962,
            "accuracy_interval": [0.951, 0.99],
            "cost_saved": 48.0,
            "committed": True,
            "strategy": "<b>margin</b>",
        },
        {
            "run_id": 8,
            "state": "failed",
            "error": "<img src=x onerror=alert(1)> out of memory",
            "finished_at": 1_700_000_100,
            **{k: None for k in ("items", "human_labels", "validation_labeled", "waiting_for")},
            **{k: None for k in ("auto_labeled", "threshold", "estimated_accuracy")},
            **{k: None for k in ("accuracy_interval", "cost_saved", "committed", "strategy")},
        },
    ],
}


def test_autolabel_report_renders_every_field(pages: Pages, site: Site) -> None:
    job = site.job("text-classification", ["a", "b"], [{"id": "x1", "source": "x"}])
    page = pages.context("admin").new_page()
    page.on("pageerror", lambda e: pages.errors.append(str(e)))
    page.route(
        f"**/api/jobs/{job}/autolabel",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(REPORT)
        ),
    )
    page.goto(f"{site.base}/console/jobs/{job}")
    row = page.locator("#autolabel-iterations tbody tr[data-run='7']")
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[3:10] == ["1000", "120", "40", "100", "600", "0.877", "96.2%"]
    assert cells[10] == "95.1% – 99%"
    assert cells[11:] == ["48", "yes", "<b>margin</b>"]
    failed = page.locator("#autolabel-iterations tbody tr[data-run='8'] td").all_inner_texts()
    assert failed[1] == "failed (<img src=x onerror=alert(1)> out of memory)"
    assert failed[3:] == ["–"] * 11
    assert page.locator("#autolabel b, #autolabel img").count() == 0
    settings = page.locator("#autolabel-settings").inner_text()
    assert "Target accuracy 95% at 95% confidence" in settings and "run 9 running" in settings


def test_no_autolabel_section_without_automated_labeling(pages: Pages, site: Site) -> None:
    job = site.job("text-classification", ["a", "b"], [{"id": "y1", "source": "y"}])
    page = pages.open("admin", f"/console/jobs/{job}")
    page.wait_for_selector("#agreement")
    assert page.locator("#autolabel").count() == 0


def test_find_likely_wrong_labels_from_the_job_page(pages: Pages, site: Site) -> None:
    job = one_wrong_label_job(site, "pos7")
    page = pages.open("admin", f"/console/jobs/{job}")
    page.wait_for_selector("#label-issues-count:has-text('No label is flagged')")
    page.click("#label-issues-check")
    page.wait_for_selector("#label-issues-count:has-text('1 label(s) look wrong')")
    row = page.locator("#label-issues tr[data-item='pos7'] td")
    assert [row.nth(i).inner_text() for i in (0, 1, 3)] == ["pos7", "<b>odd</b>", "pos"]
    assert page.locator("#label-issues td b").count() == 0
    link = page.locator("#label-issues a.button")
    assert link.get_attribute("href") == f"/review/{job}"
    listed = site.api("admin", "GET", f"/api/jobs/{job}/label-issues").json()
    assert [d["item"] for d in listed["items"]] == ["pos7"]


def test_the_items_table_pages_by_cursor_both_ways(pages: Pages, site: Site) -> None:
    job = site.job(
        "text-classification",
        ["a", "b"],
        [{"id": f"n{i:03d}", "source": f"t {i}"} for i in range(120)],
    )
    page = pages.open("admin", f"/console/jobs/{job}")
    rows = page.locator("#labels tbody tr")
    page.wait_for_selector("#labels tbody tr[data-item=n000]")
    assert rows.count() == 50 and page.locator("a:has-text('← previous')").count() == 0
    page.click("a:has-text('next →')")
    page.wait_for_selector("#labels tbody tr[data-item=n050]")
    assert "after=" in page.url and rows.count() == 50
    page.click("a:has-text('next →')")
    page.wait_for_selector("#labels tbody tr[data-item=n100]")
    assert rows.count() == 20 and page.locator("a:has-text('next →')").count() == 0
    page.click("a:has-text('← previous')")
    page.wait_for_selector("#labels tbody tr[data-item=n050]")
    assert "before=" in page.url and rows.count() == 50
    assert rows.last.get_attribute("data-item") == "n099"
    assert page.locator("#labels + p span:has-text('120 items')").count() == 1
