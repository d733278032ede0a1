"""COCO, YOLO and VOC exports, from labels made through the work engine (CoNLL:
test_conll.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from support import answer_tasks, job_over_items
from truthset.errors import BadInput
from truthset.exports.formats import get_exporter, list_exporters
from truthset.jobs.service import get_job
from truthset.workforce.service import create_user


def export(ws, job: str, fmt: str) -> tuple[int, bytes]:
    out: list[bytes] = []
    exporter = get_exporter(fmt)
    with ws.db.session_scope(write=False) as s:
        the_job = get_job(s, job)
        exporter.check_job(the_job)  # as the API and the export run do
        n = exporter.export(s, the_job, lambda chunks: out.extend(chunks), now=0)
    return n, b"".join(out)


def worker(ws) -> None:
    with ws.db.session_scope() as s:
        create_user(s, "w", role="worker", teams=["t"])


def test_boxes_and_polygons_as_coco(any_ws):
    ws = any_ws
    worker(ws)
    refs = [str(ws.settings.media_dir / f"img{i}.png") for i in range(3)]
    items = [{"id": f"img{i}", "source-ref": ref} for i, ref in enumerate(refs)]
    job_over_items(ws, "boxes", items, ["cat", "dog"], task_type="bounding-box")
    size = {"width": 640, "height": 480}
    boxes: dict[str, Any] = {
        "img0": [{"label": "dog", "left": 10, "top": 20, "width": 30, "height": 40}],
        "img1": [],
        "img2": [
            {"label": "cat", "left": 0, "top": 0, "width": 5, "height": 5},
            {"label": "dog", "left": 100, "top": 50, "width": 20, "height": 10},
        ],
    }
    answer_tasks(
        ws, "boxes", "w", lambda i: {"boundingBoxes": boxes[i], "inputImageProperties": size}
    )
    n, body = export(ws, "boxes", "coco")
    coco = json.loads(body)
    assert n == 3
    assert [
        (im["id"], im["file_name"], im["width"], im["height"], im["truthset_id"])
        for im in coco["images"]
    ] == [(i + 1, refs[i], 640, 480, f"img{i}") for i in range(3)]
    assert coco["categories"] == [
        {"id": 1, "name": "cat", "supercategory": "none"},
        {"id": 2, "name": "dog", "supercategory": "none"},
    ]
    anns = [
        (a["id"], a["image_id"], a["category_id"], a["bbox"], a["area"], a["iscrowd"])
        for a in coco["annotations"]
    ]
    assert anns == [
        (1, 1, 2, [10.0, 20.0, 30.0, 40.0], 1200.0, 0),
        (2, 3, 1, [0.0, 0.0, 5.0, 5.0], 25.0, 0),
        (3, 3, 2, [100.0, 50.0, 20.0, 10.0], 200.0, 0),
    ]
    assert all(0 <= a["score"] <= 1 for a in coco["annotations"])

    refs2 = [str(ws.settings.media_dir / "p.png")]
    job_over_items(
        ws,
        "shapes",
        [{"id": "p", "source-ref": refs2[0]}],
        ["roof"],
        task_type="polygon",
        dataset="shape-items",
    )
    triangle = [{"x": 0, "y": 0}, {"x": 40, "y": 0}, {"x": 0, "y": 30}]
    answer_tasks(
        ws,
        "shapes",
        "w",
        lambda _i: {
            "polygons": [{"label": "roof", "vertices": triangle}],
            "inputImageProperties": size,
        },
    )
    _, body = export(ws, "shapes", "coco")
    (ann,) = json.loads(body)["annotations"]
    with ws.db.session_scope(write=False) as s:
        value = s.execute(
            text(
                "SELECT l.value FROM labels l JOIN jobs j ON j.id = l.job_id "
                "WHERE j.name = 'shapes'"
            )
        ).scalar_one()
    (outline,) = (json.loads(value) if isinstance(value, str) else value)["annotations"]
    xs = [float(v["x"]) for v in outline["vertices"]]
    ys = [float(v["y"]) for v in outline["vertices"]]
    assert ann["segmentation"] == [[c for xy in zip(xs, ys, strict=True) for c in xy]]
    assert ann["bbox"] == [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    # The consolidated outline of the triangle (traced from its pixels) encloses about
    # its area, 600 px.
    assert ann["category_id"] == 1 and 550 < ann["area"] < 700


def test_boxes_as_yolo_and_pascal_voc_archives(ws):
    import io
    import xml.etree.ElementTree as ET
    import zipfile

    worker(ws)
    refs = [str(ws.settings.media_dir / f"img{i}.png") for i in range(2)]
    items = [{"id": f"img/{i}", "source-ref": ref} for i, ref in enumerate(refs)]
    job_over_items(ws, "boxes", items, ["cat", "<dog>"], task_type="bounding-box")
    boxes: dict[str, Any] = {
        "img/0": [{"label": "<dog>", "left": 10, "top": 20, "width": 30, "height": 40}],
        "img/1": [],
    }
    size = {"width": 200, "height": 100}
    answer_tasks(
        ws, "boxes", "w", lambda i: {"boundingBoxes": boxes[i], "inputImageProperties": size}
    )
    n, body = export(ws, "boxes", "yolo")
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert n == 2 and archive.testzip() is None
    assert sorted(archive.namelist()) == [
        "classes.txt",
        "images.txt",
        "labels/img_0.txt",
        "labels/img_1.txt",
    ]
    assert archive.read("classes.txt") == b"cat\n<dog>\n"
    # class 1, centre (25, 40) of a 200 x 100 image, size 30 x 40
    assert archive.read("labels/img_0.txt") == b"1 0.125000 0.400000 0.150000 0.400000\n"
    assert archive.read("labels/img_1.txt") == b""
    assert archive.read("images.txt").decode().splitlines() == [
        f"labels/img_0.txt\t{refs[0]}",
        f"labels/img_1.txt\t{refs[1]}",
    ]

    n, body = export(ws, "boxes", "voc")
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert sorted(archive.namelist()) == ["Annotations/img_0.xml", "Annotations/img_1.xml"]
    root = ET.fromstring(archive.read("Annotations/img_0.xml"))
    assert root.findtext("filename") == refs[0]
    assert (root.findtext("size/width"), root.findtext("size/height")) == ("200", "100")
    (obj,) = root.findall("object")
    assert obj.findtext("name") == "<dog>"  # escaped in the file, text when read
    box = [obj.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")]
    assert box == ["11", "21", "40", "60"]
    assert ET.fromstring(archive.read("Annotations/img_1.xml")).findall("object") == []


def test_a_format_refuses_a_job_it_cannot_express(ws):
    worker(ws)
    job_over_items(ws, "texts", [{"id": "t", "source": "hello"}], ["a", "b"])
    for fmt in ("coco", "conll"):
        with pytest.raises(BadInput, match="text-classification"):
            export(ws, "texts", fmt)
    assert {e["name"] for e in list_exporters()} >= {"groundtruth", "coco", "conll"}


def test_the_api_offers_a_job_only_the_formats_it_can_take(ws, client):
    from support import bearer
    from truthset.api.tokens import issue_token

    worker(ws)
    job_over_items(ws, "texts", [{"id": "t", "source": "hello"}], ["a", "b"])
    with ws.db.session_scope() as s:
        admin = issue_token(s, create_user(s, "boss", role="admin"))
    formats = {
        f["name"]: f for f in client.get("/api/export-formats", headers=bearer(admin)).json()
    }
    assert formats["conll"]["task_types"] == ["named-entity-recognition"]
    assert formats["groundtruth"]["task_types"] is None
    r = client.post("/api/jobs/texts/exports", json={"format": "coco"}, headers=bearer(admin))
    assert r.status_code == 400 and r.json()["error"] == "bad_input"
    assert "text-classification" in r.json()["detail"]


def test_an_export_run_writes_the_format_it_is_given(ws):
    """Through the background run, as `truthset export --format conll` and the console do."""
    from truthset.runs.executor import run_pending
    from truthset.runs.service import enqueue, get_run

    worker(ws)
    job_over_items(
        ws,
        "ner",
        [{"id": "a", "source": "Ada wrote"}],
        ["PER"],
        task_type="named-entity-recognition",
    )
    answer_tasks(
        ws,
        "ner",
        "w",
        lambda _i: {"entities": [{"label": "PER", "startOffset": 0, "endOffset": 3}]},
    )
    out = ws.settings.data_dir / "ner.conll"
    with ws.db.session_scope() as s:
        run_id = enqueue(s, "export", {"job": "ner", "format": "conll", "out": str(out)}).id
    run_pending(ws.db, ws.settings)
    with ws.db.session_scope(write=False) as s:
        run = get_run(s, run_id)
        assert run.state == "succeeded", run.error
    assert out.read_text() == "# id = a\nAda\tB-PER\nwrote\tO\n\n"
