"""The video tool in Debian's Chromium: the next frame of a 1920x1080 sequence, and the
opening of a 1,000-frame sequence with 20 tracks.

    .venv/bin/python benchmarks/video_player.py [--hd-frames 120] [--long-frames 1000]
        [--tracks 20] [--steps 60] [--json out.json]

Writes JPEG frames (a moving box over a textured background; the long sequence reuses 50
distinct images under 1,000 names, hard links) with their Ground Truth sequence files,
starts a real server (uvicorn, SQLite in a temporary folder) with a video-object-tracking
job over each, and measures:

1. Next frame, 1920x1080: the task page opened, the frames ahead prefetched, then →
   pressed `--steps` times, 150 ms apart (a worker checking each frame); each time from
   the key event until the frame is on the canvas and the browser has drawn the next
   animation frame. Issue 14 asks for under 50 ms at p95 once prefetched. The tool's own
   figure (from the seek to drawImage) is given beside it.
2. Open: a 1,000-frame sequence whose lease holds a draft of 20 tracks (50 keyframes
   each, so the timeline and the shapes have work): from navigating to the task page
   until the first frame is painted with its shapes and the timeline drawn. Issue 14 asks
   for under 2 s. Measured twice (a cold and a warm HTTP cache).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from PIL import Image, ImageDraw

from truthset.api import tokens
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
# One step: the key, then wait for the frame on the canvas and one more animation frame.
STEP = """async (expected) => {
  const root = document.getElementById('tool-root');
  const t0 = performance.now();
  const key = {key: 'ArrowRight', code: 'ArrowRight', bubbles: true};
  document.dispatchEvent(new KeyboardEvent('keydown', key));
  const handled = performance.now() - t0;
  await new Promise((done) => {
    (function check() {
      if (root.dataset.painted === String(expected)) requestAnimationFrame(() => done());
      else requestAnimationFrame(check);
    })();
  });
  return [performance.now() - t0, handled];
}"""

# The browser's own pace on this machine now: one animation frame to the next, idle.
IDLE_FRAME = """async () => {
  await new Promise((r) => requestAnimationFrame(() => r()));
  const t0 = performance.now();
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}"""


def write_sequence(folder: Path, frames: int, size: tuple[int, int], distinct: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    entries = []
    for f in range(frames):
        name = f"frame_{f:05d}.jpg"
        if f < distinct:
            img = Image.new("RGB", size, "#20303f")
            draw = ImageDraw.Draw(img)
            for x in range(0, w, 24):
                draw.line([(x, 0), (x + h // 3, h)], fill=(40 + (x * 7) % 150, 80, 120), width=3)
            left = 40 + (w - 400) * f / max(1, distinct - 1)
            draw.rectangle([left, h / 3, left + 300, h / 3 + 200], fill="#e02020")
            img.save(folder / name, quality=88)
        else:
            os.link(folder / f"frame_{f % distinct:05d}.jpg", folder / name)
        entries.append({"frame-no": f, "frame": name, "unix-timestamp": 1_700_000_000 + f / 30})
    doc = {"seq-no": 1, "prefix": str(folder) + "/", "number-of-frames": frames, "frames": entries}
    (folder / "seq.json").write_text(json.dumps(doc))
    return folder / "seq.json"


def make_job(ws: Any, name: str, seq: Path) -> None:
    manifest = ws.settings.media_dir / f"{name}.manifest"
    manifest.write_text(json.dumps({"id": name, "source-ref": str(seq)}) + "\n")
    with ws.db.session_scope() as s:
        import_source(s, name, str(manifest), allowed_roots=ws.allowed_roots)
        create_job(
            s,
            JobCreate(
                name=name,
                task_type="video-object-tracking",
                label_config=["car", "person", "bike"],
                dataset=name,
                teams=["bench"],
                task_time_limit=3600,
                label_attribute=f"{name}-ref",
            ),
        )


def twenty_tracks(frames: int, n: int, size: tuple[int, int]) -> dict[str, Any]:
    """A draft of n tracks with 50 keyframes each, as the tool saves it."""
    w, h = size
    tracks = []
    for i in range(n):
        keyframes = []
        for k in range(50):
            f = round(k * (frames - 1) / 49)
            left = (37 * i + 11 * k) % (w - 120)
            keyframes.append(
                {
                    "frame": f,
                    "box": {"left": left, "top": (53 * i) % (h - 90), "width": 110, "height": 80},
                }
            )
        tracks.append(
            {
                "id": i + 1,
                "objectId": str(uuid.uuid4()),
                "label": ["car", "person", "bike"][i % 3],
                "number": i // 3 + 1,
                "attrs": {},
                "keyframes": keyframes,
            }
        )
    state = {"tracks": tracks, "next": n + 1, "frameAttrs": {}, "fromPrior": False}
    return {"version": 1, "state": state, "frame": 0}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hd-frames", type=int, default=120)
    ap.add_argument("--long-frames", type=int, default=1000)
    ap.add_argument("--tracks", type=int, default=20)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="truthset-bench-"))
    ws = open_workspace(load_settings(tmp))
    media = ws.settings.media_dir
    t0 = time.perf_counter()
    hd = write_sequence(media / "hd", args.hd_frames, (1920, 1080), args.hd_frames)
    long = write_sequence(media / "long", args.long_frames, (1280, 720), 50)
    print(f"frames written in {time.perf_counter() - t0:.1f} s")
    with ws.db.session_scope() as s:
        workforce.create_team(s, "bench")
        user = workforce.create_user(
            s, "bencher", role="worker", password="bench-pass", teams=["bench"]
        )
        token = tokens.issue_token(s, user)
    make_job(ws, "hd", hd)
    make_job(ws, "long", long)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(ws), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    auth = {"Authorization": f"Bearer {token}"}
    # The long task's lease, with its 20 tracks saved as a draft (the page gets it back).
    lease = httpx.post(f"{base}/api/jobs/long/next", headers=auth, timeout=30).json()
    draft = twenty_tracks(args.long_frames, args.tracks, (1280, 720))
    saved = httpx.put(
        f"{base}/api/assignments/{lease['assignment_id']}/draft",
        headers=auth,
        json={"content": draft},
        timeout=30,
    )
    saved.raise_for_status()
    results: dict[str, Any] = {"draft_bytes": saved.json()["bytes"]}

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
        login = httpx.post(
            f"{base}/api/auth/login", json={"name": "bencher", "password": "bench-pass"}
        )
        ctx.add_cookies(
            [{"name": "truthset_session", "value": login.cookies["truthset_session"], "url": base}]
        )
        page = ctx.new_page()

        # 1. Next frame of the 1920x1080 sequence.
        page.goto(f"{base}/work/hd")
        page.wait_for_selector("#tool-root[data-ready='true']", timeout=60_000)
        page.wait_for_function(
            "document.getElementById('tool-root').dataset.painted === '0'", timeout=60_000
        )
        page.wait_for_timeout(2500)  # the frames ahead are fetched and decoded
        steps: list[float] = []
        handled: list[float] = []
        for i in range(1, min(args.steps, args.hd_frames - 1) + 1):
            shown, sync = page.evaluate(STEP, i)
            steps.append(float(shown))
            handled.append(float(sync))
            page.wait_for_timeout(150)
        idle = []
        for _ in range(len(steps)):
            idle.append(float(page.evaluate(IDLE_FRAME)))
            page.wait_for_timeout(150)
        own = page.evaluate("document.getElementById('tool-root').videoPaints.slice(1)")
        results["next_frame_1080p_ms"] = {
            "steps": len(steps),
            "p50": round(statistics.median(steps), 1),
            "p95": round(pct(steps, 0.95), 1),
            "max": round(max(steps), 1),
            "tool_paint_p95": round(pct(own, 0.95), 2) if own else None,
            # The key handler's own time (seek, paint, the overlay and the timeline's
            # request): the rest is the browser's rendering and whatever else ran.
            "key_handler_p95": round(pct(handled, 0.95), 1),
            # An idle animation frame on the same page (16.7 ms on a quiet machine): what
            # the machine's load adds to any step.
            "idle_frame_p50": round(statistics.median(idle), 1),
            "idle_frame_p95": round(pct(idle, 0.95), 1),
        }
        print("next frame 1920x1080:", results["next_frame_1080p_ms"])

        # 2. Open the 1,000-frame sequence with 20 tracks (cold, then warm cache).
        opens = []
        for _ in range(2):
            start = time.perf_counter()
            page.goto(f"{base}/work/long")
            page.wait_for_selector("#tool-root[data-ready='true']", timeout=60_000)
            page.wait_for_function(
                "document.getElementById('tool-root').dataset.painted === '0' && "
                f"document.querySelectorAll('#tool-root .video-shapes rect.shape').length > 0 && "
                f"document.querySelectorAll('#video-track-list li').length === {args.tracks}",
                timeout=60_000,
                polling="raf",
            )
            page.evaluate("() => new Promise((r) => requestAnimationFrame(() => r()))")
            opens.append(round((time.perf_counter() - start) * 1000))
        results["open_1000_frames_20_tracks_ms"] = {"cold": opens[0], "warm": opens[1]}
        print("open 1,000 frames, 20 tracks:", results["open_1000_frames_20_tracks_ms"])
        browser.close()
    server.should_exit = True
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
