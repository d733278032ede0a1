"""Video frame object detection and tracking: config, answers, SeqLabel labels, adjustment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from truthset.errors import BadInput
from truthset.geometry.tracks import expand_track
from truthset.media.info import clear_caches
from truthset.media.sequences import clear_cache
from truthset.tasktypes import WorkerAnswer, get_task_type
from truthset.tasktypes.predictions import predicted_answer

TRACKING = get_task_type("video-object-tracking")
DETECTION = get_task_type("video-object-detection")
WIDTH, HEIGHT = 160, 120


def config_2020(annotation_type: str | None = None, **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "documentVersion": "2020-03-01",
        "labels": [
            {
                "label": "car",
                "categoryAttributes": [
                    {"name": "occluded", "type": "string", "enum": ["no", "yes"]}
                ],
            },
            {"label": "bus"},
        ],
        "frameAttributes": [
            {"name": "weather", "description": "the sky", "type": "string", "enum": ["sun", "rain"]}
        ],
    }
    if annotation_type:
        raw["annotationType"] = annotation_type
    raw.update(extra)
    return raw


CONFIG = TRACKING.parse_label_config(config_2020())


def write_sequence(folder: Path, n: int = 10, *, frame_no_as_text: bool = False) -> str:
    clear_cache()
    clear_caches()
    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    for i in range(n):
        name = f"frame_{i:04d}.jpg"
        Image.new("RGB", (WIDTH, HEIGHT), (10 * i, 50, 90)).save(folder / name)
        frames.append({"frame-no": str(i) if frame_no_as_text else i, "frame": name})
    # Listed out of order: Ground Truth sorts by name.
    doc = {"seq-no": 1, "prefix": str(folder) + "/", "number-of-frames": n, "frames": frames[::-1]}
    path = folder / "seq.json"
    path.write_text(json.dumps(doc))
    return str(path)


@pytest.fixture
def item(tmp_path: Path) -> dict[str, Any]:
    return {"source-ref": write_sequence(tmp_path / "seq")}


def box(left, top, width=20, height=20):
    return {"left": left, "top": top, "width": width, "height": height}


def car(oid="c1", number=1, keyframes=None, **extra):
    return {
        "object-id": oid,
        "label": "car",
        "number": number,
        "keyframes": keyframes
        or [{"frame": 0, "box": box(0, 10)}, {"frame": 9, "box": box(90, 10)}],
        **extra,
    }


def answer(*tracks, n=10, **extra):
    return {"number-of-frames": n, "tracks": list(tracks), **extra}


def test_the_types_are_registered_with_their_label_file():
    assert TRACKING.media == DETECTION.media == "video-frames"
    assert TRACKING.ui_module == "tools/video.js"
    assert TRACKING.label_file_name == "SeqLabel.json"
    assert TRACKING.output_type == "groundtruth/video-object-tracking"
    assert DETECTION.output_type == "groundtruth/video-object-detection"


def test_label_configs():
    assert TRACKING.parse_label_config(["car"]).labels == ("car",)
    polygon = TRACKING.parse_label_config(config_2020("Polygon"))
    assert polygon.annotation_type == "Polygon"
    assert TRACKING.parse_label_config(
        {"labels": [{"label": "a"}], "annotationType": "BoundingBox"}
    )
    with pytest.raises(BadInput, match="annotationType: 'Polygon' needs the 2020 format"):
        TRACKING.parse_label_config({"labels": [{"label": "a"}], "annotationType": "Polygon"})
    with pytest.raises(BadInput, match="annotationType: 'Cuboid' is not one of"):
        TRACKING.parse_label_config(config_2020("Cuboid"))


def test_a_valid_answer_is_normalised_with_the_sequence_facts(item):
    given = answer(
        car(
            **{"label-category-attributes": {"occluded": "no"}},
            keyframes=[
                {"frame": 0, "box": box(0.0, 10)},
                {"frame": 5, "box": box(50, 10), "label-category-attributes": {"occluded": "yes"}},
                {"frame": 7, "outside": True},
            ],
        ),
        **{"frame-attributes": {"3": {"weather": "rain"}}},
    )
    out = TRACKING.validate_answer(given, CONFIG, item)
    assert out["tracks"][0]["keyframes"][0] == {"frame": 0, "box": box(0, 10)}
    assert out["frame-attributes"] == {"3": {"weather": "rain"}}
    assert out["sequence-frames"][0] == [0, "frame_0000.jpg"]
    assert len(out["sequence-frames"]) == 10
    assert out["frame-size"] == {"width": WIDTH, "height": HEIGHT}
    assert TRACKING.validate_answer(answer(), CONFIG, item)["tracks"] == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (answer(n=11), r"answer\.number-of-frames: 11 differs from the sequence's 10 frames"),
        (
            answer(car(keyframes=[{"frame": 0, "box": box(150, 10)}])),
            r"answer\.tracks\[0\]\.keyframes\[0\]\.box\.width: .*outside the frame",
        ),
        (
            answer(car(keyframes=[{"frame": 0, "box": box(1, 1, width=0)}])),
            r"keyframes\[0\]\.box\.width: 0 must be positive",
        ),
        (
            answer(car(keyframes=[{"frame": 3, "box": box(1, 1)}, {"frame": 3, "box": box(1, 1)}])),
            r"keyframes\[1\]\.frame: 3 does not come after",
        ),
        (
            answer(car(keyframes=[{"frame": 10, "box": box(1, 1)}])),
            r"keyframes\[0\]\.frame: 10 is not a frame of the sequence \(0 to 9\)",
        ),
        (
            answer(car(keyframes=[{"frame": 0, "outside": True}])),
            r"keyframes\[0\]: the first keyframe must place the object",
        ),
        (
            answer(car(keyframes=[{"frame": 0, "box": box(1, 1), "outside": True}])),
            r"keyframes\[0\]: a keyframe has either a 'box' or",
        ),
        (answer(car(), car(number=2)), r"answer\.tracks\[1\]\.object-id: 'c1' is also tracks\[0\]"),
        (answer(car(), car(oid="c2")), r"answer\.tracks\[1\]\.number: car:1 is also tracks\[0\]"),
        (
            answer({**car(), "label": "tram"}),
            r"answer\.tracks\[0\]\.label: 'tram' is not in the label list",
        ),
        (
            answer(car(**{"label-category-attributes": {"occluded": "maybe"}})),
            r"tracks\[0\]\.label-category-attributes\.occluded: 'maybe' is not one of",
        ),
        (
            answer(**{"frame-attributes": {"12": {"weather": "sun"}}}),
            r"answer\.frame-attributes\.12: not a frame of the sequence",
        ),
        (
            answer(**{"frame-attributes": {"x": {"weather": "sun"}}}),
            r"answer\.frame-attributes\.x: not a frame index",
        ),
        (answer(tracks=None), r"answer\.tracks: None is not a list"),
        ({"tracks": [], "number-of-frames": 10, "color": 1}, r"answer\.color: not a field"),
    ],
)
def test_bad_answers_name_the_field(item, bad, message):
    with pytest.raises(BadInput, match=message):
        TRACKING.validate_answer(bad, CONFIG, item)


def test_shapes_other_than_boxes(item):
    polygon = TRACKING.parse_label_config(config_2020("Polygon"))
    square = {"points": [[0, 0], [10, 0], [10, 10], [0, 10]]}
    ok = answer(car(keyframes=[{"frame": 0, "polygon": square}]))
    assert TRACKING.validate_answer(ok, polygon, item)["tracks"][0]["keyframes"][0]["polygon"]
    flat = answer(car(keyframes=[{"frame": 0, "polygon": {"points": [[0, 0], [5, 0], [9, 0]]}}]))
    with pytest.raises(BadInput, match=r"polygon\.points: the polygon has no area"):
        TRACKING.validate_answer(flat, polygon, item)
    with pytest.raises(BadInput, match=r"keyframes\[0\]\.box: not a keyframe field|keyframe field"):
        TRACKING.validate_answer(answer(car()), polygon, item)
    keypoint = TRACKING.parse_label_config(config_2020("Keypoint"))
    with pytest.raises(BadInput, match=r"keypoint\.x: 170 is outside the frame"):
        TRACKING.validate_answer(
            answer(car(keyframes=[{"frame": 0, "keypoint": {"x": 170, "y": 3}}])), keypoint, item
        )


def seqlabel_objects(value, key="tracking-annotations", list_key="annotations"):
    return {e["frame"]: e[list_key] for e in value[key]}


def test_one_worker_tracking_label_is_the_seqlabel_with_every_frame(item):
    content = TRACKING.validate_answer(
        answer(car(), **{"frame-attributes": {"2": {"weather": "sun"}}}), CONFIG, item
    )
    result = TRACKING.consolidate([WorkerAnswer(1, content, weight=1.0)], CONFIG, {})
    entries = result.value["tracking-annotations"]
    assert len(entries) == 10
    assert entries[0]["frame-no"] == 0 and entries[0]["frame"] == "frame_0000.jpg"
    assert entries[2]["frame-attributes"] == {"weather": "sun"}
    mid = entries[5]["annotations"][0]
    assert mid == {
        "height": 20,
        "width": 20,
        "top": 10,
        "left": 50,
        "class-id": "0",
        "label-category-attributes": {},
        "object-id": "c1",
        "object-name": "car:1",
    }
    # One worker of unknown skill: the prior, never 0.
    assert result.confidence == 0.5
    assert result.meta["class-map"] == {"0": "car"}
    assert result.meta["tracks"] == [{"object-id": "c1", "object-name": "car:1", "confidence": 0.5}]
    skilled = TRACKING.consolidate([WorkerAnswer(1, content, weight=0.8)], CONFIG, {})
    assert skilled.confidence == 0.8


def test_detection_writes_keyframes_only(item):
    content = DETECTION.validate_answer(answer(car()), CONFIG, item)
    result = DETECTION.consolidate([WorkerAnswer(1, content)], CONFIG, {})
    objects = seqlabel_objects(result.value, "detection-annotations")
    assert [name for name, objs in objects.items() if objs] == ["frame_0000.jpg", "frame_0009.jpg"]


def test_three_workers_make_one_track(item):
    contents = [
        TRACKING.validate_answer(
            answer(
                car(
                    oid=f"w{i}",
                    keyframes=[
                        {"frame": 0, "box": box(i, 10)},
                        {"frame": 9, "box": box(90 + i, 10)},
                    ],
                )
            ),
            CONFIG,
            item,
        )
        for i in range(3)
    ]
    result = TRACKING.consolidate(
        [WorkerAnswer(i, c, weight=1.0) for i, c in enumerate(contents)], CONFIG, {}
    )
    objects = seqlabel_objects(result.value)
    assert all(len(o) == 1 for o in objects.values())
    assert objects["frame_0000.jpg"][0]["left"] == 1
    assert 0.8 < result.confidence <= 1.0


def test_polygon_label_uses_vertices(item):
    polygon = TRACKING.parse_label_config(config_2020("Polygon"))
    square = {"points": [[0, 0], [10, 0], [10, 10], [0, 10]]}
    moved = {"points": [[20, 0], [30, 0], [30, 10], [20, 10]]}
    content = TRACKING.validate_answer(
        answer(car(keyframes=[{"frame": 0, "polygon": square}, {"frame": 2, "polygon": moved}])),
        polygon,
        item,
    )
    result = TRACKING.consolidate([WorkerAnswer(1, content)], polygon, {})
    entry = result.value["tracking-annotations"][1]
    assert entry["polygons"][0]["vertices"] == [
        {"x": 10, "y": 0},
        {"x": 20, "y": 0},
        {"x": 20, "y": 10},
        {"x": 10, "y": 10},
    ]


def expanded(content):
    return {
        t["object-id"]: [
            (s.frame, s.geometry, s.attributes)
            for s in expand_track(
                t["keyframes"],
                "box",
                interpolate=True,
                frames=content["number-of-frames"],
                track_attributes=t.get("label-category-attributes"),
            )
        ]
        for t in content["tracks"]
    }


def test_an_adjustment_job_starts_from_our_own_label(item):
    given = answer(
        car(
            keyframes=[
                {"frame": 0, "box": box(0, 10), "label-category-attributes": {"occluded": "no"}},
                {"frame": 4, "box": box(40, 10)},
                {"frame": 6, "outside": True},
                {"frame": 8, "box": box(80, 30)},
            ]
        ),
        **{"frame-attributes": {"1": {"weather": "rain"}}},
    )
    content = TRACKING.validate_answer(given, CONFIG, item)
    label = TRACKING.consolidate([WorkerAnswer(1, content)], CONFIG, {})
    initial = TRACKING.initial_answer(label.value, label.meta, CONFIG)
    assert initial["number-of-frames"] == 10
    assert initial["frame-attributes"] == {"1": {"weather": "rain"}}
    again = TRACKING.validate_answer(initial, CONFIG, item)
    assert expanded(again) == expanded(content)
    keyframes = again["tracks"][0]["keyframes"]
    # Frame 5 holds frame 4's box up to the outside keyframe, and frame 9 frame 8's box to
    # the end: the keyframes come back as they were given.
    assert [k["frame"] for k in keyframes] == [0, 4, 6, 8]
    assert keyframes[2] == {"frame": 6, "outside": True}


def test_a_tracked_object_stays_until_marked_outside_in_the_seqlabel(item):
    """CVAT's track rule, written out per frame as Ground Truth's SeqLabel.json lists them:
    a box is held after its last keyframe to the sequence's end, and up to the frame before
    an outside keyframe; detection holds nothing."""
    given = answer(
        car(keyframes=[{"frame": 3, "box": box(30, 10)}]),
        car(
            "c2",
            2,
            keyframes=[
                {"frame": 1, "box": box(10, 50)},
                {"frame": 4, "outside": True},
                {"frame": 7, "box": box(70, 50)},
                {"frame": 8, "outside": True},
            ],
        ),
    )

    def frames_of(task_type, name):
        content = task_type.validate_answer(given, CONFIG, item)
        label = task_type.consolidate([WorkerAnswer(1, content)], CONFIG, {})
        entries = label.value[task_type.seq_key]
        return [
            i for i, e in enumerate(entries) for o in e["annotations"] if o["object-name"] == name
        ], label

    held, label = frames_of(TRACKING, "car:1")
    assert held == [3, 4, 5, 6, 7, 8, 9]
    entries = label.value["tracking-annotations"]
    assert {(o["left"], o["top"]) for o in entries[9]["annotations"]} == {(30, 10)}
    assert frames_of(TRACKING, "car:2")[0] == [1, 2, 3, 7]
    assert frames_of(DETECTION, "car:1")[0] == [3]
    assert frames_of(DETECTION, "car:2")[0] == [1, 7]
    # Back to keyframes for an adjustment job: the same, outside keyframes included.
    initial = TRACKING.initial_answer(label.value, label.meta, CONFIG)
    by_id = {t["object-id"]: t["keyframes"] for t in initial["tracks"]}
    assert [k["frame"] for k in by_id["c1"]] == [3]
    assert by_id["c2"] == [
        {"frame": 1, "box": box(10, 50)},
        {"frame": 4, "outside": True},
        {"frame": 7, "box": box(70, 50)},
        {"frame": 8, "outside": True},
    ]


def test_an_adjustment_job_reads_ground_truths_seqlabel_by_its_uri(tmp_path, item):
    doc = {
        "tracking-annotations": [
            {
                "annotations": [
                    {
                        "height": 20,
                        "width": 20,
                        "top": 10,
                        "left": 10 * i,
                        "class-id": "1",
                        "label-category-attributes": {},
                        "object-id": "480dc450",
                        "object-name": "bus:1",
                    }
                ],
                "frame-no": str(i),
                "frame": f"frame_{i:04d}.jpg",
            }
            for i in range(3, 8)
        ]
    }
    path = tmp_path / "out" / "0" / "SeqLabel.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc))
    meta = {"class-map": {"0": "car", "1": "bus"}, "type": "groundtruth/video-object-tracking"}
    initial = TRACKING.initial_answer(str(path), meta, CONFIG)
    (track,) = initial["tracks"]
    assert track["label"] == "bus" and track["number"] == 1 and track["object-id"] == "480dc450"
    assert [k["frame"] for k in track["keyframes"]] == [3, 7]
    initial["number-of-frames"] = 10  # the tool takes the count from the sequence
    assert TRACKING.validate_answer(initial, CONFIG, item)["tracks"][0]["keyframes"][1] == {
        "frame": 7,
        "box": box(70, 10),
    }


def test_a_seqlabel_prediction_becomes_an_answer(item):
    content = TRACKING.validate_answer(answer(car()), CONFIG, item)
    label = TRACKING.consolidate([WorkerAnswer(1, content)], CONFIG, {})
    predicted = predicted_answer(TRACKING, label.value, {}, CONFIG)
    assert [k["frame"] for k in predicted["tracks"][0]["keyframes"]] == [0, 9]
    # The answer shape passes as it is.
    assert predicted_answer(TRACKING, answer(car()), {}, CONFIG) == answer(car())


def test_agreement(item):
    a = TRACKING.validate_answer(answer(car()), CONFIG, item)
    far = TRACKING.validate_answer(
        answer(
            car(keyframes=[{"frame": 0, "box": box(100, 90)}, {"frame": 9, "box": box(130, 90)}])
        ),
        CONFIG,
        item,
    )
    assert TRACKING.agreement(a, a, CONFIG) == pytest.approx(1.0)
    assert TRACKING.agreement(a, far, CONFIG) == 0.0
    assert TRACKING.agreement(answer(), answer(), CONFIG) == 1.0


def test_a_tracking_job_and_its_adjustment_through_the_work_engine(engine):
    from sqlalchemy import select

    from truthset.jobs.views import label_for_tool
    from truthset.store.models import Item, Job

    ref = write_sequence(engine.media / "clip")
    engine.dataset("clips", [{"id": "clip-1", "source-ref": ref}])
    engine.job(
        "track", "video-object-tracking", config_2020(), dataset="clips", label_attribute="cars-ref"
    )
    engine.work("track", lambda w, item: answer(car()), workers=["w0"])
    (row,) = engine.labels("track")
    entries = row["value"]["tracking-annotations"]
    assert len(entries) == 10 and entries[9]["annotations"][0]["left"] == 90
    assert row["confidence"] == 0.5
    engine.job(
        "adjust",
        "video-object-tracking",
        config_2020(),
        input_job="track",
        label_attribute="adjusted-ref",
        settings={"adjustment": True},
    )
    with engine.ws.db.session_scope() as s:
        job = s.scalar(select(Job).where(Job.name == "track"))
        item = s.scalar(select(Item))
        assert job is not None and item is not None
        prior = label_for_tool(s, job.id, item.id)
    assert prior is not None
    # The tool starts from keyframes, not from the per-frame document.
    (track,) = prior["value"]["tracks"]
    assert [k["frame"] for k in track["keyframes"]] == [0, 9]

    def moved(w, item):
        adjusted = answer(car(keyframes=[{"frame": 0, "box": box(5, 10)}]))
        adjusted["initialValueModified"] = True
        return adjusted

    engine.work("adjust", moved, workers=["w1"])
    (line,) = engine.export("adjust")
    meta = line["adjusted-ref-metadata"]
    assert meta["adjustment-status"] == "adjusted"
    assert meta["type"] == "groundtruth/video-object-tracking"
    assert meta["tracks"][0]["object-name"] == "car:1"


def test_a_video_job_over_images_is_refused_naming_the_item(engine):
    ref = engine.image("still.png", 40, 30)
    engine.dataset("stills", [{"id": "still-1", "source-ref": ref}])
    with pytest.raises(BadInput, match=r"work on frame sequence files .* 'still-1' .* is an image"):
        engine.job("t", "video-object-tracking", ["car"], dataset="stills", label_attribute="t-ref")


def test_a_sequence_on_s3_and_a_ground_truth_seqlabel_read_by_its_s3_uri():
    import io
    import os
    import uuid

    from conftest import require
    from truthset.media.storage import s3_client

    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    clear_cache()
    clear_caches()
    bucket = f"v-{uuid.uuid4().hex[:10]}"
    s3 = s3_client()
    s3.create_bucket(Bucket=bucket)
    frames = []
    for i in range(4):
        out = io.BytesIO()
        Image.new("RGB", (WIDTH, HEIGHT), (5, 5, 5)).save(out, format="JPEG")
        s3.put_object(Bucket=bucket, Key=f"clip/f{i}.jpg", Body=out.getvalue())
        frames.append({"frame-no": i, "frame": f"f{i}.jpg"})
    doc = {"prefix": f"s3://{bucket}/clip/", "frames": frames}
    s3.put_object(Bucket=bucket, Key="clip/seq.json", Body=json.dumps(doc).encode())
    item = {"source-ref": f"s3://{bucket}/clip/seq.json"}
    with pytest.raises(BadInput, match=r"keyframes\[1\]\.frame: 9 is not a frame .* \(0 to 3\)"):
        TRACKING.validate_answer(answer(car(), n=4), CONFIG, item)
    good = answer(
        car(keyframes=[{"frame": 0, "box": box(0, 10)}, {"frame": 3, "box": box(30, 10)}]), n=4
    )
    content = TRACKING.validate_answer(good, CONFIG, item)
    assert content["frame-size"] == {"width": WIDTH, "height": HEIGHT}
    label = TRACKING.consolidate([WorkerAnswer(1, content)], CONFIG, {})
    s3.put_object(
        Bucket=bucket, Key="out/job/0/SeqLabel.json", Body=json.dumps(label.value).encode()
    )
    meta = {"class-map": {"0": "car"}}  # Ground Truth's: no `tracks`, frames by frame-no
    initial = TRACKING.initial_answer(f"s3://{bucket}/out/job/0/SeqLabel.json", meta, CONFIG)
    assert [k["frame"] for k in initial["tracks"][0]["keyframes"]] == [0, 3]
    assert initial["number-of-frames"] == 4


def test_per_label_agreement_of_two_workers_tracks(item):
    from truthset.quality.label_agreement import per_label_pairwise_agreement

    bus = {**car(oid="b1"), "label": "bus"}
    a = TRACKING.validate_answer(answer(car(), bus), CONFIG, item)
    b = TRACKING.validate_answer(answer(car(oid="x")), CONFIG, item)
    got = per_label_pairwise_agreement([[a, b]], TRACKING.agreement, CONFIG)
    assert got == {"car": 1.0, "bus": 0.0}


def test_answers_stored_without_the_sequence_frames_still_consolidate(item):
    content = TRACKING.validate_answer(answer(car()), CONFIG, item)
    del content["sequence-frames"]
    result = TRACKING.consolidate([WorkerAnswer(1, content)], CONFIG, {})
    entries = result.value["tracking-annotations"]
    assert [e["frame"] for e in entries[:2]] == ["0", "1"] and len(entries) == 10
    assert entries[9]["annotations"][0]["left"] == 90


@pytest.mark.parametrize(
    ("annotation_type", "shape", "geometry", "list_key", "written"),
    [
        (
            "Polyline",
            "polyline",
            {"points": [[1, 2], [30, 40]]},
            "polylines",
            {"vertices": [{"x": 1, "y": 2}, {"x": 30, "y": 40}]},
        ),
        ("Keypoint", "keypoint", {"x": 7, "y": 8.5}, "keypoints", {"x": 7, "y": 8.5}),
    ],
)
def test_polylines_and_keypoints_in_the_seqlabel(
    item, annotation_type, shape, geometry, list_key, written
):
    config = DETECTION.parse_label_config(config_2020(annotation_type))
    content = DETECTION.validate_answer(
        answer(car(keyframes=[{"frame": 4, shape: geometry}])), config, item
    )
    label = DETECTION.consolidate([WorkerAnswer(1, content)], config, {})
    (obj,) = label.value["detection-annotations"][4][list_key]
    assert {k: obj[k] for k in written} == written
    assert obj["object-name"] == "car:1"
    back = DETECTION.initial_answer(label.value, label.meta, config)
    assert back["tracks"][0]["keyframes"] == [{"frame": 4, shape: geometry}]
