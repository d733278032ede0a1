"""The browser UI: HTML page shells and the static ES modules, mounted on the API app.

Every page is a small HTML shell that loads one ES module; the modules read the JSON API
(the same one scripts use), so the browser never gets data the API would not give it.
The URL holds the page state (job name, item id, filters).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from truthset import __version__
from truthset.api.deps import SESSION_COOKIE

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATE = WEB_DIR / "templates" / "page.html"
API_DOCS = WEB_DIR / "templates" / "api-docs.html"

# Content-Security-Policy: scripts only from this origin (no inline script can run even if
# some text slipped through unescaped), images from here, data: and blob: (masks, previews).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: https:; media-src 'self' blob: https:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@lru_cache(maxsize=1)
def _template() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


def render_page(title: str, module: str, *, body_class: str = "") -> HTMLResponse:
    """The shell of one page: a title, the stylesheet and the page's ES module."""
    page = (
        _template()
        .replace("{{title}}", html.escape(title))
        .replace("{{module}}", html.escape(module))
        .replace("{{body_class}}", html.escape(body_class))
        .replace("{{version}}", html.escape(__version__))
    )
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
        },
    )


def api_docs_page() -> HTMLResponse:
    """/api/docs: Swagger UI from the package's own files (static/vendor/swagger-ui/, npm's
    swagger-ui-dist), so the reference renders offline; FastAPI's page loads it from a CDN."""
    return HTMLResponse(
        API_DOCS.read_text(encoding="utf-8"),
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


def _signed_in(request: Request) -> bool:
    return bool(request.cookies.get(SESSION_COOKIE))


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    from urllib.parse import quote

    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


class _PublicStaticFiles(StaticFiles):
    """The static files, readable from any origin.

    A worker task template runs in a sandboxed frame of an opaque origin and loads the
    crowd elements (static/crowd/) as module scripts, which need CORS; they import the
    tools and helpers under static/tools/ and static/js/, so those need it too. These are
    the same public files for everyone, sent without cookies, so `*` gives nothing away.
    """

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response


def mount(app: FastAPI) -> None:
    """Add the UI's routes to the API app (called by ``create_app``)."""
    from truthset.web.ui_api import router as ui_router

    app.include_router(ui_router)
    app.mount("/static", _PublicStaticFiles(directory=STATIC_DIR), name="static")

    def page(title: str, module: str, body_class: str = "") -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            if not _signed_in(request):
                return _to_login(request)
            return render_page(title, module, body_class=body_class)

        return handler

    app.add_api_route("/api/docs", api_docs_page, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        "/login",
        lambda: render_page("Sign in", "login.js", body_class="narrow"),
        methods=["GET"],
        include_in_schema=False,
    )
    routes: list[tuple[str, str, str, str]] = [
        ("/", "Your jobs", "portal.js", ""),
        ("/work/{job}", "Labeling", "work.js", "work"),
        ("/review/{job}", "Review", "review.js", "work"),
        ("/console", "Console", "console.js", ""),
        ("/console/new", "New job", "console-new.js", ""),
        ("/console/jobs/{job}", "Job", "console-job.js", ""),
        ("/console/jobs/{job}/items/{item}", "Item", "console-item.js", ""),
        ("/console/datasets", "Datasets", "console-datasets.js", ""),
        ("/console/people", "People", "console-people.js", ""),
    ]
    for path, title, module, body_class in routes:
        app.add_api_route(
            path, page(title, module, body_class), methods=["GET"], include_in_schema=False
        )
