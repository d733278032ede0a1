"""The point cloud task types through the real work engine: answers checked field by
field, several workers consolidated against known truth, Ground Truth's outputs, and
adjustment jobs over earlier labels, truthset's and Ground Truth's (issue 14)."""

from __future__ import annotations

import base64
import json
import uuid
import zlib
from array import array

import numpy as np
import pytest

from pointcloud_scenes import CAR, PERSON, moving_scene, scene, write_bin
from truthset.errors import BadInput
from truthset.geometry import cuboids as C
from truthset.media.point_clouds import clear_cache
from truthset.tasktypes._cuboid_answers import encode_labels
from truthset.tasktypes.base import WorkerAnswer
from truthset.tasktypes.point_cloud_tracking import expanded
from truthset.tasktypes.registry import get_task_type

LABELS_2020 = {
    "documentVersion": "2020-03-01",
    "labels": [
        {
            "label": "Car",
            "categoryAttributes": [
                {"name": "Occlusion", "type": "string", "enum": ["None", "Partial", "Full"]}
            ],
        },
        {"label": "Person"},
    ],
    "frameAttributes": [
        {"name": "Weather", "type": "string", "enum": ["Sunny", "Rain"], "description": "sky"}
    ],
}

DETECTION = get_task_type("point-cloud-object-detection")
TRACKING = get_task_type("point-cloud-object-tracking")
SEGMENTATION = get_task_type("point-cloud-semantic-segmentation")


def obj(label, c, number=1, **extra):
    return {"label": label, "number": number, **C.to_json(c), **extra}


def frame_item(path, **meta):
    return {"source-ref": str(path), "source-ref-metadata": {"unix-timestamp": 1.5, **meta}}


@pytest.fixture(autouse=True)
def _fresh():
    clear_cache()


def test_detection_answer_is_checked():
    config = DETECTION.parse_label_config(LABELS_2020)
    item = frame_item("/x/f.bin")
    good = {
        "cuboids": [obj("Car", CAR, **{"label-category-attributes": {"Occlusion": "Partial"}})],
        "frame-attributes": {"Weather": "Rain"},
    }
    out = DETECTION.validate_answer(good, config, item)
    assert out["cuboids"][0]["yaw"] == pytest.approx(CAR[8])
    turned = obj("Car", CAR)
    turned["yaw"] = 7.0
    assert DETECTION.validate_answer({"cuboids": [turned]}, config, item)["cuboids"][0][
        "yaw"
    ] == pytest.approx(7.0 - 2 * np.pi)
    for answer, message in [
        ({"cuboids": [{**obj("Car", CAR), "length": 0}]}, r"answer\.cuboids\[0\]\.length: 0 must"),
        ({"cuboids": [{**obj("Car", CAR), "yaw": "x"}]}, r"cuboids\[0\]\.yaw: 'x' is not a number"),
        ({"cuboids": [obj("Truck", CAR)]}, r"cuboids\[0\]\.label: 'Truck'"),
        ({"cuboids": [obj("Car", CAR), obj("Car", CAR)]}, r"cuboids\[1\]\.number: Car:1 is also"),
        (
            {"cuboids": [obj("Car", CAR, **{"label-category-attributes": {"Occlusion": "x"}})]},
            r"cuboids\[0\]\.label-category-attributes\.Occlusion",
        ),
        ({"cuboids": [], "frame-attributes": {"Weather": "Snow"}}, r"frame-attributes\.Weather"),
        ({"cuboids": [{**obj("Car", CAR), "colour": 1}]}, r"cuboids\[0\]\.colour"),
        ({"boxes": []}, r"answer\.boxes: not a field"),
    ]:
        with pytest.raises(BadInput, match=message):
            DETECTION.validate_answer(answer, config, item)
    with pytest.raises(BadInput, match="item: source-ref-metadata: required"):
        DETECTION.validate_answer(good, config, {"source-ref": "/x/f.bin"})
    with pytest.raises(BadInput, match="annotationType"):
        DETECTION.parse_label_config({**LABELS_2020, "annotationType": "Polygon"})


def gt_zip(engine, job_name):
    """The job's groundtruth-zip export: the archive and its manifest lines."""
    import io
    import zipfile

    from sqlalchemy import select

    from truthset.exports.gt_archive import export_groundtruth_zip
    from truthset.store.models import Job

    out: list[bytes] = []
    with engine.ws.db.session_scope() as s:
        job = s.scalar(select(Job).where(Job.name == job_name))
        export_groundtruth_zip(s, job, lambda chunks: out.extend(chunks), now=1.0e9)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(out)))
    lines = [json.loads(x) for x in archive.read("output.manifest").decode().splitlines()]
    return archive, lines


def _noisy(c, rng):
    out = np.asarray(c, dtype=float).copy()
    out[:3] += rng.normal(0, 0.08, 3)
    out[8] += rng.normal(0, 0.03)
    return out


def test_detection_job_consolidates_and_exports(engine):
    truth = scene(seed=1)
    write_bin(engine.media / "frame.bin", truth.points)
    engine.dataset("frames", [frame_item(engine.media / "frame.bin")])
    engine.job(
        "det", "point-cloud-object-detection", LABELS_2020, dataset="frames", workers_per_item=3
    )
    rng = np.random.default_rng(3)

    def answer(worker, item):
        return {
            "cuboids": [
                obj(
                    "Car",
                    _noisy(CAR, rng),
                    4,
                    **{
                        "label-category-attributes": {
                            "Occlusion": ["None", "Partial", "Partial"][worker]
                        }
                    },
                ),
                obj("Person", _noisy(PERSON, rng)),
            ],
            "frame-attributes": {"Weather": "Sunny"},
        }

    engine.work("det", answer)
    (line,) = engine.export("det")
    value, meta = line["det"], line["det-metadata"]
    assert meta["type"] == "groundtruth/point_cloud_object_detection"
    assert meta["class_map"] == {"0": "Car", "1": "Person"}
    assert meta["dataset-object-attributes"] == {"Weather": "Sunny"}
    car = next(a for a in value["annotations"] if a["class-id"] == 0)
    assert car["object-name"] == "Car:4"
    assert car["label-category-attributes"] == {"Occlusion": "Partial"}
    assert set(car) >= {
        "center-x",
        "center-y",
        "center-z",
        "length",
        "width",
        "height",
        "roll",
        "pitch",
        "yaw",
    }
    assert C.iou_3d(C.from_json(car), CAR) > 0.7
    assert all(0.5 < o["confidence"] <= 1 for o in meta["objects"])
    # The label turned back into an answer validates and keeps its cuboids.
    config = DETECTION.parse_label_config(LABELS_2020)
    again = DETECTION.validate_answer(
        DETECTION.initial_answer(value, meta, config), config, frame_item("/x")
    )
    assert [(c["label"], c["number"]) for c in again["cuboids"]] == [("Car", 4), ("Person", 1)]
    assert again["frame-attributes"] == {"Weather": "Sunny"}


def test_one_worker_gets_its_skill_or_the_prior():
    config = DETECTION.parse_label_config(["Car"])
    answer = {"cuboids": [obj("Car", CAR)]}
    fitted = DETECTION.consolidate([WorkerAnswer(1, answer)], config, {})
    assert fitted.confidence == 0.5 and fitted.meta["objects"] == [{"confidence": 0.5}]
    skilled = DETECTION.consolidate([WorkerAnswer(1, answer, weight=0.9)], config, {})
    assert skilled.confidence == 0.9


def test_ground_truth_detection_label_is_read_back():
    """Ground Truth's own output (class_map, object-name, attributes) as an adjustment
    job's starting answer."""
    config = DETECTION.parse_label_config(LABELS_2020)
    gt_value = {
        "annotations": [
            {
                "label-category-attributes": {"Occlusion": "Partial"},
                "object-name": "Car:1",
                "class-id": 0,
                "center-x": -2.61,
                "center-y": 125.04,
                "center-z": 0.31,
                "length": 2.99,
                "width": 1.83,
                "height": 1.32,
                "roll": 0,
                "pitch": 0,
                "yaw": 1.64,
            }
        ]
    }
    answer = DETECTION.initial_answer(gt_value, {"class_map": {"0": "Car"}}, config)
    (cuboid,) = DETECTION.validate_answer(answer, config, frame_item("/x"))["cuboids"]
    assert cuboid["label"] == "Car" and cuboid["center-y"] == 125.04
    assert cuboid["label-category-attributes"] == {"Occlusion": "Partial"}


def _sequence(engine, frames):
    scenes, truths = moving_scene(frames)
    for f, s in enumerate(scenes):
        write_bin(engine.media / f"f{f:03d}.bin", s.points)
    document = {
        "seq-no": 1,
        "prefix": str(engine.media) + "/",
        "number-of-frames": frames,
        "frames": [
            {
                "frame-no": f,
                "frame": f"f{f:03d}.bin",
                "unix-timestamp": 0.1 * f,
                "format": "binary/xyzi",
            }
            for f in range(frames)
        ],
    }
    (engine.media / "seq.json").write_text(json.dumps(document))
    return truths


def test_tracking_job_writes_seqlabel(engine):
    frames = 12
    truths = _sequence(engine, frames)
    engine.dataset("seqs", [{"source-ref": str(engine.media / "seq.json")}])
    engine.job(
        "trk-ref",
        "point-cloud-object-tracking",
        LABELS_2020,
        dataset="seqs",
        workers_per_item=2,
        label_attribute="trk-ref",
    )
    car_id = str(uuid.uuid4())

    def answer(worker, item):
        last = frames - 1
        return {
            "number-of-frames": frames,
            "tracks": [
                {
                    "object-id": car_id if worker == 0 else str(uuid.uuid4()),
                    "label": "Car",
                    "number": 1,
                    "label-category-attributes": {"Occlusion": "None"},
                    "keyframes": [
                        {"frame": 0, "cuboid": C.to_json(truths[0][0])},
                        {"frame": last, "cuboid": C.to_json(truths[last][0])},
                    ],
                },
                {
                    "object-id": str(uuid.uuid4()),
                    "label": "Person",
                    "number": 1,
                    "keyframes": [
                        {"frame": 0, "cuboid": C.to_json(truths[0][1])},
                        {"frame": 5, "cuboid": C.to_json(truths[5][1])},
                        {"frame": 6, "outside": True},
                    ],
                },
            ],
            "frame-attributes": {"3": {"Weather": "Rain"}},
        }

    engine.work("trk-ref", answer, workers=["w0", "w1"])
    (label,) = engine.labels("trk-ref")
    document, meta = label["value"], label["meta"]
    entries = document["tracking-annotations"]
    assert [e["frame-number"] for e in entries] == list(range(frames))
    assert entries[2]["frame-name"] == "f002.bin"
    assert entries[3]["frame-attributes"] == {"Weather": "Rain"}
    for f, entry in enumerate(entries):
        names = sorted(a["object-name"] for a in entry["annotations"])
        assert names == (["Car:1", "Person:1"] if f <= 5 else ["Car:1"])
        car = next(a for a in entry["annotations"] if a["object-name"] == "Car:1")
        # Linear between the two keyframes: the true car moves linearly too.
        assert C.iou_3d(C.from_json(car), truths[f][0]) > 0.95
        assert car["object-id"] == car_id and car["label-category-attributes"] == {
            "Occlusion": "None"
        }
    assert meta["objects"][0]["frame-no"] == 0 and len(meta["objects"][0]["confidence"]) == 2
    assert {t["object-name"] for t in meta["tracks"]} == {"Car:1", "Person:1"}
    (line,) = engine.export("trk-ref")
    assert line["trk-ref-metadata"]["type"] == "groundtruth/point_cloud_object_tracking"
    # The label-file rule: SeqLabel.json beside the manifest, the -ref pointing at it.
    archive, (zipped,) = gt_zip(engine, "trk-ref")
    assert zipped["trk-ref"] == "trk-ref/annotations/consolidated-annotation/output/0/SeqLabel.json"
    assert json.loads(archive.read(zipped["trk-ref"])) == document
    config = TRACKING.parse_label_config(LABELS_2020)
    # Back into an answer: it validates against the same sequence and expands the same.
    item = {"source-ref": str(engine.media / "seq.json")}
    again = TRACKING.validate_answer(TRACKING.initial_answer(document, meta, config), config, item)
    person = next(t for t in again["tracks"] if t["label"] == "Person")
    assert [shape.frame for shape in expanded(person)] == list(range(6))
    # Ground Truth's file behind a -ref URI reads the same.
    path = engine.media / "SeqLabel.json"
    path.write_text(json.dumps(document))
    from_file = TRACKING.initial_answer(str(path), meta, config)
    assert from_file["tracks"] == TRACKING.initial_answer(document, meta, config)["tracks"]


def test_tracking_answer_errors(engine):
    _sequence(engine, 4)
    config = TRACKING.parse_label_config(["Car"])
    item = {"source-ref": str(engine.media / "seq.json")}
    track = {
        "object-id": "a",
        "label": "Car",
        "number": 1,
        "keyframes": [{"frame": 0, "cuboid": C.to_json(CAR)}],
    }
    for answer, message in [
        ({"number-of-frames": 5, "tracks": []}, "differs from the sequence's 4 frames"),
        (
            {
                "number-of-frames": 4,
                "tracks": [{**track, "keyframes": [{"frame": 4, "cuboid": C.to_json(CAR)}]}],
            },
            r"keyframes\[0\]\.frame: 4 is not a frame",
        ),
        (
            {
                "number-of-frames": 4,
                "tracks": [{**track, "keyframes": [{"frame": 0, "outside": True}]}],
            },
            "first keyframe must place",
        ),
        (
            {"number-of-frames": 4, "tracks": [track, {**track, "number": 2}]},
            r"tracks\[1\]\.object-id: 'a' is also",
        ),
        (
            {
                "number-of-frames": 4,
                "tracks": [
                    {
                        **track,
                        "keyframes": [{"frame": 0, "cuboid": {**C.to_json(CAR), "height": -1}}],
                    }
                ],
            },
            r"keyframes\[0\]\.cuboid\.height",
        ),
    ]:
        with pytest.raises(BadInput, match=message):
            TRACKING.validate_answer(answer, config, item)


def test_segmentation_job_votes_points(engine):
    truth = scene(seed=4, ground_points=3000, per_object=300)
    write_bin(engine.media / "frame.bin", truth.points)
    engine.dataset("frames", [frame_item(engine.media / "frame.bin")])
    engine.job(
        "seg-ref",
        "point-cloud-semantic-segmentation",
        ["Car", "Van", "Person"],
        dataset="frames",
        workers_per_item=3,
        label_attribute="seg-ref",
    )
    rng = np.random.default_rng(0)

    def answer(worker, item):
        labels = truth.labels.copy()
        wrong = rng.random(len(labels)) < 0.1  # each worker errs on its own 10%
        labels[wrong] = rng.integers(0, 4, int(wrong.sum()))
        return {"point-count": len(labels), "labels": encode_labels(labels)}

    engine.work("seg-ref", answer)
    (label,) = engine.labels("seg-ref")
    voted = np.array(array("B", zlib.decompress(label["artifact"])), dtype=np.uint8)
    assert len(voted) == len(truth.points)
    assert (voted == truth.labels).mean() > 0.97
    cmap = label["meta"]["color-map"]
    assert cmap["0"]["class-name"] == "Background" and cmap["2"]["class-name"] == "Van"
    assert all(entry["hex-color"].startswith("#") for entry in cmap.values())
    assert 0.8 < label["confidence"] <= 1
    archive, (zipped,) = gt_zip(engine, "seg-ref")
    name = f"seg-ref/annotations/consolidated-annotation/output/0/{SEGMENTATION.label_file_name}"
    assert zipped["seg-ref"] == name
    assert zipped["seg-ref-metadata"]["type"] == (
        "groundtruth/point_cloud_single_frame_semantic_segmentation"
    )
    # Read as Ground Truth's guide reads it: array('B', zlib.decompress(...)).
    assert array("B", zlib.decompress(archive.read(name))).tolist() == voted.tolist()
    config = SEGMENTATION.parse_label_config(["Car", "Van", "Person"])
    item = frame_item(engine.media / "frame.bin")
    with pytest.raises(BadInput, match="differs from the frame's"):
        SEGMENTATION.validate_answer(
            {"point-count": 10, "labels": encode_labels(np.zeros(10))}, config, item
        )
    n = len(truth.points)
    with pytest.raises(BadInput, match=r"answer\.labels: .*labels for the frame's"):
        SEGMENTATION.validate_answer(
            {"point-count": n, "labels": encode_labels(np.zeros(n - 1))}, config, item
        )
    with pytest.raises(BadInput, match="has class 4"):
        SEGMENTATION.validate_answer(
            {"point-count": n, "labels": encode_labels(np.full(n, 4))}, config, item
        )
    with pytest.raises(BadInput, match="not base64"):
        SEGMENTATION.validate_answer({"point-count": n, "labels": "%%%"}, config, item)
    # Ground Truth's file (an imported label) as an adjustment job's starting answer.
    path = engine.media / "gt.zlib"
    path.write_bytes(zlib.compress(truth.labels.tobytes()))
    start = SEGMENTATION.initial_answer(str(path), {}, config)
    assert start["point-count"] == n
    assert base64.b64decode(start["labels"]) == zlib.compress(truth.labels.tobytes())
    assert SEGMENTATION.agreement(start, start, config) == 1.0


def test_adjustment_job_starts_from_the_label(engine):
    """An adjustment job's next body hands the viewer the earlier label as an answer, and a
    prediction in Ground Truth's SeqLabel shape comes as tracks."""
    from truthset.tasktypes.predictions import predicted_answer

    truth = scene(seed=1)
    write_bin(engine.media / "frame.bin", truth.points)
    engine.dataset("frames", [frame_item(engine.media / "frame.bin")])
    engine.job(
        "first",
        "point-cloud-object-detection",
        ["Car", "Person"],
        dataset="frames",
        workers_per_item=1,
    )
    engine.work("first", lambda w, i: {"cuboids": [obj("Car", CAR, 3)]}, workers=["w0"])
    from sqlalchemy import select

    from truthset.jobs.views import label_for_tool
    from truthset.store.models import Job

    with engine.ws.db.session_scope() as s:
        job = s.scalar(select(Job).where(Job.name == "first"))
        from sqlalchemy import text

        item_id = s.execute(
            text("SELECT item_id FROM tasks WHERE job_id = :j"), {"j": job.id}
        ).scalar()
        prior = label_for_tool(s, job.id, item_id)
    assert prior is not None
    (cuboid,) = prior["value"]["cuboids"]
    assert (cuboid["label"], cuboid["number"]) == ("Car", 3)
    config = TRACKING.parse_label_config(["Car"])
    seqlabel = {
        "tracking-annotations": [
            {
                "frame-number": 0,
                "frame-name": "a.bin",
                "annotations": [
                    {"class-id": 0, "object-name": "Car:2", "object-id": "x", **C.to_json(CAR)}
                ],
            }
        ]
    }
    predicted = predicted_answer(TRACKING, seqlabel, {}, config)
    assert predicted["tracks"][0]["object-id"] == "x" and predicted["tracks"][0]["number"] == 2


def test_agreement_scores_cuboids_and_tracks():
    config = DETECTION.parse_label_config(["Car", "Person"])
    answer = {"cuboids": [obj("Car", CAR), obj("Person", PERSON)]}
    assert DETECTION.agreement(answer, answer, config) == pytest.approx(1.0)
    moved = CAR.copy()
    moved[0] += 0.5
    half = DETECTION.agreement({"cuboids": [obj("Car", moved)]}, answer, config)
    # One cuboid against two, matched with its IoU (above the 0.5 a match needs).
    assert C.iou_3d(moved, CAR) > 0.5
    assert half == pytest.approx(C.iou_3d(moved, CAR) / 1.5, abs=1e-6)
    assert DETECTION.agreement({"cuboids": []}, {"cuboids": []}, config) == 1.0
    track = {
        "object-id": "a",
        "label": "Car",
        "number": 1,
        "keyframes": [
            {"frame": 0, "cuboid": C.to_json(CAR)},
            {"frame": 4, "cuboid": C.to_json(CAR)},
        ],
    }
    ref = {"number-of-frames": 5, "tracks": [track]}
    assert TRACKING.agreement(ref, ref, config) == pytest.approx(1.0)
    other = {**track, "label": "Person"}
    assert TRACKING.agreement({"number-of-frames": 5, "tracks": [other]}, ref, config) == 0.0


def test_adjustment_over_an_imported_ground_truth_job(engine):
    """Ground Truth's 3D detection output (the developer guide's example line, with
    class_map) imported with its labels; an adjustment job chained on it hands the worker
    those cuboids and writes its own label beside them."""
    from sqlalchemy import select

    from truthset.datasets.importer import import_source
    from truthset.jobs.views import label_for_tool
    from truthset.store.models import Job

    write_bin(engine.media / "frame.bin", scene(seed=1).points)
    line = {
        "source-ref": str(engine.media / "frame.bin"),
        "source-ref-metadata": {"format": "binary/xyzi", "unix-timestamp": 1566861644.759115},
        "3d-bounding-box": {
            "annotations": [
                {
                    "label-category-attributes": {"Occlusion": "Partial"},
                    "object-name": "Car:1",
                    "class-id": 0,
                    **C.to_json(CAR),
                }
            ]
        },
        "3d-bounding-box-metadata": {
            "objects": [],
            "class_map": {"0": "Car"},
            "type": "groundtruth/point_cloud_object_detection",
            "human-annotated": "yes",
            "creation-date": "2020-05-25T02:28:49.045212",
            "job-name": "identify-3d-objects",
        },
    }
    manifest = engine.media / "gt.manifest"
    manifest.write_text(json.dumps(line) + "\n")
    with engine.ws.db.session_scope() as s:
        result = import_source(
            s,
            "gt",
            str(manifest),
            allowed_roots=engine.ws.allowed_roots,
            label_configs={"3d-bounding-box": LABELS_2020},
        )
    imported = result.labels["3d-bounding-box"]["job"]
    engine.job(
        "adjust",
        "point-cloud-object-detection",
        LABELS_2020,
        input_job=imported,
        label_attribute="adjusted",
        settings={"adjustment": True},
        workers_per_item=1,
    )
    with engine.ws.db.session_scope() as s:
        job = s.scalar(select(Job).where(Job.name == imported))
        from sqlalchemy import text

        item_id = s.execute(text("SELECT id FROM items")).scalar()
        prior = label_for_tool(s, job.id, item_id)
    assert prior is not None
    (cuboid,) = prior["value"]["cuboids"]
    assert cuboid["label-category-attributes"] == {"Occlusion": "Partial"}

    def moved(worker, item):
        answer = json.loads(json.dumps(prior["value"]))
        answer["cuboids"][0]["center-x"] += 0.2
        answer["initialValueModified"] = True
        return answer

    engine.work("adjust", moved, workers=["w0"])
    (out,) = engine.export("adjust")
    assert out["3d-bounding-box"]["annotations"][0]["center-x"] == pytest.approx(CAR[0])
    assert out["adjusted"]["annotations"][0]["center-x"] == pytest.approx(CAR[0] + 0.2)
    assert out["adjusted-metadata"]["adjustment-status"] == "adjusted"


def test_ground_truths_3d_output_imports_with_its_class_names_alone(engine):
    """No label category file given: the class names come from the line's class_map (as
    Ground Truth's 3D detection output spells it), and a class id outside it is refused
    naming the annotation."""
    from truthset.datasets.importer import import_source
    from truthset.errors import BadInput

    write_bin(engine.media / "frame2.bin", scene(seed=2).points)

    def line(class_id: int) -> dict:
        return {
            "source-ref": str(engine.media / "frame2.bin"),
            "source-ref-metadata": {"format": "binary/xyzi"},
            "cars": {
                "annotations": [{"object-name": "Van:1", "class-id": class_id, **C.to_json(CAR)}]
            },
            "cars-metadata": {
                "objects": [],
                "class_map": {"0": "Car", "1": "Van"},
                "type": "groundtruth/point_cloud_object_detection",
                "human-annotated": "yes",
                "creation-date": "2020-05-25T02:28:49.045212",
                "job-name": "identify-3d-objects",
            },
        }

    manifest = engine.media / "gt3d.manifest"
    manifest.write_text(json.dumps(line(1)) + "\n")
    with engine.ws.db.session_scope() as s:
        result = import_source(s, "gt3d", str(manifest), allowed_roots=engine.ws.allowed_roots)
    assert result.labels["cars"]["labels"] == 1
    (row,) = engine.labels(result.labels["cars"]["job"])
    assert row["value"]["annotations"][0]["class-id"] == 1
    bad = engine.media / "gt3d-bad.manifest"
    bad.write_text(json.dumps(line(7)) + "\n")
    with (
        engine.ws.db.session_scope() as s,
        pytest.raises(BadInput, match=r"class id 7 is not in the class-map"),
    ):
        import_source(s, "gt3d-bad", str(bad), allowed_roots=engine.ws.allowed_roots)
