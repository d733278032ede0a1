"""A worker's clicks through the job's own SAM-style ONNX model (POST
/api/jobs/{name}/items/{id}/assist/onnx): the mask of the object in the box, the encoder
run once per image, access as the media route's."""

from __future__ import annotations

import numpy as np
from PIL import Image

from onnx_models_support import bright_rectangles, sam_decoder, sam_encoder
from support import Setup, bearer, require_module, write_manifest
from truthset.datasets.importer import import_source

require_module("onnxruntime")
require_module("onnx")


def _decode_rle(answer: dict) -> np.ndarray:
    mask = np.zeros((answer["height"], answer["width"]), bool)
    x, y, w, h = answer["rle"]["box"]
    flat = np.zeros(w * h, bool)
    at, on = 0, False
    for n in answer["rle"]["counts"]:
        flat[at : at + n] = on
        at, on = at + n, not on
    mask[y : y + h, x : x + w] = flat.reshape(h, w)
    return mask


def test_clicks_and_a_box_through_the_jobs_segmenter(ws, client):
    setup = Setup(ws, n_items=0, n_workers=2)
    folder = ws.settings.media_dir / "scene"
    folder.mkdir(parents=True)
    Image.fromarray(bright_rectangles(120, 80, [(10, 10, 30, 20), (70, 40, 40, 30)])).save(
        folder / "s.png"
    )
    manifest = write_manifest(
        ws.settings.media_dir / "scene.manifest", [{"id": "s", "source-ref": str(folder / "s.png")}]
    )
    models = ws.settings.media_dir / "models"
    models.mkdir()
    (models / "enc.onnx").write_bytes(sam_encoder(128))
    (models / "dec.onnx").write_bytes(sam_decoder(128))
    with ws.db.session_scope() as s:
        import_source(s, "scene", str(manifest), allowed_roots=ws.allowed_roots)
    sam = {
        "path": str(models / "enc.onnx"),
        "decoder_path": str(models / "dec.onnx"),
        "kind": "sam",
        "inputs": {"scale": 1 / 255, "mean": 0, "std": 1},
    }
    setup.job(
        "outlines",
        task_type="instance-segmentation",
        label_config=["object"],
        dataset="scene",
        workers_per_item=1,
        settings={"prelabel": {"onnx": sam}},
    )
    setup.job(
        "plain",
        task_type="instance-segmentation",
        label_config=["object"],
        dataset="scene",
        workers_per_item=1,
    )
    worker = bearer(setup.worker_tokens["w00"])
    task = client.post("/api/jobs/outlines/next", headers=worker).json()
    # The tool knows the item by its media URL (/api/items/{id}/media).
    item_id = task["item"]["media_url"].split("/")[3]
    url = f"/api/jobs/outlines/items/{item_id}/assist/onnx"
    r = client.post(url, headers=worker, json={"box": [65, 35, 115, 75], "polygons": True})
    assert r.status_code == 200, r.json()
    first = r.json()
    truth = np.zeros((80, 120), bool)
    truth[40:70, 70:110] = True
    mask = _decode_rle(first)
    assert first["encoder_ran"] and first["method"] == "onnx"
    assert (mask & truth).sum() / (mask | truth).sum() > 0.8 and first["area"] == mask.sum()
    assert len(first["polygons"]) == 1
    # A refinement click reuses the image's embedding: only the decoder runs.
    body = {"box": [65, 35, 115, 75], "points": [{"x": 90, "y": 55}], "point_labels": [1]}
    again = client.post(url, headers=worker, json=body).json()
    assert again["encoder_ran"] is False and again["rle"] == first["rle"]
    # Refused: labels that do not match the points, no prompt, a job without the model,
    # a worker who was never given the item.
    r = client.post(url, headers=worker, json={"points": [{"x": 1, "y": 1}]})
    assert r.status_code == 400 and r.json()["detail"].startswith("point_labels:")
    r = client.post(url, headers=worker, json={})
    assert r.status_code == 400 and "give a click or a box" in r.json()["detail"]
    r = client.post(url, headers=worker, json={"point_labels": [2], "points": [{"x": 1, "y": 1}]})
    assert r.status_code == 422
    plain = url.replace("/outlines/", "/plain/")
    r = client.post(plain, headers=worker, json={"box": [0, 0, 10, 10]})
    assert r.status_code == 400 and "kind sam" in r.json()["detail"]
    other = bearer(setup.worker_tokens["w01"])
    r = client.post(url, headers=other, json={"box": [0, 0, 10, 10]})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
