"""The job page's consolidation report: the method ``auto`` chose, why, every candidate's
held-out answer log-likelihood and the calibration, as the API reports them."""

from __future__ import annotations

from web.test_console import answer_all
from web.ui_support import Pages, Site


def test_the_consolidation_report_of_a_classification_job(pages: Pages, site: Site) -> None:
    labels = ["cat", "<i>dog</i>"]
    items = [{"id": f"c{i}", "source": f"pet {i}"} for i in range(8)]
    job = site.job("text-classification", labels, items, workers_per_item=2)
    page = pages.open("admin", f"/console/jobs/{job}")
    page.wait_for_selector("#consolidation-none:has-text('No job-level consolidation yet')")
    answer_all(site, job, "worker1", lambda t: {"label": "cat"})
    answer_all(
        site, job, "worker2", lambda t: {"label": "cat" if t["item"]["id"] < "c5" else labels[1]}
    )
    site.api(
        "admin", "POST", f"/api/jobs/{job}/consolidate", json={"method": "auto", "wait": True}
    ).raise_for_status()
    report = site.api("admin", "GET", f"/api/jobs/{job}/consolidation").json()["report"]
    page.reload()
    page.wait_for_selector("#consolidation-candidates")
    assert page.locator("#c-method b").inner_text() == report["method"]
    assert page.locator("#c-requested b").inner_text() == "auto"
    assert report["no_gold_choice"] in page.locator("#c-why").inner_text()
    rows = page.locator("#consolidation-candidates tbody tr")
    assert rows.count() == len(report["candidates"])
    scores = {n: c["held_out_log_likelihood"] for n, c in report["candidates"].items()}
    best = max(scores, key=scores.__getitem__)
    assert rows.first.get_attribute("data-method") == best  # best criterion first
    chosen = page.locator(f"#consolidation-candidates tr[data-method='{report['method']}'] td")
    assert chosen.first.inner_text() == f"{report['method']} (chosen)"
    assert "held-out answers" in page.locator("#c-calibration").inner_text()
