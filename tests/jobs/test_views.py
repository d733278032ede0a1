"""Browsing a job's labels: filters apply before paging, on both stores."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from truthset.jobs.service import get_job
from truthset.jobs.views import list_labels
from truthset.store.models import User
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task


def test_label_filter_pages_through_matching_labels(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=10, n_workers=1)
    setup.job("j", workers_per_item=1, label_config=["pos", "neg_50%"])
    for i in range(10):
        with any_ws.db.session_scope() as s:
            job = get_job(s, "j")
            user = s.scalar(select(User).where(User.name == "w00"))
            t = lease_next_task(s, job, user)
            submit_answer(s, t.assignment_id, user, {"label": "neg_50%" if i % 3 else "pos"})
    with any_ws.db.session_scope(write=False) as s:
        job = get_job(s, "j")
        first = list_labels(s, job, offset=0, limit=4, label="neg_50%")
        rest = list_labels(s, job, offset=4, limit=4, label="neg_50%")
        pos = list_labels(s, job, offset=0, limit=100, label="pos")
        none = list_labels(s, job, offset=0, limit=100, label="neg")
    assert len(first) == 4 and len(rest) == 2
    assert {x["meta"]["class-name"] for x in first + rest} == {"neg_50%"}
    assert [x["item"] for x in pos] == ["item-00000", "item-00003", "item-00006", "item-00009"]
    assert none == []


def test_prelabeling_report_compares_time_with_and_without_predictions(ws, client):
    from support import Setup, bearer, write_manifest
    from truthset.datasets.importer import import_source

    setup = Setup(ws, n_items=0, n_workers=1)
    rows = [
        {"id": f"p{i}", "source": f"text {i}", "j-prediction": {"label": "pos"}} for i in range(4)
    ] + [{"id": f"n{i}", "source": f"plain {i}"} for i in range(2)]
    manifest = write_manifest(ws.settings.media_dir / "pre.manifest", rows)
    with ws.db.session_scope() as s:
        import_source(s, "pre", str(manifest), allowed_roots=ws.allowed_roots)
    setup.job("j", dataset="pre", workers_per_item=1)
    # Predicted items: 3 of 4 kept as predicted, answered fast; plain items slower.
    answers = {"p0": "pos", "p1": "pos", "p2": "neg", "p3": "pos", "n0": "pos", "n1": "neg"}
    times = {"p0": 2.0, "p1": 3.0, "p2": 9.0, "p3": 4.0, "n0": 10.0, "n1": 12.0}
    for _ in range(6):
        with ws.db.session_scope() as s:
            job = get_job(s, "j")
            user = s.scalar(select(User).where(User.name == "w00"))
            t = lease_next_task(s, job, user)
            item = t.item_external_id
            submit_answer(
                s, t.assignment_id, user, {"label": answers[item]}, time_spent=times[item]
            )
    r = client.get("/api/jobs/j/prelabeling", headers=bearer(setup.admin_token))
    assert r.status_code == 200
    assert r.json() == {
        "with_prediction": {
            "answers": 4,
            "mean_time": 4.5,
            "median_time": 3.5,
            "kept_unchanged": 3,
            "kept_unchanged_share": 0.75,
        },
        "without_prediction": {"answers": 2, "mean_time": 11.0, "median_time": 11.0},
        "median_time_saved": 7.5,
    }
    worker = bearer(setup.worker_tokens["w00"])
    assert client.get("/api/jobs/j/prelabeling", headers=worker).status_code == 403


# -- Ground Truth-shaped predictions -----------------------------------------------------------

IMAGE_SIZE = [{"width": 64, "height": 48, "depth": 3}]
SIZE_PROPS = {"width": 64, "height": 48}
SQUARE = [{"x": 10, "y": 10}, {"x": 30, "y": 10}, {"x": 30, "y": 30}, {"x": 10, "y": 30}]
TRIANGLE = [{"x": 5, "y": 5}, {"x": 40, "y": 5}, {"x": 20, "y": 40}]
NER_TEXT = "Alice met Bob in Paris"

# task type, its labels, what the items are, the prediction in Ground Truth's output shape
# and its metadata, the answer the tool starts from (a worker who keeps it sends it back),
# and a corrected answer.
GT_SHAPED = {
    "image-classification": (
        ["cat", "dog"],
        "image",
        1,
        {"class-name": "dog", "confidence": 0.8},
        {"label": "dog"},
        {"label": "cat"},
    ),
    "text-classification": (
        ["pos", "neg"],
        "text",
        1,
        None,  # no metadata: the class id is the job's label order, as in Ground Truth
        {"label": "neg"},
        {"label": "pos"},
    ),
    "audio-classification": (
        ["speech", "music"],
        "audio",
        0,
        {"class-name": "speech"},
        {"label": "speech"},
        {"label": "music"},
    ),
    "image-classification-multilabel": (
        ["cat", "dog", "bird"],
        "image",
        [2, 0],
        {"class-map": {"0": "cat", "2": "bird"}, "confidence-map": {"0": 0.9, "2": 0.7}},
        {"labels": ["bird", "cat"]},
        {"labels": ["dog"]},
    ),
    "text-classification-multilabel": (
        ["sports", "politics", "weather"],
        "text",
        [1],
        None,
        {"labels": ["politics"]},
        {"labels": ["politics", "weather"]},
    ),
    "bounding-box": (
        ["car", "dog"],
        "image",
        {
            "image_size": IMAGE_SIZE,
            "annotations": [{"class_id": 5, "left": 10, "top": 5, "width": 20, "height": 10}],
        },
        {"objects": [{"confidence": 0.9}], "class-map": {"5": "dog"}},
        {
            "boundingBoxes": [{"label": "dog", "left": 10, "top": 5, "width": 20, "height": 10}],
            "inputImageProperties": SIZE_PROPS,
        },
        {
            "boundingBoxes": [{"label": "dog", "left": 12, "top": 5, "width": 20, "height": 10}],
            "inputImageProperties": SIZE_PROPS,
        },
    ),
    "polygon": (
        ["roof", "door"],
        "image",
        {"image_size": IMAGE_SIZE, "annotations": [{"class_id": 0, "vertices": SQUARE}]},
        {"objects": [{"confidence": 0.6}], "class-map": {"0": "roof"}},
        {"polygons": [{"label": "roof", "vertices": SQUARE}], "inputImageProperties": SIZE_PROPS},
        {"polygons": [{"label": "door", "vertices": SQUARE}], "inputImageProperties": SIZE_PROPS},
    ),
    "instance-segmentation": (
        ["car", "person"],
        "image",
        {"image_size": IMAGE_SIZE, "annotations": [{"class_id": 1, "vertices": TRIANGLE}]},
        None,
        {
            "polygons": [{"label": "person", "vertices": TRIANGLE}],
            "inputImageProperties": SIZE_PROPS,
        },
        {"polygons": [{"label": "car", "vertices": TRIANGLE}], "inputImageProperties": SIZE_PROPS},
    ),
    "polyline": (
        ["lane"],
        "image",
        {"image_size": IMAGE_SIZE, "annotations": [{"class_id": 0, "vertices": TRIANGLE[:2]}]},
        {"class-map": {"0": "lane"}},
        {
            "polylines": [{"label": "lane", "vertices": TRIANGLE[:2]}],
            "inputImageProperties": SIZE_PROPS,
        },
        {
            "polylines": [{"label": "lane", "vertices": SQUARE[:2]}],
            "inputImageProperties": SIZE_PROPS,
        },
    ),
    "keypoint": (
        ["eye", "nose"],
        "image",
        {"image_size": IMAGE_SIZE, "annotations": [{"class_id": 1, "x": 20, "y": 25}]},
        {"class-map": {"1": "nose"}},
        {"keypoints": [{"label": "nose", "x": 20, "y": 25}], "inputImageProperties": SIZE_PROPS},
        {"keypoints": [{"label": "nose", "x": 21, "y": 25}], "inputImageProperties": SIZE_PROPS},
    ),
    "named-entity-recognition": (
        ["PER", "LOC"],
        "text",
        {
            "annotations": {
                "labels": [{"label": "PER"}, {"label": "LOC"}],
                "entities": [
                    {"label": "PER", "startOffset": 0, "endOffset": 5},
                    {"label": "LOC", "startOffset": 17, "endOffset": 22},
                ],
            }
        },
        {"entities": [{"confidence": 0.7}, {"confidence": 0.9}]},
        {
            "entities": [
                {"label": "PER", "startOffset": 0, "endOffset": 5},
                {"label": "LOC", "startOffset": 17, "endOffset": 22},
            ]
        },
        {"entities": [{"label": "PER", "startOffset": 0, "endOffset": 5}]},
    ),
    "audio-transcription": (
        [],
        "audio",
        "hello there",
        {"confidence": 0.5},
        {"transcription": "hello there"},
        {"transcription": "hello here"},
    ),
}


def _media_items(ws, media: str, n: int) -> list[dict]:
    """`n` items of the kind a task type takes: inline text, PNG images, WAV files."""
    import wave

    from PIL import Image

    folder = ws.settings.media_dir / "media"
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(n):
        if media == "text":
            items.append({"source": NER_TEXT if i == 0 else f"{NER_TEXT}, again {i}"})
            continue
        if media == "image":
            path = folder / f"img{i}.png"
            Image.new("RGB", (64, 48), (i * 40, 90, 200)).save(path)
        else:
            path = folder / f"clip{i}.wav"
            with wave.open(str(path), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(8000)
                w.writeframes(b"\0\0" * 800)
        items.append({"source-ref": str(path)})
    return items


@pytest.mark.parametrize("task_type", sorted(GT_SHAPED))
def test_a_ground_truth_shaped_prediction_kept_as_is_counts_as_unchanged(ws, client, task_type):
    """A manifest's `<attr>-prediction` in Ground Truth's output shape (with its
    `-metadata`) reaches the tool as the answer it starts from, and a worker who sends that
    back counts as having kept it; a corrected answer does not."""
    from support import Setup, bearer, write_manifest
    from truthset.datasets.importer import import_source

    labels, media, value, meta, kept, corrected = GT_SHAPED[task_type]
    setup = Setup(ws, n_items=0, n_workers=1)
    rows = []
    for i, item in enumerate(_media_items(ws, media, 2)):
        row = {"id": f"p{i}", **item, "j-prediction": value}
        if meta is not None:
            row["j-prediction-metadata"] = meta
        rows.append(row)
    manifest = write_manifest(ws.settings.media_dir / "pre.manifest", rows)
    with ws.db.session_scope() as s:
        import_source(s, "pre", str(manifest), allowed_roots=ws.allowed_roots)
    setup.job("j", task_type=task_type, label_config=labels, dataset="pre", workers_per_item=1)
    worker = bearer(setup.worker_tokens["w00"])
    for answer in (kept, corrected):
        task = client.post("/api/jobs/j/next", headers=worker).json()
        assert task["prediction"] == kept
        done = client.post(
            f"/api/assignments/{task['assignment_id']}/submit",
            headers=worker,
            json={"answer": answer, "time_spent": 2.0},
        )
        assert done.status_code == 200, done.json()
    report = client.get("/api/jobs/j/prelabeling", headers=bearer(setup.admin_token)).json()
    assert report["with_prediction"]["answers"] == 2
    assert report["with_prediction"]["kept_unchanged"] == 1
    assert report["without_prediction"]["answers"] == 0


def _answer_all(ws, job_name, workers, label_of):
    """Every worker answers every task it is offered; `label_of(worker, item)`."""
    for name in workers:
        while True:
            with ws.db.session_scope() as s:
                job = get_job(s, job_name)
                user = s.scalar(select(User).where(User.name == name))
                t = lease_next_task(s, job, user, now=T0)
                if t is None:
                    break
                item = t.item_external_id
                submit_answer(
                    s,
                    t.assignment_id,
                    user,
                    {"label": label_of(name, item)},
                    time_spent=2.0,
                    now=T0 + 30 * int(item[-2:]),
                )


T0 = 1_800_000_000.0


def test_labels_page_walks_by_cursor_both_ways_with_filters(any_ws, setup_factory):
    from truthset.errors import BadInput
    from truthset.jobs.views import labels_page

    setup = setup_factory(any_ws, n_items=11, n_workers=2)
    setup.job("j", workers_per_item=2)
    # w01 disagrees on items 3 and 7; item 10 stays unanswered by w01 (only w00's lease).
    _answer_all(any_ws, "j", ["w00"], lambda w, item: "pos")
    _answer_all(any_ws, "j", ["w01"], lambda w, item: "neg" if item[-2:] in ("03", "07") else "pos")
    with any_ws.db.session_scope(write=False) as s:
        job = get_job(s, "j")
        seen, after, pages = [], None, 0
        while True:
            page = labels_page(s, job, limit=3, after=after)
            seen += [r["item"] for r in page["rows"]]
            pages += 1
            assert page["total"] == 11
            if page["after"] is None:
                break
            after = page["after"]
        assert seen == [f"item-{i:05d}" for i in range(11)] and pages == 4
        assert all(r["media_url"] is None for r in page["rows"])
        # Backwards from the last page's first row: the rows before it, in order.
        back = labels_page(s, job, limit=3, before=page["rows"][0]["task_id"])
        assert [r["item"] for r in back["rows"]] == ["item-00006", "item-00007", "item-00008"]
        assert back["before"] == back["rows"][0]["task_id"] and back["after"] is not None
        disputed = labels_page(s, job, limit=10, disputed=True)
        assert [r["item"] for r in disputed["rows"]] == ["item-00003", "item-00007"]
        assert disputed["total"] is None and disputed["after"] is None
        complete = labels_page(s, job, limit=50, status="complete")
        assert complete["total"] == len(complete["rows"]) == 11
        with pytest.raises(BadInput, match="after: job 'j' has no task 99999"):
            labels_page(s, job, limit=3, after=99999)


def test_worker_table_and_throughput_from_the_stored_counts(any_ws, setup_factory):
    from truthset.jobs.views import throughput, worker_table

    setup = setup_factory(any_ws, n_items=6, n_workers=2)
    setup.job("j", workers_per_item=2)
    _answer_all(any_ws, "j", ["w00"], lambda w, item: "pos")
    _answer_all(any_ws, "j", ["w01"], lambda w, item: "neg" if item.endswith("1") else "pos")
    with any_ws.db.session_scope(write=False) as s:
        job = get_job(s, "j")
        table = {r["worker"]: r for r in worker_table(s, job)}
        by_minute = throughput(s, job, bucket_seconds=60)
        by_90s = throughput(s, job, bucket_seconds=90)  # not whole minutes: read from answers
    assert table["w00"]["answers"] == table["w01"]["answers"] == 6
    assert table["w00"]["time_spent"] == 12.0 and table["w00"]["mean_time"] == 2.0
    # Item 1's tie (pos / neg) is consolidated one way: one of the two workers disagrees.
    assert sorted(r["agreement"] for r in table.values()) == [round(5 / 6, 4), 1.0]
    # Answers at T0 + 2 + 30 i: two per item, items 0-1 in one minute, 2-3 in the next...
    assert [(b["t"], b["answers"], b["mean_time"]) for b in by_minute] == [
        (int(T0 // 60) * 60 + 60 * k, 4, 2.0) for k in range(3)
    ]
    assert sum(b["answers"] for b in by_90s) == 12
