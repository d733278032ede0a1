"""Signing out from the page: the button's request carries the CSRF header, so it still
works, and the session is over; a request without the header (what another site's form
sends) signs nobody out."""

from __future__ import annotations

import httpx

from web.ui_support import Pages, Site


def _signed_in(pages: Pages, site: Site):
    page = pages.open(None, "/login")
    page.fill("#name", "worker1")
    page.fill("#password", "worker1-pass")
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.locator("#signout").wait_for()
    [cookie] = [c for c in page.context.cookies() if c["name"] == "truthset_session"]
    return page, cookie["value"]


def test_the_sign_out_button_ends_the_session(pages: Pages, site: Site) -> None:
    page, token = _signed_in(pages, site)
    with page.expect_navigation():
        page.click("#signout")
    assert page.url == f"{site.base}/login"
    me = httpx.get(f"{site.base}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401


def test_a_sign_out_without_the_header_is_refused(pages: Pages, site: Site) -> None:
    page, token = _signed_in(pages, site)
    status = page.evaluate("async () => (await fetch('/api/auth/logout', {method: 'POST'})).status")
    assert status == 403
    me = httpx.get(f"{site.base}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["name"] == "worker1"
