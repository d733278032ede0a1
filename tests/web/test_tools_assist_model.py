"""The image tools' points mode with the job's own Segment-Anything-style ONNX model
(settings.prelabel.onnx, kind sam): two clicks give a box round the object, the job's
model outlines it (POST /api/jobs/{job}/items/{id}/assist/onnx), and the saved polygon
covers the object. The model is one of the tests' tiny ONNX models (it masks the bright
cells inside the box)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from onnx_models_support import bright_rectangles, sam_decoder, sam_encoder
from support import require_module
from web.test_tools_assisted_segmentation import _wait_idle
from web.test_tools_image import click
from web.ui_support import Pages, Site, wait_for_task

RECT = (140, 60, 70, 50)  # left, top, width, height of the bright object


def test_a_box_through_the_jobs_model_gives_the_objects_polygon(pages: Pages, site: Site) -> None:
    require_module("onnxruntime")
    folder = site.ws.settings.media_dir / "test-images"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sam-scene.png"
    Image.fromarray(bright_rectangles(240, 160, [(20, 20, 40, 30), RECT])).save(path)
    models = site.ws.settings.media_dir / "models"
    models.mkdir(exist_ok=True)
    (models / "enc.onnx").write_bytes(sam_encoder(128))
    (models / "dec.onnx").write_bytes(sam_decoder(128))
    sam = {
        "path": str(models / "enc.onnx"),
        "decoder_path": str(models / "dec.onnx"),
        "kind": "sam",
        "inputs": {"scale": 1 / 255, "mean": 0, "std": 1},
    }
    job = site.job(
        "instance-segmentation",
        ["object"],
        [{"id": "s1", "source-ref": str(path)}],
        settings={"prelabel": {"onnx": sam}},
    )
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_function("document.querySelector('svg.overlay')?.getAttribute('width') === '240'")
    page.keyboard.press("a")
    assert "job's model" in page.locator("#assist-status").inner_text()
    left, top, w, h = RECT
    click(page, left - 8, top - 8)  # a box round the right-hand object only
    click(page, left + w + 8, top + h + 8)
    _wait_idle(page)
    assert page.locator("g.shapes polygon, g.shapes .shape").count() == 1
    page.keyboard.press("Enter")  # ends the object
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")  # submits
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "s1")
    (polygon,) = answer["answer"]["polygons"]
    xs = np.array([v["x"] for v in polygon["vertices"]])
    ys = np.array([v["y"] for v in polygon["vertices"]])
    # The model works on a 128-pixel grid of 4-pixel cells: the outline is the object's
    # to within a few pixels, and nowhere near the other object.
    assert abs(xs.min() - left) < 8 and abs(xs.max() - (left + w)) < 8
    assert abs(ys.min() - top) < 8 and abs(ys.max() - (top + h)) < 8
