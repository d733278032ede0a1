"""The segmentation tool starts from a mask it is given in the answer's shape: a model's
pre-label (`<attribute>-prediction`, e.g. from your own ONNX model) or the worker's own
answer that a reviewer returned (the next body's `prediction`); submitted untouched, the
answer is that mask."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from truthset.consensus.spatial.masks import class_colors, encode_label_png_base64
from web.ui_support import Pages, Site, wait_for_task

LABELS = ["sky", "road"]


def test_a_predicted_mask_is_shown_and_kept(pages: Pages, site: Site) -> None:
    classes = np.zeros((600, 800), dtype=np.uint8)
    classes[:200, :] = 1  # sky on the top third
    classes[450:, 100:700] = 2  # a road below
    colors = class_colors(LABELS)
    prediction = {
        "labeledImage": {"pngImageData": encode_label_png_base64(classes, colors)},
        "labelMappings": {name: {"color": colors[i + 1]} for i, name in enumerate(LABELS)},
    }
    name = "seg-start"
    ref = site.image("img-seg-start", 800, 600)
    item = {"id": "img1", "source-ref": ref, f"{name}-ref-prediction": prediction}
    job = site.job("semantic-segmentation", LABELS, [item], name=name)
    page = pages.open("worker1", f"/work/{job}")
    wait_for_task(page)
    page.wait_for_function("document.querySelector('svg.overlay')?.getAttribute('width') === '800'")
    page.wait_for_timeout(300)  # the mask decoded and drawn
    page.keyboard.press("Enter")  # not empty: no question
    page.wait_for_selector("#no-work")
    (answer,) = site.answers(job, "img1")
    png = base64.b64decode(answer["answer"]["labeledImage"]["pngImageData"])
    got = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    sky = np.array([int(colors[1][i : i + 2], 16) for i in (1, 3, 5)])
    road = np.array([int(colors[2][i : i + 2], 16) for i in (1, 3, 5)])
    assert (got[:200] == sky).all(axis=-1).mean() > 0.99
    assert (got[450:, 100:700] == road).all(axis=-1).mean() > 0.99
    assert not (got[250:400] == sky).all(axis=-1).any()
