"""A custom (template) job from end to end in a real Chromium: made through the API with
a Ground Truth worker task template, shown in the portal's sandboxed frame, answered with
the crowd elements, stored in the documented shape keyed by element name, consolidated
per element with a second worker, and exported as a Ground Truth manifest line. Also a
pre-annotation hook whose taskInput the template renders, and a hostile manifest line
that stays text."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from truthset.config import load_settings
from truthset.server.app import create_app
from truthset.workforce import service as workforce
from truthset.workspace import open_workspace
from web.crowd_support import to_screen
from web.ui_support import TEAM, WORKERS, Pages, Site, wait_for_prefetch, wait_for_task

LABELS = ["Positive", "Negative", "Neutral"]

# Written after the developer guide's samples: crowd-instructions, a crowd-classifier over
# the text (categories from the job's labels, as `task.input.labels`) and a crowd-input.
TEXT_TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-instructions link-text="View instructions" link-type="button">
    <div slot="short-summary"><p>Read the review, pick its tone, name the product.</p></div>
    <div slot="detailed-instructions"><p>Tone is what the writer feels about it.</p></div>
    <div slot="positive-example"><p>"Love this kettle": Positive, kettle.</p></div>
    <div slot="negative-example"><p>Do not guess a product the text does not name.</p></div>
  </crowd-instructions>
  <crowd-classifier name="sentiment" categories="{{ task.input.labels | to_json | escape }}"
      header="What is the tone of this review?">
    <classification-target><p class="review">{{ task.input.taskObject }}</p>
    </classification-target>
    <full-instructions header="Tone"><p>Positive, Negative or Neutral.</p></full-instructions>
    <short-instructions><p>Pick one tone.</p></short-instructions>
  </crowd-classifier>
  <crowd-input name="product" label="Which product is it about?" required></crowd-input>
</crowd-form>"""

# After the sample bounding-box template: the image through grant_read_access.
BOX_TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-bounding-box name="annotatedResult" src="{{ task.input.taskObject | grant_read_access }}"
      header="Draw a box around each cat and dog" labels="['Cat', 'Dog']">
    <full-instructions header="Bounding box instructions"><p>Tight boxes.</p></full-instructions>
    <short-instructions>Box every animal.</short-instructions>
  </crowd-bounding-box>
</crowd-form>"""

# The pre-annotation hook's taskInput is what this template reads.
HOOK_TEMPLATE = """<crowd-form>
  <crowd-classifier name="kind" categories="{{ task.input.choices | to_json | escape }}"
      header="{{ task.input.question }}">
    <classification-target><p class="shout">{{ task.input.shout }}</p></classification-target>
  </crowd-classifier>
</crowd-form>"""

HANDLER = """def lambda_handler(event, context):
    line = event["dataObject"]
    return {
        "taskInput": {
            "shout": line["source"].upper(),
            "question": "Kind of " + line["id"] + "?",
            "choices": ["bird", "fish"],
        },
        "isHumanAnnotationRequired": True,
    }
"""

HOSTILE_LINES = [
    '<img src=x onerror="document.body.dataset.pwned=1;parent.postMessage('
    "{type:'crowd-submit',answer:{sentiment:{label:'Negative'},product:'pwned'}},'*')\">",
    "<script>document.body.dataset.pwned=2;parent.document.body.dataset.pwned=2</script>",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The portal's server as tests/web/conftest.py starts it, with a handler folder the
    admin allowed (TRUTHSET_HOOK_HANDLER_DIRS is read when the settings are loaded)."""
    data = tmp_path_factory.mktemp("templatejob")
    handlers = tmp_path_factory.mktemp("handlers")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRUTHSET_HOOK_HANDLER_DIRS", str(handlers))
    ws = open_workspace(load_settings(data))
    mp.undo()
    with ws.db.session_scope() as s:
        workforce.create_user(s, "admin", role="admin", password="admin-pass")
        workforce.create_team(s, TEAM)
        for w in WORKERS:
            workforce.create_user(s, w, role="worker", password=f"{w}-pass", teams=[TEAM])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(ws), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline, "the test server did not start"
        time.sleep(0.05)
    result = Site(ws, f"http://127.0.0.1:{sock.getsockname()[1]}")
    result.handlers = handlers  # type: ignore[attr-defined]
    yield result
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()


def api_ok(site: Site, method: str, path: str, **kw: Any) -> Any:
    res = site.api("admin", method, path, **kw)
    assert res.status_code < 300, (path, res.status_code, res.text)
    return res.json() if res.content else None


def custom_job(
    site: Site,
    name: str,
    template: str,
    rows: list[dict[str, Any]],
    *,
    labels: Any = None,
    workers: int = 1,
    settings: dict[str, Any] | None = None,
) -> None:
    """A dataset imported and a custom job created, both through the HTTP API."""
    manifest = site.ws.settings.media_dir / f"{name}.manifest"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    api_ok(site, "POST", "/api/datasets", json={"name": f"ds-{name}"})
    api_ok(
        site,
        "POST",
        f"/api/datasets/ds-{name}/imports",
        json={"source": str(manifest), "wait": True},
    )
    body = {
        "name": name,
        "task_type": "custom",
        "labels": labels if labels is not None else [],
        "dataset": f"ds-{name}",
        "workers_per_item": workers,
        "teams": [TEAM],
        "settings": {"template": {"html": template}, **(settings or {})},
    }
    job = api_ok(site, "POST", "/api/jobs", json=body)
    assert job["task_type"] == "custom"


def poll(page: Any, expression: str, timeout: float = 10) -> Any:
    """Wait until `expression` is truthy, polled from here: under the portal's own policy
    (bypass_csp off) Playwright's wait_for_function cannot evaluate in the page."""
    deadline = time.monotonic() + timeout
    while not (value := page.evaluate(expression)):
        assert time.monotonic() < deadline, expression
        page.wait_for_timeout(30)
    return value


def task_frame(page: Any) -> Any:
    """The template's frame once its crowd form has drawn its submit button."""
    frame = page.frame_locator("#template-frame")
    frame.locator("crowd-form .crowd-btn").first.wait_for()
    return frame


def submit_in_frame(frame: Any) -> None:
    frame.locator("crowd-form > crowd-button[form-action='submit'] button").click()


def stored(site: Site, job: str, item: str) -> list[dict[str, Any]]:
    return [{"worker": a["worker"], "answer": a["answer"]} for a in site.answers(job, item)]


def export_lines(site: Site, job: str) -> dict[str, dict[str, Any]]:
    run = api_ok(site, "POST", f"/api/jobs/{job}/exports", json={"format": "groundtruth"})
    deadline = time.time() + 20
    while run["state"] not in ("succeeded", "failed", "cancelled"):
        assert time.time() < deadline, run
        time.sleep(0.1)
        run = api_ok(site, "GET", f"/api/runs/{run['id']}")
    assert run["state"] == "succeeded", run
    text = site.api("admin", "GET", f"/api/runs/{run['id']}/download").text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    return {line["id"]: line for line in lines}


def test_text_template_answered_in_the_portal_then_consolidated_and_exported(
    pages: Pages, site: Site
) -> None:
    rows = [
        {"id": "r1", "source": "Love this kettle, it boils in a minute."},
        {"id": "r2", "source": "The toaster burnt every slice."},
    ]
    custom_job(site, "reviews", TEXT_TEMPLATE, rows, labels=LABELS, workers=2)
    page = pages.open("worker1", "/work/reviews")
    first = wait_for_task(page)
    frame = task_frame(page)
    item = page.evaluate("document.body.dataset.item")
    source = next(r["source"] for r in rows if r["id"] == item)
    assert frame.locator("crowd-classifier .review").inner_text() == source
    assert (
        frame.locator("crowd-classifier .crowd-header").inner_text()
        == "What is the tone of this review?"
    )
    assert "pick its tone" in frame.locator("crowd-instructions").inner_text()
    frame.locator("crowd-instructions button:has-text('View instructions')").click()
    dialog = frame.locator("crowd-instructions dialog")
    assert "what the writer feels" in dialog.inner_text()
    assert "Love this kettle" in dialog.locator(".crowd-positive").inner_text()
    dialog.locator("button:has-text('Close')").click()
    # The form's own check: nothing was chosen, nothing is sent.
    submit_in_frame(frame)
    frame.locator(".crowd-form-error").wait_for()
    assert site.answers("reviews", item) == []
    frame.locator("crowd-classifier .label-btn[data-label='Positive']").click()
    frame.locator("crowd-input input").fill("kettle")
    submit_in_frame(frame)

    # The next task loads in a new frame; the answer is stored as Ground Truth records it.
    second = wait_for_task(page, first)
    frame = task_frame(page)
    assert stored(site, "reviews", item) == [
        {"worker": "worker1", "answer": {"sentiment": {"label": "Positive"}, "product": "kettle"}}
    ]
    other = page.evaluate("document.body.dataset.item")
    assert other != item
    assert frame.locator("crowd-classifier .review").inner_text() == next(
        r["source"] for r in rows if r["id"] == other
    )
    # The page's own Submit asks the frame's form to submit itself.
    frame.locator("crowd-classifier .label-btn[data-label='Negative']").click()
    frame.locator("crowd-input input").fill("toaster")
    page.click("#btn-submit")
    page.wait_for_selector("#no-work")
    assert page.evaluate("document.body.dataset.assignment") != second
    assert stored(site, "reviews", other)[0]["answer"] == {
        "sentiment": {"label": "Negative"},
        "product": "toaster",
    }

    # A second worker (through the work API): the label is each element's majority.
    given = {item: ("Positive", "kettle"), other: ("Negative", "the toaster")}
    for _ in range(2):
        task = site.api("worker2", "POST", "/api/jobs/reviews/next").json()
        label, product = given[task["item"]["id"]]
        res = site.api(
            "worker2",
            "POST",
            f"/api/assignments/{task['assignment_id']}/submit",
            json={"answer": {"sentiment": {"label": label}, "product": product}},
        )
        assert res.status_code == 200, res.text
    lines = export_lines(site, "reviews")
    agreed = lines[item]
    assert agreed["reviews"] == {"sentiment": {"label": "Positive"}, "product": "kettle"}
    meta = agreed["reviews-metadata"]
    assert meta["job-name"] == "labeling-job/reviews"
    assert meta["agreement"] == {"sentiment": 1.0, "product": 1.0}
    # Every worker's answerContent is kept with the label.
    assert [a["answerContent"] for a in meta["worker-answers"]] == [
        {"sentiment": {"label": "Positive"}, "product": "kettle"}
    ] * 2
    assert len({a["workerId"] for a in meta["worker-answers"]}) == 2
    # The workers agree on the tone, not on the product: no product in the label.
    assert lines[other]["reviews"] == {"sentiment": {"label": "Negative"}, "product": None}
    assert lines[other]["source"] == next(r["source"] for r in rows if r["id"] == other)


def test_bounding_box_template_over_a_granted_image(pages: Pages, site: Site) -> None:
    ref = site.image("template-cat", 400, 300)
    custom_job(site, "boxes", BOX_TEMPLATE, [{"id": "img1", "source-ref": ref}])
    page = pages.open("worker1", "/work/boxes")
    wait_for_task(page)
    frame = task_frame(page)
    src = frame.locator("crowd-bounding-box").get_attribute("src")
    assert src is not None and "/api/media/grant?" in src and "signature=" in src, src
    # The image came through the grant and was drawn at its size.
    frame.locator("crowd-bounding-box svg.overlay[viewBox='0 0 400 300']").wait_for()
    frame.locator("crowd-bounding-box .label-btn[data-label=Dog]").click()
    page.mouse.move(*to_screen(frame, "crowd-bounding-box", 50, 60))
    page.mouse.down()
    page.mouse.move(*to_screen(frame, "crowd-bounding-box", 250, 210), steps=6)
    page.mouse.up()
    assert frame.locator("crowd-bounding-box #object-list li").count() == 1
    submit_in_frame(frame)
    page.wait_for_selector("#no-work")
    ((answer,),) = [[a["answer"] for a in site.answers("boxes", "img1")]]
    assert list(answer) == ["annotatedResult"]
    result = answer["annotatedResult"]
    assert result["inputImageProperties"] == {"width": 400, "height": 300}
    (box,) = result["boundingBoxes"]
    assert set(box) == {"label", "left", "top", "width", "height"}
    assert box["label"] == "Dog"
    assert abs(box["left"] - 50) <= 2 and abs(box["top"] - 60) <= 2
    assert abs(box["width"] - 200) <= 3 and abs(box["height"] - 150) <= 3
    line = export_lines(site, "boxes")["img1"]
    assert line["boxes"]["annotatedResult"] == result


def test_pre_annotation_hooks_task_input_is_what_the_template_renders(
    pages: Pages, site: Site
) -> None:
    handler = site.handlers / "shout.py"  # type: ignore[attr-defined]
    handler.write_text(HANDLER, encoding="utf-8")
    custom_job(
        site,
        "hooked",
        HOOK_TEMPLATE,
        [{"id": "h1", "source": "a small sparrow"}],
        settings={"pre_annotation": {"handler": str(handler), "timeout": 20}},
    )
    page = pages.open("worker2", "/work/hooked")
    # The embedded executor runs the hook; the task opens once its input exists. The
    # page says "none" until then (wait_for_task returns on it): check again till it has.
    deadline = time.time() + 30
    while wait_for_task(page, timeout=30000) == "none":
        assert time.time() < deadline, "the hook's task never opened"
        page.wait_for_timeout(300)
        if page.locator("#no-work button.primary").count():
            page.click("#no-work button.primary")  # Check again
    frame = task_frame(page)
    assert frame.locator(".shout").inner_text() == "A SMALL SPARROW"
    assert frame.locator("crowd-classifier .crowd-header").inner_text() == "Kind of h1?"
    frame.locator("crowd-classifier .label-btn[data-label=bird]").click()
    submit_in_frame(frame)
    page.wait_for_selector("#no-work")
    assert [a["answer"] for a in site.answers("hooked", "h1")] == [{"kind": {"label": "bird"}}]


def test_hostile_manifest_line_is_text_in_the_frame_and_runs_nothing(
    pages: Pages, site: Site
) -> None:
    rows = [{"id": f"x{i}", "source": line} for i, line in enumerate(HOSTILE_LINES)]
    custom_job(site, "hostile", TEXT_TEMPLATE, rows, labels=LABELS)
    ctx = pages.context("worker3", bypass_csp=False)
    page = ctx.new_page()
    page.on("pageerror", lambda e: pages.errors.append(str(e)))
    page.goto(site.base + "/work/hostile")
    previous = "none"
    for _ in rows:
        previous = poll(
            page,
            f"document.body.dataset.assignment !== {json.dumps(previous)} "
            "&& document.body.dataset.assignment",
        )
        frame = task_frame(page)
        item = page.evaluate("document.body.dataset.item")
        line = next(r["source"] for r in rows if r["id"] == item)
        target = frame.locator("crowd-classifier .review")
        assert target.inner_text() == line  # the markup, shown as text
        assert target.locator("img, script").count() == 0
        page.wait_for_timeout(300)  # time for an onerror that should never come
        assert frame.locator("body").get_attribute("data-pwned") is None
        assert page.evaluate("document.body.dataset.pwned") is None
        assert site.answers("hostile", item) == []  # no forged submit
        frame.locator("crowd-classifier .label-btn[data-label='Neutral']").click()
        frame.locator("crowd-input input").fill("none")
        submit_in_frame(frame)
    poll(page, "document.body.dataset.assignment === 'none'")
    for row in rows:
        assert [a["answer"] for a in site.answers("hostile", row["id"])] == [
            {"sentiment": {"label": "Neutral"}, "product": "none"}
        ]


def test_next_tasks_frame_is_loaded_ahead_and_shown_without_reloading(
    pages: Pages, site: Site
) -> None:
    rows = [{"id": f"n{i}", "source": f"Review {i} of the kettle."} for i in range(3)]
    custom_job(site, "ahead", TEXT_TEMPLATE, rows, labels=LABELS)
    ctx = pages.context("worker1")
    fetched: list[str] = []
    ctx.on(
        "request",
        lambda r: "/task.html" in r.url and fetched.append(r.url.split("/api/assignments/")[1]),
    )
    page = ctx.new_page()
    page.on("pageerror", lambda e: pages.errors.append(str(e)))
    page.goto(site.base + "/work/ahead")
    previous = wait_for_task(page)
    for n in range(len(rows)):
        frame = task_frame(page)
        if n < len(rows) - 1:
            wait_for_prefetch(page)
            ahead = page.evaluate("document.body.dataset.prefetched")
            # The prefetched task's page is loading already, out of sight.
            deadline = time.monotonic() + 10
            while f"{ahead}/task.html" not in fetched:
                assert time.monotonic() < deadline, fetched
                page.wait_for_timeout(20)
            assert page.locator("iframe.template-frame").count() == 2
        frame.locator("crowd-classifier .label-btn[data-label='Neutral']").click()
        frame.locator("crowd-input input").fill("kettle")
        submit_in_frame(frame)
        if n < len(rows) - 1:
            previous = wait_for_task(page, previous)
            assert previous == ahead
            # Shown as it was loaded: the same document, ready at once, not fetched again.
            task_frame(page).locator("crowd-classifier .review").wait_for(timeout=1000)
    page.wait_for_selector("#no-work")
    assert sorted(fetched) == sorted(set(fetched)) and len(fetched) == len(rows), fetched
    assert page.locator("iframe.template-frame").count() == 0
    answer = {"sentiment": {"label": "Neutral"}, "product": "kettle"}
    for row in rows:
        assert stored(site, "ahead", row["id"]) == [{"worker": "worker1", "answer": answer}]
