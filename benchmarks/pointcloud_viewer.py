"""The point cloud tool in Debian's Chromium (software WebGL: SwiftShader): a
120,000-point frame (one sweep of a 64-beam LiDAR) shown and interactive, and frames per
second while orbiting.

    .venv/bin/python benchmarks/pointcloud_viewer.py [--points 120000] [--orbit-s 4]
        [--opens 3] [--json out.json]

Casts one sweep of a 64-beam LiDAR (64 elevations from -24.8 to +2 degrees, the rest of
the points spread over the azimuth) against a ground plane, a ring of walls and a few
dozen parked cars, writes it as Ground Truth's binary/xyzi `.bin`, starts a real server
(uvicorn, SQLite in a temporary folder) with a point-cloud-object-detection job over it,
and measures:

1. Open: from navigating to the task page until the frame's points are drawn (the tool's
   `data-ready`, set once the GPU has drawn the first frame with them: a one-pixel read
   back waits for it), and until the view has answered a turn of the wheel with a new
   frame (interactive). Issue 14 asks for under 2 s. The first open has a
   cold HTTP cache; the later ones revalidate (304). Then a cuboid placed by a double
   click and fitted by the server's fit route (the round trip).
2. Orbit, for `--orbit-s` seconds: by the tool's orbit key pressed on every animation
   frame in the page, and by the mouse (left button held, moved through Playwright); frames
   the tool drew (its render counter) per second, and the browser's own animation frames
   per second on the same page while idle, for comparison. While the camera moves the
   tool draws every 3rd point of the 120,000 (pc-scene.js's preview), all of them 200 ms
   after it stops.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn

from truthset.config import load_settings
from truthset.datasets.importer import import_source
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import create_job
from truthset.media.point_clouds import encode_binary
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
SENSOR_HEIGHT = 1.73  # metres above the ground, as on KITTI's car


def lidar_sweep(points: int, seed: int = 0) -> np.ndarray:
    """(points, 4) float32 x, y, z, intensity: the first hit of each ray among the
    ground, a ring of walls 60 m away and boxes of car size; rays that hit nothing within
    80 m are cast again at the ground further out (a real sweep drops them; the benchmark
    wants its full count)."""
    rng = np.random.default_rng(seed)
    beams = 64
    per_beam = math.ceil(points / beams)
    elev = np.repeat(np.radians(np.linspace(-24.8, 2.0, beams)), per_beam)[:points]
    azim = np.tile(np.linspace(-math.pi, math.pi, per_beam, endpoint=False), beams)[:points]
    d = np.stack([np.cos(elev) * np.cos(azim), np.cos(elev) * np.sin(azim), np.sin(elev)], 1)
    origin = np.array([0.0, 0.0, SENSOR_HEIGHT])
    t = np.full(points, np.inf)
    down = d[:, 2] < -1e-6
    t[down] = -SENSOR_HEIGHT / d[down, 2]
    horiz = np.hypot(d[:, 0], d[:, 1])
    t = np.minimum(t, np.where(horiz > 1e-6, 60.0 / np.maximum(horiz, 1e-6), np.inf))
    intensity = np.where(down, 0.15, 0.6)
    for _ in range(40):  # parked cars: axis-aligned boxes (slab test)
        cx, cy = rng.uniform(-40, 40, 2)
        if math.hypot(cx, cy) < 5:
            continue
        half = np.array([2.1, 0.9, 0.8]) if rng.random() < 0.5 else np.array([0.9, 2.1, 0.8])
        lo = np.array([cx, cy, 0.8]) - half - origin
        hi = np.array([cx, cy, 0.8]) + half - origin
        with np.errstate(divide="ignore", invalid="ignore"):
            t1, t2 = lo / d, hi / d
        near = np.nanmax(np.minimum(t1, t2), axis=1)
        far = np.nanmin(np.maximum(t1, t2), axis=1)
        hit = (near <= far) & (near > 0) & (near < t)
        t[hit] = near[hit]
        intensity = np.where(hit, 0.9, intensity)
    miss = ~np.isfinite(t) | (t > 80)
    t[miss] = rng.uniform(5, 80, miss.sum())
    xyz = origin + d * t[:, None]
    xyz[miss, 2] = 0.0
    xyz += rng.normal(0, 0.01, xyz.shape)
    inten = np.clip(intensity + rng.normal(0, 0.05, points), 0, 1)
    return np.c_[xyz, inten].astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=120_000)
    ap.add_argument("--orbit-s", type=float, default=4.0)
    ap.add_argument("--opens", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="truthset-bench-"))
    ws = open_workspace(load_settings(tmp))
    media = ws.settings.media_dir
    pts = lidar_sweep(args.points)
    (media / "sweep.bin").write_bytes(encode_binary(pts, "xyzi"))
    meta = {"format": "binary/xyzi", "unix-timestamp": 1_700_000_000.0}
    items = [
        {"id": f"sweep{i}", "source-ref": str(media / "sweep.bin"), "source-ref-metadata": meta}
        for i in range(args.opens)
    ]
    (media / "pc.manifest").write_text("\n".join(json.dumps(r) for r in items) + "\n")
    with ws.db.session_scope() as s:
        workforce.create_team(s, "bench")
        workforce.create_user(s, "bencher", role="worker", password="bench-pass", teams=["bench"])
        import_source(s, "pc", str(media / "pc.manifest"), allowed_roots=ws.allowed_roots)
        create_job(
            s,
            JobCreate(
                name="pc",
                task_type="point-cloud-object-detection",
                label_config={"documentVersion": "2020-03-01", "labels": [{"label": "Car"}]},
                dataset="pc",
                teams=["bench"],
                task_time_limit=3600,
            ),
        )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(ws), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    results: dict[str, Any] = {"points": len(pts), "frame_bytes": len(pts) * 16}

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        # bypass_csp lets Playwright evaluate its own waits; the page's modules load as
        # the site's policy allows (scripts from the site only)
        ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
        login = httpx.post(
            f"{base}/api/auth/login", json={"name": "bencher", "password": "bench-pass"}
        )
        ctx.add_cookies(
            [{"name": "truthset_session", "value": login.cookies["truthset_session"], "url": base}]
        )
        page = ctx.new_page()
        renderer = None
        shown_ms, interactive_ms, fit_ms = [], [], []
        for i in range(args.opens):
            start = time.perf_counter()
            page.goto(f"{base}/work/pc")
            page.wait_for_function(
                "document.getElementById('pc-main')?.dataset.ready === 'true'",
                timeout=60_000,
                polling="raf",
            )
            shown_ms.append(round((time.perf_counter() - start) * 1000))
            # interactive: the view answers a turn of the wheel with a new frame
            page.evaluate(
                """() => new Promise((done) => {
                  const c = document.querySelector('canvas.pc-canvas');
                  const before = Number(c.dataset.frames);
                  c.dispatchEvent(new WheelEvent('wheel',
                    {deltaY: -100, bubbles: true, cancelable: true, clientX: 500, clientY: 300}));
                  (function wait() {
                    if (Number(c.dataset.frames) > before) done();
                    else requestAnimationFrame(wait);
                  })();
                })"""
            )
            interactive_ms.append(round((time.perf_counter() - start) * 1000))
            # a cuboid placed by a double click, back from the server's fit
            car = page.evaluate("document.getElementById('pc-main').pcProject(8, 0, 0)")
            t_fit = time.perf_counter()
            page.mouse.dblclick(car["x"], car["y"])
            page.wait_for_function(
                "document.querySelectorAll('#object-list li').length === 1 && "
                "(document.getElementById('pc-main').dataset.busy || '0') === '0'",
                timeout=60_000,
                polling="raf",
            )
            fit_ms.append(round((time.perf_counter() - t_fit) * 1000))
            if renderer is None:
                renderer = page.evaluate(
                    "(() => { const g = document.createElement('canvas').getContext('webgl2');"
                    " const e = g.getExtension('WEBGL_debug_renderer_info');"
                    " return e ? g.getParameter(e.UNMASKED_RENDERER_WEBGL) : 'unknown'; })()"
                )
            if i < args.opens - 1:
                page.keyboard.press("s")  # skip to the next (the same frame, another item)
                page.wait_for_timeout(300)
        results["renderer"] = renderer
        results["open_shown_ms"] = shown_ms
        results["open_interactive_ms"] = interactive_ms
        results["place_and_fit_ms"] = fit_ms
        print("renderer:", renderer)
        print("shown (points drawn), ms:", shown_ms)
        print("interactive (the wheel turned the view), ms:", interactive_ms)
        print("a cuboid placed and fitted by the server, ms:", fit_ms)

        # Orbit in the page: the tool's own orbit key (","), one press per animation
        # frame for --orbit-s seconds, as a held key repeats; frames drawn per second.
        page.keyboard.press("Escape")
        in_page = page.evaluate(
            """async (seconds) => {
              const c = document.querySelector('canvas.pc-canvas');
              const before = Number(c.dataset.frames);
              const t0 = performance.now();
              let presses = 0;
              await new Promise((done) => { (function tick() {
                document.dispatchEvent(new KeyboardEvent('keydown',
                  {key: ',', code: 'Comma', bubbles: true}));
                presses++;
                if (performance.now() - t0 < seconds * 1000) requestAnimationFrame(tick);
                else done();
              })(); });
              const s = (performance.now() - t0) / 1000;
              return {seconds: s, presses, fps: (Number(c.dataset.frames) - before) / s};
            }""",
            args.orbit_s,
        )
        results["orbit_keys"] = {k: round(float(v), 1) for k, v in in_page.items()}
        print("orbit by key, in the page:", results["orbit_keys"])
        page.wait_for_timeout(500)

        # Orbit by mouse through Playwright: the left button held and the mouse circled
        # (each move is a round trip to the browser: the machine's load slows it too).
        box = page.locator("canvas.pc-canvas").bounding_box()
        assert box is not None
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 3
        frames_before = int(
            page.evaluate("Number(document.querySelector('canvas.pc-canvas').dataset.frames)")
        )
        page.mouse.move(cx, cy)
        page.mouse.down()
        t0 = time.perf_counter()
        k = 0
        while time.perf_counter() - t0 < args.orbit_s:
            k += 1
            page.mouse.move(cx + 200 * math.sin(k / 20), cy + 40 * math.cos(k / 15))
        elapsed = time.perf_counter() - t0
        page.mouse.up()
        frames_after = int(
            page.evaluate("Number(document.querySelector('canvas.pc-canvas').dataset.frames)")
        )
        idle_fps = page.evaluate(
            "() => new Promise((done) => { let n = 0; const t0 = performance.now();"
            " (function tick() { n++;"
            " if (performance.now() - t0 < 2000) requestAnimationFrame(tick);"
            " else done(n / ((performance.now() - t0) / 1000)); })(); })"
        )
        results["orbit_mouse"] = {
            "seconds": round(elapsed, 2),
            "mouse_moves": k,
            "frames_rendered": frames_after - frames_before,
            "fps": round((frames_after - frames_before) / elapsed, 1),
            "idle_animation_fps": round(float(idle_fps), 1),
        }
        print("orbit by mouse:", results["orbit_mouse"])
        browser.close()
    server.should_exit = True
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
