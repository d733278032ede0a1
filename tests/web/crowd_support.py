"""Serving a worker task template to the browser the way truthset's task page is served:
a sandboxed frame (opaque origin) inside a host page, the template behind the same
Content-Security-Policy, the crowd elements from the real server's /static/crowd/."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

from web.ui_support import Pages, Site

HOST_PATH = "/__crowd-test/host.html"
FRAME_PATH = "/__crowd-test/task.html"

HOST_HTML = f"""<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="task" sandbox="allow-scripts allow-forms" src="{FRAME_PATH}"
  style="width:1240px;height:780px;border:0"></iframe>
<script>window.messages = []; addEventListener("message", (e) => messages.push(e.data));</script>
</body></html>"""


def task_policy(base: str) -> str:
    # The task page's policy (templates/service.py page_headers), with scripts from all of
    # /static/: the crowd elements import the tools under /static/tools and /static/js.
    return "; ".join(
        [
            "sandbox allow-scripts allow-forms",
            "default-src 'none'",
            f"script-src {base}/static/ 'unsafe-inline'",
            f"style-src 'unsafe-inline' {base}/static/",
            f"img-src {base} data: blob:",
            "connect-src 'none'",
        ]
    )


def template_document(body: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<script type="module" src="/static/crowd/crowd-elements.js"></script>'
        f"</head><body>{body}</body></html>"
    )


def png_data_url(width: int, height: int, color: str = "#6b8fb5") -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def allow_local_network(ctx: Any) -> None:
    # Pages fulfilled by Playwright have no address space of their own, so Chromium's
    # local network access check treats the opaque-origin frame as public and refuses its
    # requests to 127.0.0.1. The real task page comes from the same server as the static
    # files; granting the permission puts the test frame back in that situation.
    ctx.grant_permissions(["local-network-access"])


def open_template(pages: Pages, site: Site, body: str) -> tuple[Any, Any]:
    """The host page and the template's frame, once every crowd element is defined."""
    ctx = pages.context(None, bypass_csp=False)
    allow_local_network(ctx)
    policy = task_policy(site.base)
    ctx.route(
        site.base + HOST_PATH,
        lambda route: route.fulfill(content_type="text/html", body=HOST_HTML),
    )
    ctx.route(
        site.base + FRAME_PATH,
        lambda route: route.fulfill(
            content_type="text/html",
            body=template_document(body),
            headers={"Content-Security-Policy": policy},
        ),
    )
    page = ctx.new_page()
    page.on("pageerror", lambda e: pages.errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and pages.errors.append(m.text))
    page.goto(site.base + HOST_PATH)
    frame = page.frame_locator("#task")
    frame.locator("crowd-form .crowd-btn").first.wait_for()
    return page, frame


def submitted(page: Any, count: int = 1, timeout: float = 5000) -> dict[str, Any]:
    """The answer of the `count`-th crowd-submit message the host page got."""
    page.wait_for_function(
        f"messages.filter((m) => m && m.type === 'crowd-submit').length >= {count}",
        timeout=timeout,
    )
    msgs = page.evaluate("messages.filter((m) => m && m.type === 'crowd-submit')")
    msg = msgs[count - 1]
    assert set(msg) == {"type", "answer"}, msg
    return dict(msg["answer"])


def submit_count(page: Any) -> int:
    return int(page.evaluate("messages.filter((m) => m && m.type === 'crowd-submit').length"))


def click_submit(frame: Any) -> None:
    frame.locator("crowd-form > crowd-button[form-action='submit'] button").click()


def to_screen(frame: Any, element: str, x: float, y: float) -> tuple[float, float]:
    """Screen coordinates of image pixel (x, y) of the image tool in `element`."""
    overlay = frame.locator(f"{element} svg.overlay[viewBox]")
    overlay.wait_for()
    overlay.scroll_into_view_if_needed()
    box = overlay.bounding_box()
    size = overlay.evaluate("(s) => [s.viewBox.baseVal.width, s.viewBox.baseVal.height]")
    return box["x"] + x * box["width"] / size[0], box["y"] + y * box["height"] / size[1]


def attr_json(value: Any) -> str:
    """A value as `{{ x | to_json | escape }}` writes it into an attribute."""
    import html

    return html.escape(json.dumps(value), quote=True)
