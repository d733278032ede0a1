"""Data is shown as text, never run; a worker's page holds no other worker's answers."""

from __future__ import annotations

from web.ui_support import Pages, Site, wait_for_task

EVIL = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def test_item_text_and_label_names_are_text(pages: Pages, site: Site) -> None:
    labels = [f"good {EVIL}", "bad <b>bold</b>"]
    job = site.job(
        "text-classification",
        labels,
        [{"id": "evil", "source": f"Hello {EVIL}"}],
        instructions=f"# Title {EVIL}\n\n[click](javascript:alert(1)) ![bad: x](https://evil.example/x.png)",
        settings={"short_instructions": f"Short {EVIL}"},
    )
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    assert page.locator("#item-text").inner_text() == f"Hello {EVIL}"
    assert page.locator(".label-btn .label-name").first.inner_text() == labels[0]
    assert EVIL in page.locator("#short-instructions").inner_text()
    assert page.locator("#tool-root img, #tool-root script, .label-bar b").count() == 0
    page.keyboard.press("i")
    body = page.locator("#instructions-body")
    assert EVIL in body.inner_text()
    assert body.locator("script, a[href^=javascript]").count() == 0
    assert body.locator("img").count() == 0  # images only from allowed origins
    page.keyboard.press("Escape")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector("#no-work")
    assert page.evaluate("window.__pwned") is None
    # The console shows the same data as text too.
    admin = pages.open("admin", f"/console/jobs/{job}/items/evil")
    admin.wait_for_selector("#consolidated")
    assert EVIL in admin.locator("#item-text").inner_text()
    assert admin.evaluate("window.__pwned") is None


def test_pages_send_a_strict_content_security_policy(site: Site) -> None:
    import httpx

    res = httpx.get(site.base + "/login")
    assert "script-src 'self'" in res.headers["content-security-policy"]
    assert (
        "unsafe-inline"
        not in res.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    )
    assert httpx.get(site.base + "/work/x").status_code == 303  # not signed in: to /login


def test_a_worker_page_holds_no_other_workers_answers(pages: Pages, site: Site) -> None:
    secret = "SECRET-ANSWER-OF-WORKER2"
    job = site.job(
        "text-classification",
        ["a", secret],
        [{"id": "s1", "source": "shared item"}],
        workers_per_item=2,
    )
    first = site.api("worker2", "POST", f"/api/jobs/{job}/next").json()
    ok = site.api(
        "worker2",
        "POST",
        f"/api/assignments/{first['assignment_id']}/submit",
        json={"answer": {"label": secret}},
    )
    assert ok.status_code == 200
    captured: list[str] = []
    page = pages.context("worker1").new_page()
    page.on(
        "response",
        lambda r: (
            captured.append(r.text())
            if "/api/" in r.url and r.status == 200 and r.request.method != "HEAD"
            else None
        ),
    )
    page.goto(f"{site.base}/work/{job}")
    wait_for_task(page)
    page.wait_for_timeout(300)
    # The label name is on the page (it is a label), but no answer of worker2 is.
    assert "worker2" not in page.content()
    assert not any("worker2" in body for body in captured)
    forbidden = site.api("worker1", "GET", f"/api/jobs/{job}/items/s1")
    assert forbidden.status_code == 403


def test_the_pages_work_under_their_own_policy(pages: Pages, site: Site) -> None:
    """The other tests bypass the CSP for Playwright's helpers; here it is enforced."""
    ref = site.image("csp", 400, 300)
    job = site.job(
        "semantic-segmentation",
        ["sky"],
        [{"id": "m1", "source-ref": ref}],
        instructions="![good: ok](/static/favicon.svg)",
    )
    violations: list[str] = []
    ctx = pages.context("worker1", bypass_csp=False)
    page = ctx.new_page()
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(f"{site.base}/work/{job}")
    overlay = page.locator("svg.overlay[width='400']")
    overlay.wait_for()
    box = overlay.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.press("i")
    page.locator("#instructions figure.good img").wait_for()
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    page.locator("#no-work").wait_for()
    content = site.answers(job, "m1")[0]["answer"]
    assert content["inputImageProperties"] == {"width": 400, "height": 300}
    admin = pages.context("admin", bypass_csp=False).new_page()
    admin.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    admin.goto(f"{site.base}/console/jobs/{job}/items/m1")
    admin.locator(".answer img").first.wait_for()
    assert violations == []
