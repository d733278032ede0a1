"""The new-job page's template editor in a real browser (issue 13, item 4): a requester
makes a custom job from a sample, the live preview shows the dataset's first item with
the element, a syntax error shows its line, and a hostile template in the preview can
neither read the console's cookie nor call the API with the console's session."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from truthset.datasets.importer import import_source
from truthset.workforce import service as workforce
from web.ui_support import TEAM, Pages, Site


@pytest.fixture
def requester(site: Site) -> str:
    name = f"req-{uuid.uuid4().hex[:8]}"
    with site.ws.db.session_scope() as s:
        workforce.create_user(s, name, role="requester", password=f"{name}-pass")
    return name


def photos(site: Site) -> tuple[str, str]:
    """A dataset of two images; its name and the first image's source-ref."""
    name = f"tmpl-{uuid.uuid4().hex[:8]}"
    first = site.image(f"{name}-first", 400, 300, "#b5866b")
    second = site.image(f"{name}-second", 200, 100)
    manifest = site.ws.settings.media_dir / f"{name}.manifest"
    manifest.write_text(
        "\n".join(json.dumps({"source-ref": ref}) for ref in (first, second)) + "\n",
        encoding="utf-8",
    )
    with site.ws.db.session_scope() as s:
        import_source(s, name, str(manifest), allowed_roots=site.ws.allowed_roots)
    return name, first


def open_custom(pages: Pages, user: str, dataset: str) -> Any:
    # The page's own policy applies (bypass_csp off): the preview runs as it would.
    page = pages.open(user, "/console/new", bypass_csp=False)
    page.wait_for_selector("#new-job")
    page.select_option("#f-source-kind", "dataset")
    page.select_option("#f-dataset", dataset)
    assert not page.is_visible("#f-template-row")
    page.select_option("#f-task-type", "custom")
    page.wait_for_selector("#f-template-row", state="visible")
    return page


def test_a_custom_job_from_the_bounding_box_sample(pages: Pages, site: Site, requester: str):
    dataset, first = photos(site)
    page = open_custom(pages, requester, dataset)
    page.select_option("#f-template-sample", "bounding-box")
    preview = page.frame_locator("#f-template-preview")
    image = preview.locator("crowd-bounding-box img.stage-image")
    image.wait_for()
    # An opaque origin: the console cannot reach into it, nor it into the console.
    assert page.evaluate("document.querySelector('#f-template-preview').contentDocument") is None
    # The first item's image, through a signed URL of truthset's media route.
    src = image.get_attribute("src") or ""
    assert "/api/media/grant?ref=" + quote(first, safe="") in src, src
    image.evaluate("img => img.complete || new Promise(r => img.addEventListener('load', r))")
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [400, 300]
    assert page.get_attribute("#f-template-preview", "sandbox") == "allow-scripts allow-forms"
    assert page.locator("#f-template-elements li").all_inner_texts() == [
        "crowd-bounding-box boundingBox"
    ]
    assert f"first item of {dataset}" in page.inner_text("#f-template-status")

    sample = page.input_value("#f-template")
    lines = sample.split("\n")
    broken = "\n".join([*lines[:3], "{% if %}{% endif %}", *lines[3:]])
    page.fill("#f-template", broken)
    error = page.locator("#f-template-errors li[data-line='4']")
    error.wait_for()
    assert error.inner_text().startswith("line 4: ")
    assert "last version that rendered" in page.inner_text("#f-template-status")
    assert image.count() == 1  # the last good preview stays
    error.locator("button").click()  # puts the caret on that line
    assert (
        page.evaluate(
            "() => { const a = document.querySelector('#f-template');"
            " return a.value.slice(a.selectionStart, a.selectionEnd); }"
        )
        == "{% if %}{% endif %}"
    )

    fixed = sample.replace(
        "Draw a box around every car and person", "Box every {{ task.input.labels | join: ', ' }}"
    ).replace("['car', 'person']", "{{ task.input.labels | to_json | escape }}")
    page.fill("#f-template", fixed)
    page.fill("#f-labels", "bicycle\nbus\n")
    header = preview.locator("crowd-bounding-box .crowd-header")
    header.filter(has_text="Box every bicycle, bus").wait_for()
    assert page.locator("#f-template-errors li").count() == 0
    preview.locator("crowd-bounding-box .label-btn[data-label=bus]").wait_for()

    name = f"boxes-{uuid.uuid4().hex[:6]}"
    page.fill("#f-name", name)
    page.check(f"#f-teams input[value={TEAM}]")
    page.click("#f-submit")
    page.wait_for_url(f"**/console/jobs/{name}")
    job = site.api("admin", "GET", f"/api/jobs/{name}").json()
    assert job["task_type"] == "custom"
    assert job["settings"]["template"] == {"html": fixed, "source": "sample:bounding-box"}
    assert job["labels"] == ["bicycle", "bus"]
    # What a worker then gets is the same page the preview showed.
    nxt = site.api("worker1", "POST", f"/api/jobs/{name}/next").json()
    task_page = site.api("worker1", "GET", nxt["template_url"]).text
    assert "Box every bicycle, bus" in task_page
    assert "/api/media/grant?ref=" + quote(first, safe="") in task_page


def test_every_sample_renders_its_element(pages: Pages, site: Site, requester: str):
    dataset, _ = photos(site)
    page = open_custom(pages, requester, dataset)
    expected = {
        "text-classifier": "crowd-classifier category",
        "bounding-box": "crowd-bounding-box boundingBox",
        "entity-annotation": "crowd-entity-annotation entities",
    }
    for sample, element in expected.items():
        page.select_option("#f-template-sample", sample)
        page.locator("#f-template-elements li", has_text=element).wait_for()
        tag = element.split()[0]
        page.frame_locator("#f-template-preview").locator(f"{tag} .crowd-header").wait_for()
        assert page.locator("#f-template-errors li").count() == 0
        page.fill("#f-template", "")  # so the next sample needs no confirmation


HOSTILE = """<crowd-form><crowd-input name="x"></crowd-input></crowd-form>
<script>
const r = {};
const probe = (k, f) => { try { r[k] = String(f()); } catch (e) { r[k] = "blocked: " + e.name; } };
probe("cookie", () => document.cookie);
probe("storage", () => localStorage.getItem("console_secret"));
probe("parent_cookie", () => window.parent.document.cookie);
probe("parent_write", () => { window.parent.document.body.dataset.pwned = "1"; return "wrote"; });
probe("origin", () => window.origin);
const call = (k, url, init) => fetch(url, { credentials: "include", ...init })
  .then(async (res) => { r[k] = res.status + " " + (await res.text()).slice(0, 120); },
        (e) => { r[k] = "failed: " + e.name; });
Promise.all([
  call("me", "/api/me"),
  call("create", "/api/jobs", { method: "POST", headers: { "Content-Type": "application/json",
    "X-Truthset-CSRF": "1" }, body: JSON.stringify({ name: "PWNED_JOB", task_type: "custom",
    labels: [], settings: {} }) }),
]).finally(() => {
  parent.postMessage({ type: "probe", results: r }, "*");
  parent.postMessage({ type: "crowd-submit",
    answer: { x: "<img src=x onerror=\\"document.body.dataset.pwned=2\\">" } }, "*");
});
</script>"""


def test_a_hostile_template_in_the_preview_runs_nothing_in_the_console(
    pages: Pages, site: Site, requester: str
):
    dataset, _ = photos(site)
    page = open_custom(pages, requester, dataset)
    page.evaluate(
        """() => {
      document.cookie = "console_secret=c00kie; path=/";
      localStorage.setItem("console_secret", "st0rage");
      window.probes = [];
      addEventListener("message", (e) => {
        if (e.data && e.data.type === "probe") window.probes.push(e.data.results);
      });
    }"""
    )
    page.fill("#f-template", HOSTILE)
    page.wait_for_function("() => window.probes.length > 0", timeout=15000)
    results = page.evaluate("window.probes[0]")
    assert results["cookie"].startswith("blocked: SecurityError"), results
    assert results["storage"].startswith("blocked: SecurityError"), results
    assert results["parent_cookie"].startswith("blocked: SecurityError"), results
    assert results["parent_write"].startswith("blocked: SecurityError"), results
    assert results["origin"] == "null"
    # connect-src 'none': no request leaves the frame, with or without the session.
    assert results["me"] == "failed: TypeError", results
    assert results["create"] == "failed: TypeError", results
    assert site.api("admin", "GET", "/api/jobs/PWNED_JOB").status_code == 404
    assert page.evaluate("document.body.dataset.pwned") is None
    # The answer the preview's form sends is shown as text, never as markup.
    answer = page.locator("#f-template-answer")
    answer.wait_for()
    assert '"x": "<img src=x onerror=' in answer.inner_text()
    assert answer.locator("img").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None
    assert page.evaluate("localStorage.getItem('console_secret')") == "st0rage"
