"""COCO exports with masks, read back with COCO's own API (pycocotools): semantic masks
as compressed RLE decode to the consolidated (or imported) masks pixel for pixel;
polygons of polygon and instance segmentation jobs load as COCO polygons; an export with
nothing in it is refused, naming the job."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from exports.mask_jobs import (
    HEIGHT,
    WIDTH,
    add_worker,
    export,
    imported_masks,
    labels_json,
    masks_by_item,
    polygon_job,
    semantic_job,
)
from truthset.errors import BadInput


def drawn_shape(vertices: list[dict[str, float]]) -> np.ndarray:
    """The worker's polygon filled by PIL (a rasteriser of neither COCO nor this server)."""
    from PIL import Image, ImageDraw

    image = Image.new("1", (WIDTH, HEIGHT), 0)
    ImageDraw.Draw(image).polygon([(v["x"], v["y"]) for v in vertices], fill=1)
    return np.asarray(image).astype(bool)


def load(tmp_path: Path, body: bytes) -> COCO:
    path = tmp_path / "coco.json"
    path.write_bytes(body)
    return COCO(str(path))


def class_masks_of(coco: COCO, image_id: int) -> np.ndarray:
    """The image's class-id mask, rebuilt from its RLE annotations with pycocotools."""
    image = coco.imgs[image_id]
    out = np.zeros((image["height"], image["width"]), dtype=np.uint8)
    for ann in coco.imgToAnns[image_id]:
        pixels = coco_mask.decode(ann["segmentation"])
        assert not (out[pixels > 0]).any(), "two classes claim one pixel"
        out[pixels > 0] = ann["category_id"]
    return out


def check_semantic(coco: COCO, expected: dict[str, np.ndarray], refs: dict[str, str]) -> None:
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["cat", "dog"]
    images = sorted(coco.imgs.values(), key=lambda im: im["id"])
    # Images in import order, each the item's source-ref.
    assert [im["file_name"] for im in images] == [refs[k] for k in expected]
    for image, key in zip(images, expected, strict=True):
        assert (image["width"], image["height"]) == (WIDTH, HEIGHT)
        assert (class_masks_of(coco, image["id"]) == expected[key]).all(), key
        anns = coco.imgToAnns[image["id"]]
        # One annotation per class present, in class order.
        present = [int(k) for k in np.unique(expected[key]) if k]
        assert [a["category_id"] for a in anns] == present
        for ann in anns:
            segm = ann["segmentation"]
            assert set(segm) == {"counts", "size"} and isinstance(segm["counts"], str)
            assert segm["size"] == [HEIGHT, WIDTH]
            binary = expected[key] == ann["category_id"]
            assert ann["area"] == float(coco_mask.area(segm)) == binary.sum()
            assert ann["bbox"] == [float(v) for v in coco_mask.toBbox(segm)]
            # The same string pycocotools makes of the same pixels.
            ours = coco_mask.encode(np.asfortranarray(binary.astype(np.uint8)))
            assert segm["counts"] == ours["counts"].decode()
            assert ann["iscrowd"] == 0
            # annToMask, the path COCO's tools take, gives the pixels too.
            assert (coco.annToMask(ann) == binary).all()


def test_semantic_masks_as_rle_decode_to_the_consolidated_masks(any_ws, tmp_path):
    ws = any_ws
    add_worker(ws)
    masks = masks_by_item()
    semantic_job(ws, "seg", masks)
    n, body = export(ws, "seg", "coco")
    assert n == 3
    refs = {k: str(ws.settings.media_dir / f"{k}.png") for k in masks}
    coco = load(tmp_path, body)
    check_semantic(coco, masks, refs)
    assert [im["truthset_id"] for im in coco.dataset["images"]] == ["a", "b", "c"]
    # Each annotation's score is its mask's confidence, as the label's metadata has it.
    from sqlalchemy import select

    from truthset.store.models import Label, Task

    with ws.db.session_scope(write=False) as s:
        metas = s.scalars(select(Label.meta).join(Task).order_by(Task.position)).all()
    confidence = {m["internal-color-map"]["1"]["confidence"] for m in metas}
    assert len(confidence) == 1
    assert {a["score"] for a in json.loads(body)["annotations"]} == confidence
    assert labels_json(ws, "seg") == ["label.png"] * 3  # the placeholder, not a path


def test_imported_ground_truth_masks_as_rle(ws, tmp_path):
    """Ground Truth's RGB masks in its own colours read by the line's internal-color-map."""
    masks = masks_by_item()
    job, refs = imported_masks(ws, "cats-ref", masks)
    _, body = export(ws, job, "coco")
    coco = load(tmp_path, body)
    images = {k: str(ws.settings.media_dir / "gt" / f"{k}.png") for k in masks}
    check_semantic(coco, masks, images)
    assert {a["score"] for a in json.loads(body)["annotations"]} == {0.7}


@pytest.mark.parametrize("task_type", ["polygon", "instance-segmentation"])
def test_polygons_load_as_coco_polygons(ws, tmp_path, task_type):
    from exports.mask_jobs import SQUARE, TRIANGLE

    add_worker(ws)
    polygon_job(ws, "shapes", task_type)
    n, body = export(ws, "shapes", "coco")
    coco = load(tmp_path, body)
    assert n == 2 and sorted(coco.imgs) == [1, 2]
    assert coco.imgToAnns[2] == []
    anns = coco.imgToAnns[1]
    assert [a["category_id"] for a in anns] == [1, 2]
    (label,) = labels_json(ws, "shapes")[:1]
    for ann, outline, shape in zip(anns, label["annotations"], (TRIANGLE, SQUARE), strict=True):
        ring = [c for v in outline["vertices"] for c in (float(v["x"]), float(v["y"]))]
        assert ann["segmentation"] == [ring]
        xs, ys = ring[0::2], ring[1::2]
        assert ann["bbox"] == [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        # COCO rasterises the ring as this server does the worker's shape: nearly the
        # same pixels (the outline is traced from them), and the area they cover.
        theirs = coco.annToMask(ann).astype(bool)
        drawn = drawn_shape(shape)
        iou = (theirs & drawn).sum() / (theirs | drawn).sum()
        assert iou > 0.85, iou
        assert abs(ann["area"] - theirs.sum()) / theirs.sum() < 0.15


def test_an_export_with_nothing_to_write_is_refused(ws, client):
    from support import bearer, job_over_items
    from truthset.api.tokens import issue_token
    from truthset.workforce.service import create_user

    add_worker(ws)
    job_over_items(
        ws,
        "empty-boxes",
        [{"id": "i", "source-ref": str(ws.settings.media_dir / "i.png")}],
        ["cat"],
        task_type="bounding-box",
    )
    with pytest.raises(
        BadInput,
        match="job 'empty-boxes' has nothing to export as COCO: none "
        "of its 1 items has a consolidated label",
    ):
        export(ws, "empty-boxes", "coco")
    with ws.db.session_scope() as s:
        admin = issue_token(s, create_user(s, "boss", role="admin"))
    r = client.post("/api/jobs/empty-boxes/exports", json={"format": "coco"}, headers=bearer(admin))
    assert r.status_code == 400 and r.json()["error"] == "bad_input"
    assert "'empty-boxes' has nothing to export as COCO" in r.json()["detail"]


def test_a_mask_colour_its_map_does_not_name_fails_naming_the_item(ws):
    from exports.mask_jobs import rgb_png

    masks = {"a": masks_by_item()["a"]}
    job, refs = imported_masks(ws, "cats-ref", masks)
    # The file on disk is what the label import read; its copy in the store is replaced
    # by a painting with a third colour, as a mask edited outside Ground Truth would be.
    from sqlalchemy import update

    from truthset.store.models import Label

    stray = masks["a"].copy()
    stray[0, 0] = 3
    with ws.db.session_scope() as s:
        s.execute(
            update(Label).values(
                artifact=rgb_png(stray, {1: "#ff7f0e", 2: "#9467bd", 3: "#123456"})
            )
        )
    with pytest.raises(
        BadInput, match=r"its mask has the colour #123456, which its internal-color-map"
    ):
        export(ws, job, "coco")


def test_transparent_pixels_and_many_colours_are_read_alike(ws, tmp_path):
    """An RGBA mask (transparent pixels are background, whatever their colour) and an
    RGB mask of more than 256 colours take the per-pixel path; both export the same
    classes as the map names them."""
    import io

    from PIL import Image
    from sqlalchemy import update

    from tasktypes.conftest import paint
    from truthset.store.models import Label

    masks = {"a": masks_by_item()["a"]}
    job, _refs = imported_masks(ws, "cats-ref", masks)
    colors = {1: "#ff7f0e", 2: "#9467bd"}
    rgba = np.dstack([paint(masks["a"], colors), np.full(masks["a"].shape, 255, np.uint8)])
    rgba[0:3, :, :] = [0x12, 0x34, 0x56, 0]  # transparent: background, colour unnamed
    expected = masks["a"].copy()
    expected[0:3, :] = 0
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    with ws.db.session_scope() as s:
        s.execute(update(Label).values(artifact=buf.getvalue()))
    _, body = export(ws, job, "coco")
    coco = load(tmp_path, body)
    assert (class_masks_of(coco, 1) == expected).all()

    # Hundreds of colours (a mask saved with smoothing): past the few-colours path, and
    # the colours the map does not name are still found.
    many = np.dstack([paint(masks["a"], colors), np.full(masks["a"].shape, 255, np.uint8)])
    many[29, :, :3] = [[i, 0, 0] for i in range(40)]
    many[28, :, :3] = [[0, i, 0] for i in range(40)]
    many[27, :, :3] = [[0, 0, i] for i in range(40)]
    for row in range(20, 27):
        many[row, :, :3] = [[row, i, 7] for i in range(40)]
    buf = io.BytesIO()
    Image.fromarray(many, "RGBA").save(buf, format="PNG")
    with ws.db.session_scope() as s:
        s.execute(update(Label).values(artifact=buf.getvalue()))
    with pytest.raises(BadInput, match="its mask has the colour #"):
        export(ws, job, "coco")
