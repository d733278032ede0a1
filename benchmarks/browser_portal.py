"""Browser speed of the worker portal, measured in Debian's Chromium with Playwright.

    .venv/bin/python benchmarks/browser_portal.py [--tasks 40] [--json out.json]

Starts a real server (uvicorn, SQLite in a temporary folder), then measures:

1. Task switch: the time from pressing Enter (submit) until the next task is on screen,
   over a run of tasks labelled with the keyboard only. The next task is prefetched while
   the worker answers, so this is the submit's round trip plus rendering.
2. A 4000×3000 image: time to open the task with the image fitted, and input-to-frame
   latency and frame intervals while panning (Space + drag) and zooming (wheel).
3. A 10,000-character text in the named-entity tool: input-to-frame latency of each key
   press while selecting and labelling 60 spans.

Input-to-frame latency: from the input event's timestamp to the first task after the next
animation frame (what the worker sees). Results are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from truthset.config import load_settings
from truthset.datasets.importer import import_source
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import create_job
from truthset.server.app import create_app
from truthset.workforce import service as workforce
from truthset.workspace import open_workspace

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LATENCY_PROBE = """
window.__lat = [];
window.__frames = [];
for (const type of ['keydown', 'pointermove', 'wheel']) {
  addEventListener(type, (e) => {
    const t0 = e.timeStamp;
    requestAnimationFrame(() => setTimeout(
      () => window.__lat.push([type, performance.now() - t0]), 0));
  }, {capture: true});
}
(function tick(t) { window.__frames.push(t); requestAnimationFrame(tick); })(performance.now());
"""


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def seed(ws: Any, media: Path, n_tasks: int) -> None:
    from PIL import Image, ImageDraw

    big = media / "big.jpg"
    img = Image.new("RGB", (4000, 3000), "#557799")
    draw = ImageDraw.Draw(img)
    for i in range(0, 4000, 50):
        draw.line([(i, 0), (4000 - i, 3000)], fill=(200, (i // 5) % 255, 90), width=3)
    img.save(big, quality=90)
    words = (
        "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
        "incididunt ut labore et dolore magna aliqua "
    ) * 200
    rows = {
        "texts": [
            {"id": f"t{i}", "source": f"Tweet number {i}: the weather is fine."}
            for i in range(n_tasks + 5)
        ],
        "long": [{"id": "long", "source": words[:10_000]}],
        "big": [{"id": "big", "source-ref": str(big)}],
    }
    with ws.db.session_scope() as s:
        workforce.create_team(s, "bench")
        workforce.create_user(s, "bencher", role="worker", password="bench-pass", teams=["bench"])
        for name, items in rows.items():
            path = media / f"{name}.manifest"
            path.write_text("\n".join(json.dumps(r) for r in items) + "\n")
            import_source(s, name, str(path), allowed_roots=ws.allowed_roots)
        for job, dataset, task_type, labels in (
            ("bench-text", "texts", "text-classification", ["Positive", "Negative", "Neutral"]),
            ("bench-ner", "long", "named-entity-recognition", ["person", "place"]),
            ("bench-image", "big", "bounding-box", ["car", "person"]),
        ):
            create_job(
                s,
                JobCreate(
                    name=job,
                    task_type=task_type,
                    label_config=labels,
                    dataset=dataset,
                    teams=["bench"],
                    task_time_limit=600,
                ),
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=40)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="truthset-bench-"))
    ws = open_workspace(load_settings(tmp))
    ws.settings.media_dir.mkdir(parents=True, exist_ok=True)
    seed(ws, ws.settings.media_dir, args.tasks)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(ws), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    results: dict[str, Any] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        ctx.add_init_script(LATENCY_PROBE)
        page = ctx.new_page()
        page.goto(base + "/login")
        page.fill("#name", "bencher")
        page.fill("#password", "bench-pass")
        page.click("button[type=submit]")
        page.wait_for_selector(".job-card")

        # 1. task switch
        page.goto(base + "/work/bench-text")
        switches = []
        for i in range(args.tasks):
            page.wait_for_function("document.body.dataset.assignment")
            page.wait_for_function("document.body.dataset.prefetched")
            page.wait_for_timeout(150)  # a (very fast) worker reads the item
            before = page.evaluate("document.body.dataset.assignment")
            page.keyboard.press(str(1 + i % 3))
            page.keyboard.press("Enter")
            page.wait_for_function(f"document.body.dataset.assignment !== '{before}'")
            switches.append(float(page.evaluate("document.body.dataset.lastSwitchMs")))
        results["switch_ms"] = switches

        # 2. a 4000x3000 image
        t0 = time.perf_counter()
        page.goto(base + "/work/bench-image")
        page.wait_for_function(
            "document.querySelector('svg.overlay')?.getAttribute('width') === '4000'"
        )
        results["image_open_ms"] = (time.perf_counter() - t0) * 1000
        page.evaluate("window.__lat = []; window.__frames = []")
        vp = page.locator(".viewport").bounding_box()
        cx, cy = vp["x"] + vp["width"] / 2, vp["y"] + vp["height"] / 2
        page.mouse.move(cx, cy)
        page.keyboard.down("Space")
        page.mouse.down()
        for k in range(120):
            page.mouse.move(cx + 300 * ((k % 40) / 40 - 0.5), cy + 150 * ((k % 20) / 20 - 0.5))
        page.mouse.up()
        page.keyboard.up("Space")
        for _ in range(30):
            page.mouse.wheel(0, -120)
        for _ in range(30):
            page.mouse.wheel(0, 120)
        page.wait_for_timeout(200)
        lat = page.evaluate("window.__lat")
        frames = page.evaluate("window.__frames")
        results["pan_latency_ms"] = [v for t, v in lat if t == "pointermove"]
        results["zoom_latency_ms"] = [v for t, v in lat if t == "wheel"]
        results["pan_frame_ms"] = [b - a for a, b in zip(frames, frames[1:], strict=False)]

        # 3. a 10,000-character text
        page.goto(base + "/work/bench-ner")
        page.wait_for_selector("#ner-text")
        page.keyboard.press("Home")
        page.evaluate("window.__lat = []")
        for i in range(60):
            page.keyboard.press("Control+Shift+ArrowRight")
            page.keyboard.press(str(1 + i % 2))
            page.keyboard.press("Control+ArrowRight")
        page.wait_for_timeout(200)
        results["ner_key_latency_ms"] = [
            v for t, v in page.evaluate("window.__lat") if t == "keydown"
        ]
        results["ner_entities"] = page.locator("#entity-list li").count()
        results["chromium"] = browser.version
        browser.close()
    server.should_exit = True

    def row(name: str, values: list[float]) -> str:
        return (
            f"| {name} | {len(values)} | {statistics.median(values):.1f} | "
            f"{pct(values, 0.95):.1f} | {max(values):.1f} |"
        )

    print(f"Chromium {results['chromium']}, headless, --disable-gpu\n")
    print("| measure (ms) | n | median | p95 | max |")
    print("| --- | --- | --- | --- | --- |")
    print(row("submit → next task on screen", results["switch_ms"]))
    print(row("4000×3000 pan: pointermove → frame", results["pan_latency_ms"]))
    print(row("4000×3000 zoom: wheel → frame", results["zoom_latency_ms"]))
    print(row("4000×3000 pan/zoom: frame interval", results["pan_frame_ms"]))
    print(row("10,000-char NER: key → frame", results["ner_key_latency_ms"]))
    print(
        f"\nopen the 4000×3000 image task (navigation to fitted image): "
        f"{results['image_open_ms']:.0f} ms; NER spans labelled: {results['ner_entities']}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
