"""YOLO segmentation exports of polygon and instance segmentation jobs, field by field:
the class id, every vertex of the consolidated outline normalised to the image, the
files of the archive; an instance painted as a PNG is exported as its outline."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from exports.mask_jobs import (
    HEIGHT,
    SQUARE,
    TRIANGLE,
    WIDTH,
    add_worker,
    export,
    labels_json,
    polygon_job,
)
from support import answer_tasks, job_over_items
from tasktypes.conftest import paint, rgb_png_b64, write_image
from truthset.errors import BadInput
from truthset.exports.yolo_seg import polygon_line


def fields(line: str) -> tuple[int, list[float]]:
    head, *coords = line.split(" ")
    assert all(len(c.split(".")[1]) == 6 for c in coords), line  # 6 decimals each
    return int(head), [float(c) for c in coords]


@pytest.mark.parametrize("task_type", ["polygon", "instance-segmentation"])
def test_polygons_as_yolo_segmentation_label_files(any_ws, task_type):
    ws = any_ws
    add_worker(ws)
    polygon_job(ws, "shapes", task_type)
    n, body = export(ws, "shapes", "yolo-seg")
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert n == 2 and archive.testzip() is None
    assert sorted(archive.namelist()) == [
        "classes.txt",
        "images.txt",
        "labels/p_0.txt",
        "labels/p_1.txt",
    ]
    assert archive.read("classes.txt") == b"roof\ndoor\n"
    assert archive.read("images.txt").decode().splitlines() == [
        f"labels/p_{i}.txt\t{ws.settings.media_dir / f'shapes{i}.png'}" for i in range(2)
    ]
    assert archive.read("labels/p_1.txt") == b""  # a background image
    text = archive.read("labels/p_0.txt").decode()
    assert text.endswith("\n")
    lines = text.splitlines()
    label = labels_json(ws, "shapes")[0]
    assert len(lines) == len(label["annotations"]) == 2
    for line, ann, drawn in zip(lines, label["annotations"], (TRIANGLE, SQUARE), strict=True):
        class_id, coords = fields(line)
        assert class_id == ann["class_id"]
        assert len(coords) == 2 * len(ann["vertices"])
        for k, v in enumerate(ann["vertices"]):
            assert coords[2 * k] == round(float(v["x"]) / WIDTH, 6)
            assert coords[2 * k + 1] == round(float(v["y"]) / HEIGHT, 6)
        # The outline encloses what the worker drew (within a pixel).
        xs, ys = coords[0::2], coords[1::2]
        assert abs(min(xs) * WIDTH - min(v["x"] for v in drawn)) <= 1.01
        assert abs(max(xs) * WIDTH - max(v["x"] for v in drawn)) <= 1.01
        assert abs(min(ys) * HEIGHT - min(v["y"] for v in drawn)) <= 1.01
        assert abs(max(ys) * HEIGHT - max(v["y"] for v in drawn)) <= 1.01
    assert [fields(x)[0] for x in lines] == [0, 1]  # roof, door


def test_an_instance_painted_as_a_png_is_exported_as_its_outline(ws):
    add_worker(ws)
    image = write_image(ws.settings.media_dir / "inst.png", WIDTH, HEIGHT)
    job_over_items(
        ws, "inst", [{"id": "i", "source-ref": image}], ["car"], task_type="instance-segmentation"
    )
    mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    mask[5:15, 8:28] = 1
    answer = {
        "labeledImage": {"pngImageData": rgb_png_b64(paint(mask, {1: "#ff0000"}))},
        "instances": [{"color": "#ff0000", "label": "car"}],
        "inputImageProperties": {"width": WIDTH, "height": HEIGHT},
    }
    answer_tasks(ws, "inst", "w", lambda _i: answer)
    _, body = export(ws, "inst", "yolo-seg")
    (line,) = zipfile.ZipFile(io.BytesIO(body)).read("labels/i.txt").decode().splitlines()
    class_id, coords = fields(line)
    xs = [x * WIDTH for x in coords[0::2]]
    ys = [y * HEIGHT for y in coords[1::2]]
    assert class_id == 0 and len(coords) >= 8
    # The painted rectangle's pixels span x 8..27, y 5..14: its outline lies on them.
    assert 7 <= min(xs) <= 8.5 and 27 <= max(xs) <= 28.5
    assert 4 <= min(ys) <= 5.5 and 14 <= max(ys) <= 15.5


def test_coordinates_are_clamped_and_other_jobs_refused(ws):
    assert polygon_line(
        3, [{"x": -0.4, "y": 10}, {"x": 40.2, "y": 30}, {"x": 20, "y": 0}], 40, 30
    ) == ("3 0.000000 0.333333 1.000000 1.000000 0.500000 0.000000")
    add_worker(ws)
    job_over_items(
        ws,
        "boxes",
        [{"id": "b", "source-ref": str(ws.settings.media_dir / "b.png")}],
        ["x"],
        task_type="bounding-box",
    )
    with pytest.raises(BadInput, match="yolo-seg format is for polygon, instance-segmentation"):
        export(ws, "boxes", "yolo-seg")
    polygon_job_empty = job_over_items(
        ws,
        "nothing",
        [{"id": "n", "source-ref": str(ws.settings.media_dir / "n.png")}],
        ["x"],
        task_type="polygon",
    )
    with pytest.raises(BadInput, match="job 'nothing' has nothing to export as YOLO segmentation"):
        export(ws, polygon_job_empty, "yolo-seg")
    for fmt, name in (("yolo", "YOLO"), ("voc", "Pascal VOC")):
        with pytest.raises(
            BadInput, match=f"job 'boxes' has nothing to export as {name}: none of its 1 items"
        ):
            export(ws, "boxes", fmt)
