"""A hostile worker task template run through tools/template.js in a page of the portal's
origin: it runs nothing there. It cannot read the portal's cookies, storage or document,
its requests carry no session, and the host takes nothing from it but a well-formed
crowd-submit message from its own frame; a forged message from another frame is ignored."""

from __future__ import annotations

import time
from typing import Any

import pytest

from truthset.web.pages import CSP
from web.crowd_support import allow_local_network, task_policy
from web.ui_support import Pages, Site

TASK_URL = "/api/assignments/999999/task.html"

PORTAL_HTML = """<!doctype html><html><head><meta charset="utf-8">
<script type="module" src="/__sandbox-test/host.js"></script></head><body>
<button id="btn-submit">Submit</button><div id="tool-side"></div>
<section id="tool-root" style="display:flex;height:400px"></section>
<iframe id="forger" src="/__sandbox-test/forger.html"></iframe>
</body></html>"""

# The portal side as work/lease.js drives a tool: Submit asks problem(), then answer().
HOST_JS = f"""
import {{ create, initialState }} from "/static/tools/template.js";
import {{ AnnotationStore }} from "/static/js/store.js";
localStorage.setItem("portal_secret", "s3cr3t-storage");
window.probes = [];
window.submits = [];
window.forged = 0;
addEventListener("message", (e) => {{
  if (e.data && e.data.type === "probe") probes.push(e.data.results);
}});
const task = {{ template_url: {TASK_URL!r}, labels: [], item: {{ id: "x", data: {{}} }} }};
const store = new AnnotationStore(initialState(task), []);
const byId = (id) => document.getElementById(id);
const tool = create({{ root: byId("tool-root"), side: byId("tool-side"),
  task, store, labels: [], shortNames: {{}}, settings: {{}} }});
document.getElementById("btn-submit").addEventListener("click", () => {{
  if (!tool.problem()) submits.push(tool.answer());
}});
// This page posting to itself is no message from the frame either.
window.postMessage({{ type: "crowd-submit", answer: {{ from: "the page itself" }} }}, "*");
"""

FORGER_JS = """
setInterval(() => {
  parent.postMessage({ type: "crowd-submit", answer: { forged: true } }, "*");
  parent.forged += 1;
}, 50);
"""

HOSTILE = """<!doctype html><html><head><meta charset="utf-8"></head><body><p>task</p>
<script>
const r = {};
const probe = (k, f) => { try { r[k] = String(f()); } catch (e) { r[k] = "blocked: " + e.name; } };
probe("cookie", () => document.cookie);
probe("storage", () => localStorage.getItem("portal_secret"));
probe("parent_cookie", () => window.parent.document.cookie);
probe("parent_storage", () => window.parent.localStorage.getItem("portal_secret"));
probe("top_location", () => window.top.location.href);
probe("parent_write", () => { window.parent.document.body.dataset.pwned = "1"; return "wrote"; });
probe("popup", () => (window.open("/api/me") === null ? "no window" : "opened"));
probe("origin", () => window.origin);
fetch("/api/me", { credentials: "include" })
  .then(async (res) => { r.fetch = res.status + " " + (await res.text()).slice(0, 200); },
        (e) => { r.fetch = "failed: " + e.name; })
  .finally(() => {
    parent.postMessage({ type: "probe", results: r }, "*");
    parent.postMessage({ type: "crowd-submit", answer: "not an object" }, "*");
    parent.postMessage({ type: "crowd-submit", answer: [1, 2] }, "*");
    parent.postMessage({ type: "crowd-submit" }, "*");
    parent.postMessage({ type: "something-else", answer: { x: 1 } }, "*");
    parent.postMessage({ type: "crowd-submit", answer: { verdict: "ok" } }, "*");
  });
</script></body></html>"""


@pytest.mark.parametrize("policy", ["task page policy", "sandbox only"])
def test_hostile_template_runs_nothing_in_the_portal_origin(
    pages: Pages, site: Site, policy: str
) -> None:
    ctx = pages.context("worker1", bypass_csp=False)
    allow_local_network(ctx)  # so that the frame's fetch really reaches the server
    ctx.add_cookies([{"name": "portal_secret", "value": "s3cr3t-cookie", "url": site.base}])
    frame_policy = (
        task_policy(site.base)
        if policy == "task page policy"
        else "sandbox allow-scripts allow-forms"
    )
    seen: dict[str, list[dict[str, str]]] = {"task": [], "api": []}

    def fulfill(body: str, content_type: str, csp: str) -> Any:
        return lambda route: route.fulfill(
            content_type=content_type, body=body, headers={"Content-Security-Policy": csp}
        )

    def task_page(route: Any) -> None:
        seen["task"].append(route.request.all_headers())
        fulfill(HOSTILE, "text/html", frame_policy)(route)

    def api_me(route: Any) -> None:
        seen["api"].append(route.request.all_headers())
        route.continue_()

    ctx.route(site.base + "/__sandbox-test/portal.html", fulfill(PORTAL_HTML, "text/html", CSP))
    ctx.route(site.base + "/__sandbox-test/host.js", fulfill(HOST_JS, "text/javascript", CSP))
    # Another page of the portal's own origin, framed beside the task (so without the
    # portal's frame-ancestors 'none').
    framed = CSP.replace("; frame-ancestors 'none'", "")
    ctx.route(
        site.base + "/__sandbox-test/forger.html",
        fulfill('<script src="/__sandbox-test/forger.js"></script>', "text/html", framed),
    )
    ctx.route(site.base + "/__sandbox-test/forger.js", fulfill(FORGER_JS, "text/javascript", CSP))
    ctx.route(site.base + TASK_URL, task_page)
    ctx.route(site.base + "/api/me", api_me)
    page = ctx.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(site.base + "/__sandbox-test/portal.html")

    # Polled from here: the portal's policy forbids the eval that wait_for_function uses.
    deadline = time.monotonic() + 10
    while not page.evaluate("window.submits && window.submits.length >= 1 && window.forged >= 3"):
        assert time.monotonic() < deadline, page.evaluate(
            "JSON.stringify([window.submits, window.probes, window.forged])"
        ) + str(console)
        page.wait_for_timeout(50)
    page.wait_for_timeout(300)
    assert page.evaluate("window.submits") == [{"verdict": "ok"}]
    (results,) = page.evaluate("window.probes")
    for key in (
        "cookie",
        "storage",
        "parent_cookie",
        "parent_storage",
        "top_location",
        "parent_write",
    ):
        assert results[key] == "blocked: SecurityError", (key, results)
    assert results["popup"] == "no window"
    assert results["origin"] == "null"
    assert results["fetch"].startswith("failed"), results
    assert page.evaluate("document.body.dataset.pwned") is None
    # The portal's secrets are there, readable by the portal alone.
    assert "s3cr3t-cookie" in page.evaluate("document.cookie")
    assert page.evaluate("localStorage.getItem('portal_secret')") == "s3cr3t-storage"
    # The frame's own page was fetched with the worker's session (how the real route
    # knows the worker); what the template asks for afterwards carries none.
    (task_headers,) = seen["task"]
    assert "truthset_session=" in task_headers.get("cookie", "")
    for headers in seen["api"]:
        assert "truthset_session" not in headers.get("cookie", ""), headers
        assert "s3cr3t" not in headers.get("cookie", ""), headers
    if policy == "task page policy":
        assert seen["api"] == []  # connect-src 'none': not even sent
    frame = page.locator("#tool-root iframe")
    assert frame.get_attribute("sandbox") == "allow-scripts allow-forms"
    assert frame.get_attribute("src") == TASK_URL
