"""/api/docs renders from the package's own Swagger UI files with every request off this
server blocked (no CDN), under the site's Content-Security-Policy."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from web.ui_support import Pages, Site

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_api_docs_render_offline(pages: Pages, site: Site) -> None:
    context = pages.context()
    blocked: list[str] = []
    console: list[str] = []

    def only_this_server(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", only_this_server)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and console.append(m.text))
    page.on("pageerror", lambda e: console.append(str(e)))
    response = page.goto(site.base + "/api/docs")
    assert response is not None and response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "truthset" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_function("document.querySelectorAll('.opblock').length > 20")
    if os.environ.get("TRUTHSET_UPDATE_SCREENSHOTS") == "1":  # docs/ui.md's picture of it
        page.screenshot(path=str(DOCS / "api-docs.png"))
    # Open one operation: its parameters and responses render too.
    page.locator(".opblock-summary-path", has_text="/api/jobs/{name}/next").first.click()
    page.wait_for_selector(".opblock.is-open .responses-wrapper")
    assert blocked == [], blocked
    assert console == [], console


def test_the_swagger_ui_files_are_package_data() -> None:
    vendor = resources.files("truthset.web") / "static" / "vendor" / "swagger-ui"
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"):
        assert (vendor / name).is_file(), name
    assert "swagger-ui-dist" in (vendor / "package.json").read_text()
