"""Video frame jobs' exports: Ground Truth's manifest with SeqLabel.json through the
label-file rule, MOT Challenge CSV read back with motmetrics' reader, COCO for video read
back with pycocotools; worked through the work engine on real sequence files."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from exports.mask_jobs import export
from support import answer_tasks, job_over_items
from truthset.cli.main import app
from truthset.media.sequences import clear_cache, sequence_document
from truthset.workforce.service import create_team, create_user

WIDTH, HEIGHT, FRAMES = 160, 120, 10
CONFIG = {
    "documentVersion": "2020-03-01",
    "labels": [
        {
            "label": "car",
            "categoryAttributes": [{"name": "occluded", "type": "string", "enum": ["no", "yes"]}],
        },
        {"label": "bus"},
    ],
}


def write_sequence(folder: Path, n: int = FRAMES) -> str:
    clear_cache()
    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    for i in range(n):
        Image.new("RGB", (WIDTH, HEIGHT), (10 * i, 40, 80)).save(folder / f"f{i:03d}.jpg")
        frames.append({"frame-no": str(i + 1), "frame": f"f{i:03d}.jpg"})
    path = folder / "seq.json"
    path.write_text(json.dumps(sequence_document(frames[::-1], prefix=str(folder) + "/")))
    return str(path)


def box(left, top, width=20, height=10):
    return {"left": left, "top": top, "width": width, "height": height}


def tracking_answer(shift: int = 0) -> dict:
    return {
        "number-of-frames": FRAMES,
        "tracks": [
            {
                "object-id": "car-uuid",
                "label": "car",
                "number": 1,
                "label-category-attributes": {"occluded": "no"},
                "keyframes": [
                    {"frame": 0, "box": box(0 + shift, 10)},
                    {"frame": 9, "box": box(90 + shift, 10)},
                ],
            },
            {
                "object-id": "bus-uuid",
                "label": "bus",
                "number": 1,
                "keyframes": [
                    {"frame": 2, "box": box(50, 60, 30, 20)},
                    {"frame": 5, "outside": True},
                ],
            },
        ],
    }


def make_job(ws, task_type="video-object-tracking", config=CONFIG, answer=tracking_answer):
    with ws.db.session_scope() as s:
        create_team(s, "t")
        create_user(s, "w", role="worker", teams=["t"])
    media = ws.settings.media_dir
    items = [
        {"id": "clip-a", "source-ref": write_sequence(media / "a")},
        {"id": "clip-b", "source-ref": write_sequence(media / "b")},
    ]
    job_over_items(ws, "cars", items, config, task_type=task_type, label_attribute="cars-ref")
    answer_tasks(ws, "cars", "w", lambda item: answer(0 if item == "clip-a" else 5))
    return media


def test_the_manifest_points_at_each_sequences_seqlabel(ws, tmp_path):
    make_job(ws)
    out = tmp_path / "out" / "output.manifest"
    result = CliRunner().invoke(
        app, ["export", "cars", "--out", str(out), "--data-dir", str(ws.settings.data_dir)]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    for pos, line in enumerate(lines):
        ref = Path(line["cars-ref"])
        assert (
            ref
            == tmp_path
            / "out"
            / "cars"
            / f"annotations/consolidated-annotation/output/{pos}/SeqLabel.json"
        )
        meta = line["cars-ref-metadata"]
        assert meta["type"] == "groundtruth/video-object-tracking"
        assert meta["class-map"] == {"0": "car", "1": "bus"}
        seqlabel = json.loads(ref.read_bytes())
        frames = seqlabel["tracking-annotations"]
        assert (
            len(frames) == FRAMES
            and frames[0]["frame"] == "f000.jpg"
            and frames[0]["frame-no"] == "1"
        )
        car = [o for o in frames[4]["annotations"] if o["object-name"] == "car:1"]
        assert (
            car
            and car[0]["left"] == pytest.approx(40 + 5 * pos)
            and car[0]["object-id"] == "car-uuid"
        )


def test_mot_read_back_with_motmetrics(ws):
    motmetrics = pytest.importorskip("motmetrics")
    make_job(ws)
    n, body = export(ws, "cars", "mot")
    assert n == 2
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert sorted(archive.namelist()) == ["clip-a.txt", "clip-b.txt", "sequences.csv", "tracks.csv"]
    text = archive.read("clip-a.txt").decode()
    lines = text.splitlines()
    # Frames from 1, coordinates from 1, sorted by frame then id; the bus's box is held from
    # its keyframe up to the frame before its outside keyframe (frames 3 to 5 here,
    # geometry/tracks.py); conf is each track's confidence (one worker: the skill prior, 0.5).
    assert lines[0] == "1,1,1,11,20,10,0.5,-1,-1,-1"
    assert lines[-1] == "10,1,91,11,20,10,0.5,-1,-1,-1"
    for frame in (3, 4, 5):
        assert f"{frame},2,51,61,30,20,0.5,-1,-1,-1" in lines
    assert not any(line.startswith(("2,2,", "6,2,")) for line in lines)
    df = motmetrics.io.loadtxt(io.StringIO(text), fmt="mot15-2D")
    assert len(df) == FRAMES + 3
    car = df.xs(1, level="Id")
    assert list(car.index) == list(range(1, FRAMES + 1))
    assert np.allclose(car["X"].to_numpy(), np.arange(0, 100, 10))  # back to 0-based pixels
    assert set(car["Width"]) == {20.0} and set(car["Height"]) == {10.0}
    bus = df.xs(2, level="Id")
    assert list(bus.index) == [3, 4, 5] and set(bus["Y"]) == {60.0}
    # The same boxes against themselves: every object matched, no switch (motmetrics'
    # accumulator with IoU distances computed here: its own IoU helper needs NumPy < 2).
    acc = motmetrics.MOTAccumulator(auto_id=True)
    for _frame, rows in df.groupby(level="FrameId"):
        ids = list(rows.index.get_level_values("Id"))
        acc.update(ids, ids, np.where(np.eye(len(ids)) > 0, 0.0, np.nan))
    summary = motmetrics.metrics.create().compute(acc, metrics=["mota", "num_switches"], name="a")
    assert summary["mota"]["a"] == 1.0 and summary["num_switches"]["a"] == 0
    tracks = archive.read("tracks.csv").decode().splitlines()
    assert tracks[0] == "sequence,id,object-id,object-name,label"
    assert "clip-a,1,car-uuid,car:1,car" in tracks and "clip-b,2,bus-uuid,bus:1,bus" in tracks
    assert archive.read("sequences.csv").decode().splitlines()[1].startswith("clip-a,clip-a.txt,")


def test_coco_video_read_back_with_pycocotools(ws, tmp_path):
    from pycocotools.coco import COCO

    media = make_job(ws)
    n, body = export(ws, "cars", "coco-video")
    assert n == 2
    doc = json.loads(body)
    path = tmp_path / "coco.json"
    path.write_bytes(body)
    coco = COCO(str(path))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["car", "bus"]
    assert [v["name"] for v in doc["videos"]] == ["clip-a", "clip-b"]
    assert doc["videos"][0]["width"] == WIDTH and doc["videos"][0]["length"] == FRAMES
    assert len(coco.getImgIds()) == 2 * FRAMES
    first = coco.loadImgs(coco.getImgIds())[0]
    assert first["file_name"] == str(media / "a" / "f000.jpg") and first["frame_id"] == 0
    assert first["frame-no"] == "1" and first["width"] == WIDTH
    cars = coco.loadAnns(coco.getAnnIds(catIds=[1]))
    assert len(cars) == 2 * FRAMES
    assert {a["track_id"] for a in cars} == {1, 3}  # ids unique in the document
    frame4 = [a for a in cars if a["video_id"] == 2 and coco.imgs[a["image_id"]]["frame_id"] == 4]
    assert frame4[0]["bbox"] == [45, 10, 20, 10] and frame4[0]["area"] == 200
    assert frame4[0]["attributes"] == {"occluded": "no"} and frame4[0]["object-id"] == "car-uuid"
    buses = coco.loadAnns(coco.getAnnIds(catIds=[2]))
    # Frames 2 to 4 (0-based) of each sequence: held up to the outside keyframe.
    assert len(buses) == 6 and {a["video_id"] for a in buses} == {1, 2}


def test_coco_video_of_polygons(ws):
    from pycocotools import mask as mask_utils

    def polygon_answer(shift):
        square = [[10 + shift, 10], [40 + shift, 10], [40 + shift, 30], [10 + shift, 30]]
        return {
            "number-of-frames": FRAMES,
            "tracks": [
                {
                    "object-id": "p1",
                    "label": "car",
                    "number": 1,
                    "keyframes": [
                        {"frame": 0, "polygon": {"points": square}},
                        {"frame": 3, "outside": True},
                    ],
                }
            ],
        }

    make_job(ws, config={**CONFIG, "annotationType": "Polygon"}, answer=polygon_answer)
    _n, body = export(ws, "cars", "coco-video")
    doc = json.loads(body)
    [first, *_] = doc["annotations"]
    assert first["segmentation"] == [[10, 10, 40, 10, 40, 30, 10, 30]] and first["area"] == 600
    assert first["bbox"] == [10, 10, 30, 20]
    rle = mask_utils.frPyObjects(first["segmentation"], HEIGHT, WIDTH)
    assert int(mask_utils.area(mask_utils.merge(rle))) == pytest.approx(600, rel=0.1)
    assert len(doc["annotations"]) == 6  # frames 0 to 2 of each sequence (then outside)
    from exports.mask_jobs import export as run_export
    from truthset.errors import BadInput

    with pytest.raises(BadInput, match="the mot format is for boxes"):
        run_export(ws, "cars", "mot")


def test_the_formats_refuse_other_jobs(ws):
    from truthset.errors import BadInput

    with ws.db.session_scope() as s:
        create_team(s, "t")
    job_over_items(ws, "texts", [{"source": "x"}], ["a", "b"], teams=("t",))
    for fmt in ("mot", "coco-video"):
        with pytest.raises(BadInput, match=f"the {fmt} format is for video-object-detection"):
            export(ws, "texts", fmt)


def imported_tracking(ws, tmp_path, s3_bucket: str | None = None) -> tuple[str, list[Path]]:
    """A Ground Truth video-object-tracking output manifest imported: each line's `-ref`
    names a SeqLabel.json outside truthset (where Ground Truth wrote it: a local folder, or
    `s3_bucket` on S3 with a local copy returned)."""
    from truthset.datasets.importer import import_source
    from truthset.store.models import Job

    media = ws.settings.media_dir
    lines, refs = [], []
    for key in ("clip-a", "clip-b"):
        source = write_sequence(media / key)
        ref = tmp_path / "gt-out" / key / "SeqLabel.json"
        ref.parent.mkdir(parents=True, exist_ok=True)
        car = {**box(10, 20), "class-id": 0, "object-id": f"{key}-car", "object-name": "car:1"}
        frames = [
            {"frame-no": str(i + 1), "frame": f"f{i:03d}.jpg", "annotations": [car]}
            for i in range(FRAMES)
        ]
        ref.write_text(json.dumps({"tracking-annotations": frames}))
        refs.append(ref)
        location = str(ref)
        if s3_bucket is not None:
            from truthset.media.storage import s3_client

            s3_client().put_object(
                Bucket=s3_bucket, Key=f"out/{key}/SeqLabel.json", Body=ref.read_bytes()
            )
            location = f"s3://{s3_bucket}/out/{key}/SeqLabel.json"
        lines.append(
            {
                "id": key,
                "source-ref": source,
                "cars-ref": location,
                "cars-ref-metadata": {
                    "class-map": {"0": "car", "1": "bus"},
                    "type": "groundtruth/video-object-tracking",
                    "job-name": "labeling-job/gt-cars",
                    "human-annotated": "yes",
                    "creation-date": "2020-10-18T22:18:13.527256",
                },
            }
        )
    manifest = media / "gt-cars.manifest"
    manifest.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with ws.db.session_scope() as s:
        import_source(s, "gt-cars", str(manifest), allowed_roots=ws.allowed_roots)
        job = s.query(Job).filter(Job.label_attribute == "cars-ref").one()
        return job.name, refs


def test_a_zip_download_copies_seqlabels_given_by_uri_and_a_folder_keeps_the_uri(ws, tmp_path):
    job, refs = imported_tracking(ws, tmp_path)
    _n, body = export(ws, job, "groundtruth-zip")
    archive = zipfile.ZipFile(io.BytesIO(body))
    lines = [json.loads(x) for x in archive.read("output.manifest").decode().splitlines()]
    assert len(lines) == 2
    for pos, (line, ref) in enumerate(zip(lines, refs, strict=True)):
        # Self-contained: the manifest points at a copy of the very file, inside the zip.
        inside = line["cars-ref"]
        assert inside == f"{job}/annotations/consolidated-annotation/output/{pos}/SeqLabel.json"
        assert archive.read(inside) == ref.read_bytes()
        assert line["cars-ref-metadata"]["creation-date"] == "2020-10-18T22:18:13.527256"
    # To a folder (or S3) the line is Ground Truth's: the URI where its SeqLabel is.
    _n, body = export(ws, job, "groundtruth")
    plain = [json.loads(x) for x in body.decode().splitlines()]
    assert [line["cars-ref"] for line in plain] == [str(r) for r in refs]


def test_a_zip_of_a_job_chained_on_imported_seqlabels_copies_the_earlier_ones(ws, tmp_path):
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job

    job, refs = imported_tracking(ws, tmp_path)
    with ws.db.session_scope() as s:
        create_team(s, "t")
        create_user(s, "w", role="worker", teams=["t"])
        create_job(
            s,
            JobCreate(
                name="fix-cars",
                task_type="video-object-tracking",
                label_config=CONFIG,
                input_job=job,
                teams=["t"],
                label_attribute="fixed-ref",
                settings={"adjustment": True},
            ),
        )
    answer_tasks(ws, "fix-cars", "w", lambda item: tracking_answer(0))
    _n, body = export(ws, "fix-cars", "groundtruth-zip")
    archive = zipfile.ZipFile(io.BytesIO(body))
    lines = [json.loads(x) for x in archive.read("output.manifest").decode().splitlines()]
    for pos, (line, ref) in enumerate(zip(lines, refs, strict=True)):
        assert archive.read(line["cars-ref"]) == ref.read_bytes()
        assert line["cars-ref"].startswith(f"{job}/")
        mine = json.loads(archive.read(line["fixed-ref"]))
        assert (
            line["fixed-ref"]
            == f"fix-cars/annotations/consolidated-annotation/output/{pos}/SeqLabel.json"
        )
        assert len(mine["tracking-annotations"]) == FRAMES


def test_a_zip_naming_a_seqlabel_that_is_gone_says_which(ws, tmp_path):
    from truthset.errors import BadInput

    job, refs = imported_tracking(ws, tmp_path)
    refs[1].unlink()
    with pytest.raises(BadInput, match="SeqLabel.json"):
        export(ws, job, "groundtruth-zip")


def test_a_zip_copies_seqlabels_from_s3(ws, tmp_path, bucket):
    job, refs = imported_tracking(ws, tmp_path, bucket)
    _n, body = export(ws, job, "groundtruth-zip")
    archive = zipfile.ZipFile(io.BytesIO(body))
    lines = [json.loads(x) for x in archive.read("output.manifest").decode().splitlines()]
    for pos, (line, ref) in enumerate(zip(lines, refs, strict=True)):
        assert line["cars-ref"] == (
            f"{job}/annotations/consolidated-annotation/output/{pos}/SeqLabel.json"
        )
        assert archive.read(line["cars-ref"]) == ref.read_bytes()
    _n, body = export(ws, job, "groundtruth")
    assert [json.loads(x)["cars-ref"] for x in body.decode().splitlines()] == [
        f"s3://{bucket}/out/{key}/SeqLabel.json" for key in ("clip-a", "clip-b")
    ]
