"""Sign-in sends people only to a page of this site, and instructions load no image from
another host however its URL is spelled."""

from __future__ import annotations

from typing import Any

import pytest

from web.ui_support import Pages, Site, wait_for_task

# Each is a path as far as startswith("/") goes, and another host to the browser.
OFF_SITE = [
    "/%5Cevil.example/x",
    "/%09/evil.example/x",
    "//evil.example",
    "/\\evil.example",
    "https://evil.example/x",
    "/%0A/evil.example/x",
]


def _requests_elsewhere(ctx: Any, site: Site) -> list[str]:
    """Every request leaving for another host, answered here so nothing waits on DNS."""
    seen: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(site.base):
            r.continue_()
        else:
            seen.append(r.request.url)
            r.fulfill(status=200, body="elsewhere")

    ctx.route("**/*", route)
    return seen


def _sign_in(pages: Pages, site: Site, next_query: str) -> tuple[Any, list[str]]:
    ctx = pages.context()
    elsewhere = _requests_elsewhere(ctx, site)
    page = ctx.new_page()
    page.on("pageerror", lambda e: pages.errors.append(str(e)))
    page.goto(f"{site.base}/login?next={next_query}")
    page.fill("#name", "worker1")
    page.fill("#password", "worker1-pass")
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_load_state()
    return page, elsewhere


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_never_redirects_off_site(pages: Pages, site: Site, target: str) -> None:
    page, elsewhere = _sign_in(pages, site, target)
    assert page.url.startswith(site.base + "/"), page.url
    assert elsewhere == []


def test_sign_in_follows_a_path_on_this_site(pages: Pages, site: Site) -> None:
    page, elsewhere = _sign_in(pages, site, "/api/health")
    assert page.url == site.base + "/api/health"
    assert elsewhere == []


def test_an_image_spelled_as_a_backslash_path_is_not_loaded(pages: Pages, site: Site) -> None:
    job = site.job(
        "text-classification",
        ["a", "b"],
        [{"id": "i1", "source": "text"}],
        instructions="# Look\n\n![t](/\\evil.example/t.png)\n\n![u](/%5Cevil.example/u.png)",
    )
    ctx = pages.context("worker1")
    elsewhere = _requests_elsewhere(ctx, site)
    page = ctx.new_page()
    page.goto(f"{site.base}/work/{job}")
    wait_for_task(page)
    page.keyboard.press("i")
    body = page.locator("#instructions-body")
    body.wait_for()
    # "%5C" stays encoded in a URL path: that one is a file on this site, and may load.
    sources = [img.evaluate("i => i.src") for img in body.locator("img").all()]
    assert sources == [site.base + "/%5Cevil.example/u.png"]
    assert "[image not shown: t]" in body.inner_text()
    assert elsewhere == []
