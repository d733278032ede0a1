"""Render time of a custom job's task page per task (issue 13): a Ground Truth-style
bounding-box template over 200 different task inputs, each rendered once (the first
open of a task; later opens hit the page cache), and the cached path."""

from __future__ import annotations

import statistics
import time

from truthset.media.storage import AllowedRoots
from truthset.templates.service import PAGES, default_task_input, render_page

TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-instructions link-text="View instructions" link-type="button">
    <short-summary><p>Draw a box around each {{ task.input.labels | join: ", " }}.</p>
    </short-summary>
  </crowd-instructions>
  <p>{{ task.input.manifestLine.note }}</p>
  {% for label in task.input.labels %}<span class="l">{{ label | upcase }}</span>{% endfor %}
  <crowd-bounding-box name="boundingBox" src="{{ task.input.taskObject | grant_read_access }}"
    header="{{ task.input.manifestLine.note | escape }}"
    labels="{{ task.input.labels | to_json | escape }}"></crowd-bounding-box>
  <script>var line = {{ task.input.manifestLine | to_json | skip_autoescape }};</script>
</crowd-form>"""


def main() -> None:
    roots = AllowedRoots(["s3://bench"])
    key = b"k" * 32
    times, cached = [], []
    for i in range(200):
        line = {"source-ref": f"s3://bench/img/{i}.jpg", "note": f"<b>item {i}</b>"}
        task_input = default_task_input(line, ["car", "bus", "bike"])
        t0 = time.perf_counter()
        page = render_page(
            job_id=1,
            html=TEMPLATE,
            task_input=task_input,
            roots=roots,
            grant_key=key,
            origin="http://127.0.0.1:8000",
        )
        times.append((time.perf_counter() - t0) * 1000)
        PAGES.put((1, i), page)
        t0 = time.perf_counter()
        PAGES.get((1, i))
        cached.append((time.perf_counter() - t0) * 1000)
    for name, xs in (("render", times), ("cached", cached)):
        q = statistics.quantiles(xs, n=20)
        print(
            f"{name}: p50 {statistics.median(xs):.3f} ms, p95 {q[18]:.3f} ms, max {max(xs):.3f} ms"
        )


if __name__ == "__main__":
    main()
