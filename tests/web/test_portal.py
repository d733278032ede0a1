"""The worker portal and the task loop in a real browser."""

from __future__ import annotations

import time
from typing import Any

from web.ui_support import Pages, Site, wait_for_prefetch, wait_for_task

LABELS = ["Positive", "Negative", "Neutral"]


def _text_items(n: int, prefix: str = "t") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i}", "source": f"Text {i} about the weather."} for i in range(n)]


def test_sign_in_shows_my_jobs_with_work_left(pages: Pages, site: Site) -> None:
    job = site.job("text-classification", LABELS, _text_items(3))
    page = pages.open(None, "/")
    page.wait_for_url("**/login?next=%2F")
    page.fill("#name", "worker1")
    page.fill("#password", "wrong")
    page.click("button[type=submit]")
    page.wait_for_selector("#login-error:has-text('do not match')")
    page.fill("#password", "worker1-pass")
    page.click("button[type=submit]")
    card = page.locator(f".job-card[data-job='{job}']")
    card.wait_for()
    assert "3 of 3 items still need labels" in card.inner_text()
    # Someone outside the job's teams does not see it.
    other = pages.open("outsider", "/")
    other.wait_for_selector("#app h1")
    assert other.locator(f".job-card[data-job='{job}']").count() == 0


def test_keyboard_only_loop_prefetches_the_next_task(pages: Pages, site: Site) -> None:
    job = site.job("text-classification", LABELS, _text_items(4, "k"))
    page = pages.open("worker1", f"/work/{job}")
    chosen: dict[str, str] = {}
    switch_ms = []
    previous = None
    for n in range(4):
        previous = wait_for_task(page, previous)
        item = page.evaluate("document.body.dataset.item")
        wait_for_prefetch(page)
        key = n % 3
        page.keyboard.press(str(key + 1))
        page.keyboard.press("Enter")
        chosen[item] = LABELS[key]
        if n < 3:
            wait_for_task(page, previous)
            switch_ms.append(float(page.evaluate("document.body.dataset.lastSwitchMs")))
    page.wait_for_selector("#no-work")
    # Nothing left to answer: Submit and Skip are off, and their keys do nothing.
    assert page.locator("#btn-submit").is_disabled() and page.locator("#btn-skip").is_disabled()
    page.keyboard.press("Enter")
    page.keyboard.press("s")
    assert page.locator("#no-work").is_visible()
    for item, label in chosen.items():
        answers = site.answers(job, item)
        assert [a["answer"] for a in answers] == [{"label": label}]
        assert answers[0]["worker"] == "worker1"
    # The next task was prefetched: it shows as soon as the server acknowledges the submit
    # (a durable write). The median is checked; benchmarks/browser_portal.py measures more.
    assert sorted(switch_ms)[1] < 100, switch_ms


def test_reload_mid_answer_restores_it(pages: Pages, site: Site) -> None:
    job = site.job("text-classification-multilabel", LABELS, _text_items(2, "r"))
    page = pages.open("worker2", f"/work/{job}")
    assignment = wait_for_task(page)
    item = page.evaluate("document.body.dataset.item")
    page.keyboard.press("1")
    page.keyboard.press("3")
    page.reload()
    assert wait_for_task(page) == assignment
    on = page.locator(".label-btn.on").all_inner_texts()
    assert [t.split("\n")[-1].strip() for t in on] == ["Positive", "Neutral"]
    page.keyboard.press("Enter")
    wait_for_task(page, assignment)
    assert [a["answer"] for a in site.answers(job, item)] == [{"labels": ["Positive", "Neutral"]}]


def test_submit_is_kept_and_retried_while_the_server_is_unreachable(
    pages: Pages, site: Site
) -> None:
    job = site.job("text-classification", LABELS, _text_items(3, "o"))
    page = pages.open("worker3", f"/work/{job}")
    first = wait_for_task(page)
    item = page.evaluate("document.body.dataset.item")
    wait_for_prefetch(page)
    page.context.set_offline(True)
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    # The worker goes on with the prefetched task; the answer waits on this device.
    wait_for_task(page, first)
    page.wait_for_selector("#outbox-status.pending")
    assert site.answers(job, item) == []
    pending = page.evaluate("localStorage.getItem('truthset:worker3:outbox')")
    assert '"Negative"' in pending
    page.context.set_offline(False)
    page.wait_for_selector("#outbox-status:not(.pending)", state="attached", timeout=10000)
    assert [a["answer"] for a in site.answers(job, item)] == [{"label": "Negative"}]


def test_invalid_answer_shows_the_servers_error(pages: Pages, site: Site) -> None:
    job = site.job("text-classification", LABELS, _text_items(2, "v"))
    page = pages.open("worker1", f"/work/{job}")
    first = wait_for_task(page)
    page.keyboard.press("Enter")  # no label chosen: the page says so itself
    page.wait_for_selector("#task-error:has-text('Pick a label')")

    def tamper(route: Any) -> None:
        route.continue_(post_data=route.request.post_data.replace("Positive", "Nonsense"))

    page.route("**/submit", tamper)
    page.keyboard.press("1")
    # The label is on before Enter: a key the page had not yet taken left the earlier
    # "Pick a label" error up and the submit unsent (seen once in CI on a loaded machine).
    page.wait_for_selector(".label-btn[aria-pressed='true']")
    page.keyboard.press("Enter")
    error = page.locator("#task-error")
    error.wait_for(state="visible")
    page.wait_for_selector("#task-error:has-text('not one of the job')")
    assert page.evaluate("document.body.dataset.assignment") == first  # still on the task
    page.unroute("**/submit")
    page.keyboard.press("Enter")
    wait_for_task(page, first)


def test_expired_lease_is_explained(pages: Pages, site: Site) -> None:
    job = site.job("text-classification", LABELS, _text_items(1, "x"), time_limit=2)
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_selector("#task-error:has-text('time for this task ran out')", timeout=6000)
    time.sleep(0.2)
    taken = site.api("worker2", "POST", f"/api/jobs/{job}/next")
    assert taken.status_code == 200
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector(".toast.error:has-text('was not recorded')")
    page.wait_for_selector("#no-work")


def test_help_shows_progress_and_shortcuts(pages: Pages, site: Site) -> None:
    job = site.job(
        "text-classification",
        LABELS,
        _text_items(2, "h"),
        instructions="# Guide\n\n**Bold** rule.\n\n![good: a clear case](/static/favicon.svg)",
    )
    page = pages.open("worker2", f"/work/{job}")
    first = wait_for_task(page)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    wait_for_task(page, first)
    page.keyboard.press("?")
    page.wait_for_selector("#help[open]")
    page.wait_for_selector("#job-progress:has-text('1 answers')")
    assert "skip this task" in page.locator("#help").inner_text()
    page.keyboard.press("Escape")
    page.keyboard.press("i")
    page.wait_for_selector("#instructions[open] strong:has-text('Bold')")
    assert page.locator("#instructions figure.good img").count() == 1


def test_skip_release_and_heartbeat(pages: Pages, site: Site) -> None:
    job = site.job("text-classification", LABELS, _text_items(3, "q"), time_limit=3)
    page = pages.open("worker2", f"/work/{job}")
    first = wait_for_task(page)
    with page.expect_request(lambda r: r.url.endswith("/heartbeat"), timeout=5000):
        pass  # the lease is 3 s: the page heartbeats every second
    skipped = page.evaluate("document.body.dataset.item")
    page.keyboard.press("s")
    second = wait_for_task(page, first)
    wait_for_prefetch(page)
    ahead = page.evaluate(
        "document.body.dataset.prefetched"
    )  # "none" where a worker holds one lease
    page.keyboard.press("q")  # give every lease back (the one shown, the one ahead) and stop
    page.wait_for_url(f"{site.base}/")
    events = site.api("admin", "GET", f"/api/jobs/{job}/activity").json()
    kinds = [(e["event"], e["assignment_id"]) for e in events if e["worker"] == "worker2"]
    assert ("decline", int(first)) in kinds
    assert ("release", int(second)) in kinds
    if ahead != "none":
        assert ("release", int(ahead)) in kinds
    held = site.api("worker2", "GET", "/api/me/assignments").json()
    assert [a for a in held if a["job"] == job] == []
    assert skipped not in {e["item"] for e in events if e["event"] == "release"}
