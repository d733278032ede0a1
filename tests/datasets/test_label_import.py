"""Ground Truth output manifests imported with their labels: every output type read as
labels of an imported job, items the same object from the input and the output manifest,
class ids never renumbered, and jobs chained on the imported labels by Ground Truth's
rules."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, text

from conftest import require
from support import job_over_items, write_manifest
from truthset.consensus.spatial import encode_label_png
from truthset.datasets.importer import import_source
from truthset.errors import BadInput
from truthset.exports.groundtruth import iter_output_lines
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import counters, create_job, get_job
from truthset.jobs.views import label_for_tool
from truthset.media.storage import s3_client
from truthset.store.models import Item, Job, Label, Task, User
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task
from truthset.workforce.service import create_user

DATE = "2020-10-18T22:18:13.527256"


def meta(kind: str, job: str = "labeling-job/gt-job", human: str = "yes", **extra: Any) -> dict:
    return {
        **extra,
        "type": f"groundtruth/{kind}",
        "job-name": job,
        "human-annotated": human,
        "creation-date": DATE,
    }


def classification_line(i: int, class_id: int, name: str, *, human: str = "yes") -> dict:
    return {
        "source-ref": f"s3://bucket/img/{i:03d}.jpg",
        "species": class_id,
        "species-metadata": meta(
            "image-classification", human=human, **{"class-name": name, "confidence": 0.8}
        ),
    }


def run_import(ws: Any, rows: list, *, dataset: str = "ds", name: str = "m", **kw: Any) -> dict:
    path = write_manifest(ws.settings.media_dir / f"{name}.manifest", rows)
    with ws.db.session_scope() as s:
        roots = [*ws.allowed_roots, "s3://bucket"]
        return import_source(s, dataset, str(path), allowed_roots=roots, **kw).as_dict()


def imported_job(ws: Any, attribute: str) -> dict:
    with ws.db.session_scope(write=False) as s:
        job = s.scalar(select(Job).where(Job.label_attribute == attribute))
        assert job is not None
        return {
            "name": job.name,
            "state": job.state,
            "task_type": job.task_type,
            "labels": [e["label"] for e in job.label_config["labels"]],
            "settings": job.settings,
            "counters": counters(s, job.id),
        }


def labels_of(ws: Any, job_name: str) -> dict[str, tuple]:
    with ws.db.session_scope(write=False) as s:
        job = get_job(s, job_name)
        rows = s.execute(
            select(Item.external_id, Task.status, Label.value, Label.meta, Label.human)
            .join(Task, Task.item_id == Item.id)
            .outerjoin(Label, Label.task_id == Task.id)
            .where(Task.job_id == job.id)
        ).all()
        return {r[0]: tuple(r[1:]) for r in rows}


# -- every output type ---------------------------------------------------------------------


def test_single_label_classification_keeps_ids_names_confidence_and_who_labeled(any_ws):
    rows = [
        classification_line(0, 1, "dog"),
        {**classification_line(1, 0, "cat", human="no"), "id": "x1"},
        {
            "source-ref": "s3://bucket/img/002.jpg",
            "species-metadata": meta("image-classification", **{"failure-reason": "ClientError"}),
        },
        {"source-ref": "s3://bucket/img/003.jpg"},
    ]
    result = run_import(any_ws, rows)
    assert result["added"] == 4
    assert result["labels"] == {
        "species": {"job": "gt-job", "task_type": "image-classification", "labels": 3}
    }
    job = imported_job(any_ws, "species")
    assert job["state"] == "completed"
    # Built from the lines' ids, in id order: nothing renumbered.
    assert job["labels"] == ["cat", "dog"]
    assert job["counters"] == {
        "total": 3,
        "human_labeled": 1,
        "machine_labeled": 1,
        "failed": 1,
        "unlabeled": 0,
    }
    assert job["settings"]["imported"]["job_names"] == ["labeling-job/gt-job"]
    with any_ws.db.session_scope(write=False) as s:
        label = s.scalar(select(Label).where(Label.method == "imported", Label.human.is_(True)))
        assert label.value == 1
        assert label.meta == {"class-name": "dog", "confidence": 0.8}
        assert label.confidence == 0.8
        assert label.created_at == pytest.approx(1603059493.527256)


@pytest.mark.parametrize(
    ("kind", "value", "extra", "task_type", "labels"),
    [
        (
            "image-classification-multilabel",
            [1, 0],
            {"class-map": {"1": "bicycle", "0": "person"}, "confidence-map": {"1": 0.9, "0": 0.7}},
            "image-classification-multilabel",
            ["person", "bicycle"],
        ),
        (
            "object-detection",
            {
                "image_size": [{"width": 500, "height": 400, "depth": 3}],
                "annotations": [
                    {"class_id": 0, "left": 111, "top": 134, "width": 61, "height": 128},
                    {"class_id": 1, "left": 161, "top": 250, "width": 30, "height": 30},
                ],
            },
            {
                "objects": [{"confidence": 0.8}, {"confidence": 0.9}],
                "class-map": {"0": "dog", "1": "bone"},
            },
            "bounding-box",
            ["dog", "bone"],
        ),
    ],
)
def test_image_output_types_become_labels(ws, kind, value, extra, task_type, labels):
    line = {"source-ref": "s3://bucket/a.jpg", "lab": value, "lab-metadata": meta(kind, **extra)}
    run_import(ws, [line])
    job = imported_job(ws, "lab")
    assert (job["task_type"], job["labels"]) == (task_type, labels)
    ((status, stored, stored_meta, human),) = labels_of(ws, job["name"]).values()
    assert (status, human) == ("complete", True)
    assert json.loads(stored) if isinstance(stored, str) else stored == value


def test_text_types_and_named_entities(ws):
    ner_value = {
        "annotations": {
            "labels": [{"label": "Date", "shortDisplayName": "dt"}, {"label": "Thing"}],
            "entities": [{"label": "Thing", "startOffset": 0, "endOffset": 6}],
        }
    }
    rows = [
        {
            "source": "Amazon SageMaker is a platform",
            "mood": "1",
            "mood-metadata": meta("text-classification", **{"class-name": "positive"}),
            "ner": ner_value,
            "ner-metadata": meta("text-span", entities=[{"confidence": 0.4}]),
        },
        {
            "source": "The food was bad",
            "mood": "0",
            "mood-metadata": meta("text-classification", **{"class-name": "negative"}),
            "topics": [0, 1],
            "topics-metadata": meta(
                "text-classification-multilabel", **{"class-map": {"0": "food", "1": "price"}}
            ),
        },
    ]
    result = run_import(ws, rows)
    assert set(result["labels"]) == {"mood", "ner", "topics"}
    assert imported_job(ws, "mood")["labels"] == ["negative", "positive"]
    ner = imported_job(ws, "ner")
    assert (ner["task_type"], ner["labels"]) == ("named-entity-recognition", ["Date", "Thing"])
    with ws.db.session_scope(write=False) as s:
        job = s.scalar(select(Job).where(Job.label_attribute == "ner"))
        assert job.label_config["labels"][0]["shortDisplayName"] == "dt"
        label = s.scalar(select(Label).where(Label.job_id == job.id))
        assert label.confidence == 0.4


def test_verification_and_adjustment_outputs_keep_their_own_keys(ws):
    boxes = {"annotations": [{"class_id": 0, "left": 1, "top": 2, "width": 3, "height": 4}]}
    line = {
        "source-ref": "s3://bucket/a.jpg",
        "adjusted": boxes,
        "adjusted-metadata": meta(
            "object-detection",
            objects=[{"confidence": 0.5}],
            **{"class-map": {"0": "bird"}, "adjustment-status": "adjusted"},
        ),
        "verify": "1",
        "verify-metadata": meta(
            "label-verification",
            **{"class-name": "bad", "confidence": 0.93, "worker-feedback": [{"comment": "wide"}]},
        ),
    }
    result = run_import(ws, [line], label_configs={"verify": ["good", "bad"]})
    assert set(result["labels"]) == {"adjusted", "verify"}
    with ws.db.session_scope(write=False) as s:
        adjusted = s.scalar(
            select(Label).join(Job, Job.id == Label.job_id).where(Job.label_attribute == "adjusted")
        )
        assert adjusted.meta["adjustment-status"] == "adjusted"
        verify = s.scalar(
            select(Label).join(Job, Job.id == Label.job_id).where(Job.label_attribute == "verify")
        )
        assert verify.meta["worker-feedback"] == [{"comment": "wide"}]


def test_a_prediction_in_ground_truth_shape_is_not_a_label(ws):
    line = {
        **classification_line(0, 1, "dog"),
        "species-prediction": 0,
        "species-prediction-metadata": meta("image-classification", **{"class-name": "cat"}),
    }
    result = run_import(ws, [line], label_configs={"species": ["cat", "dog"]})
    assert set(result["labels"]) == {"species"}
    with ws.db.session_scope(write=False) as s:
        assert s.scalar(select(Label.value)) == 1


def test_output_types_without_a_task_type_stay_in_the_lines_and_are_named(ws):
    line = {
        "source-ref": "s3://bucket/seq.json",
        "track-ref": "s3://bucket/out/SeqLabel.json",
        # An output type no task type writes (video tracking has one now: a made-up name
        # stays unwritten whatever types are added).
        "track-ref-metadata": meta("future-tracking", **{"class-map": {"0": "car"}}),
    }
    result = run_import(ws, [line])
    assert result["labels"] == {}
    assert "future-tracking" in result["skipped_attributes"]["track-ref"]
    with ws.db.session_scope(write=False) as s:
        assert json.loads(s.scalar(select(Item.data))) == line


@pytest.fixture
def bucket() -> str:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    name = f"b-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=name)
    return name


def segmentation_line(ref: str, mask_ref: str) -> dict:
    color_map = {
        "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0.8},
        "1": {"class-name": "cat", "hex-color": "#2ca02c", "confidence": 0.8},
    }
    return {
        "source-ref": ref,
        "cats-ref": mask_ref,
        "cats-ref-metadata": meta("semantic-segmentation", **{"internal-color-map": color_map}),
    }


def test_segmentation_masks_are_read_from_s3_and_from_a_local_root(ws, bucket):
    mask = np.zeros((4, 6), dtype=np.uint8)
    mask[1:3, 2:5] = 1
    png = encode_label_png(mask, ["#ffffff", "#2ca02c"])
    s3_client().put_object(Bucket=bucket, Key="out/0.png", Body=png)
    local = ws.settings.media_dir / "masks" / "1.png"
    local.parent.mkdir(parents=True)
    local.write_bytes(png)
    rows = [
        segmentation_line(f"s3://{bucket}/a.jpg", f"s3://{bucket}/out/0.png"),
        segmentation_line(f"s3://{bucket}/b.jpg", str(local)),
    ]
    path = write_manifest(ws.settings.media_dir / "seg.manifest", rows)
    with ws.db.session_scope() as s:
        import_source(s, "ds", str(path), allowed_roots=[*ws.allowed_roots, f"s3://{bucket}"])
    job = imported_job(ws, "cats-ref")
    assert (job["task_type"], job["labels"]) == ("semantic-segmentation", ["cat"])
    with ws.db.session_scope(write=False) as s:
        artifacts = s.scalars(select(Label.artifact)).all()
        assert [bytes(a) for a in artifacts] == [png, png]
        item_id = s.scalar(select(Item.id).order_by(Item.position))
        shown = label_for_tool(s, get_job(s, job["name"]).id, item_id)
        assert shown["value"]["labeledImage"]["pngImageData"]

    # A mask outside the allowed roots is refused, naming the line; nothing is written.
    bad = [segmentation_line(f"s3://{bucket}/c.jpg", "s3://elsewhere/0.png")]
    path = write_manifest(ws.settings.media_dir / "bad.manifest", bad)
    with (
        pytest.raises(BadInput, match="line 1: mask 's3://elsewhere/0.png'"),
        ws.db.session_scope() as s,
    ):
        import_source(s, "other", str(path), allowed_roots=[f"s3://{bucket}"])


# -- items are objects, not lines -----------------------------------------------------------


def test_input_then_output_manifest_gives_one_item_per_object_with_labels_merged(any_ws):
    inputs = [{"source-ref": f"s3://bucket/img/{i:03d}.jpg", "batch": "a"} for i in range(5)]
    outputs = [
        {**inputs[i], **classification_line(i, i % 2, ["cat", "dog"][i % 2])} for i in range(5)
    ]
    first = run_import(any_ws, inputs, name="in")
    second = run_import(any_ws, outputs, name="out")
    assert (first["added"], second["added"], second["merged"]) == (5, 0, 5)
    with any_ws.db.session_scope(write=False) as s:
        stored = [json.loads(d) for d in s.scalars(select(Item.data).order_by(Item.position))]
    assert stored == outputs
    assert imported_job(any_ws, "species")["counters"]["human_labeled"] == 5
    # The same lines again change nothing.
    again = run_import(any_ws, outputs, name="out2")
    assert (again["added"], again["merged"], again["duplicates"]) == (0, 0, 5)


def test_same_id_key_other_object_is_refused(ws):
    run_import(ws, [{"id": "k", "source": "one"}], name="a")
    with pytest.raises(BadInput) as info:
        run_import(ws, [{"id": "k", "source": "two"}], name="b")
    assert "already used by another item" in info.value.detail["errors"][0]["reason"]


def _task_counts(ws: Any) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """(the counts migration 0016 keeps, the tasks counted) per (job id, status)."""
    with ws.db.session_scope(write=False) as s:
        kept = s.execute(
            text(
                "SELECT job_id, status, sum(tasks) FROM job_task_counts "
                "GROUP BY job_id, status HAVING sum(tasks) <> 0"
            )
        ).all()
        real = s.execute(
            text("SELECT job_id, status, count(*) FROM tasks GROUP BY job_id, status")
        ).all()
    return {(j, st): n for j, st, n in kept}, {(j, st): n for j, st, n in real}


def _counting_triggers(ws: Any) -> set[str]:
    with ws.db.session_scope(write=False) as s:
        return set(s.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all())


def test_a_big_labeled_import_keeps_the_job_counts_and_the_counting_triggers(ws):
    """SQLite: the import counts the tasks of a batch's new labels itself, with the
    per-row triggers dropped for it; the counts must be those of the tasks, and the
    triggers back, after a good import and after a refused one."""
    triggers = _counting_triggers(ws)
    assert {"trg_job_tasks_ins", "trg_job_labels_ins"} <= triggers
    rows: list[dict[str, Any]] = []
    for i in range(5_003):  # two batches
        line = {**classification_line(i, i % 2, ["cat", "dog"][i % 2], human="yes"), "id": i}
        if i % 3 == 1:
            line["species-metadata"]["human-annotated"] = "no"
        if i % 1000 == 7:
            line = {"source-ref": line["source-ref"], "id": i}
            line["species-metadata"] = meta("image-classification", **{"failure-reason": "x"})
        rows.append(line)
    result = run_import(ws, rows)
    assert result["labels"]["species"]["labels"] == 5_003
    kept, real = _task_counts(ws)
    assert kept == real
    assert sorted(st for _j, st in real) == ["auto", "complete", "failed"]
    assert _counting_triggers(ws) == triggers
    # A later job's tasks are counted by the triggers again.
    before = sum(real.values())
    job_over_items(ws, "later", [{"source": f"text {i}"} for i in range(3)], ["a", "b"], teams=())
    kept, real = _task_counts(ws)
    assert kept == real and sum(real.values()) == before + 3
    # Refused in its second batch, after the first was written without the triggers.
    bad = [{**r, "source-ref": r["source-ref"] + ".b"} for r in rows[:5_001]]
    bad[-1] = {**classification_line(9_999, 0, "dog"), "id": "b"}
    with pytest.raises(BadInput):
        run_import(ws, bad, dataset="other", name="bad")
    assert _counting_triggers(ws) == triggers
    assert _task_counts(ws)[0] == kept


# -- class ids -------------------------------------------------------------------------------


def test_ids_that_disagree_with_the_label_file_are_an_error_naming_line_id_and_names(ws):
    rows = [classification_line(0, 0, "cat"), classification_line(1, 1, "cat")]
    with pytest.raises(BadInput) as info:
        run_import(ws, rows, label_configs={"species": ["cat", "dog"]})
    (error,) = info.value.detail["errors"]
    assert error["line"] == 2
    assert "class id 1 is 'cat' in this line but 'dog' in the label config" in error["reason"]
    with ws.db.session_scope(write=False) as s:
        assert s.scalar(select(Job.id)) is None
        assert s.scalar(select(Item.id)) is None


def test_lines_that_disagree_with_each_other_are_an_error(ws):
    rows = [
        classification_line(0, 0, "cat"),
        classification_line(1, 1, "dog"),
        classification_line(2, 0, "dog"),
    ]
    with pytest.raises(BadInput) as info:
        run_import(ws, rows)
    (error,) = info.value.detail["errors"]
    assert error["line"] == 3
    assert "class id 0 is 'dog' in this line but 'cat' on line 1" in error["reason"]


def test_a_refused_class_pair_refuses_every_line_with_it_in_every_batch(ws, monkeypatch):
    """The label config is judged once per label shape: the lines after the first that
    share a refused shape, in later batches too, are each refused with the same reason,
    and with skip_invalid the others import."""
    from truthset.datasets import checking

    monkeypatch.setattr(checking, "BATCH", 2)
    rows = [
        classification_line(0, 0, "cat"),
        classification_line(1, 0, "dog"),
        classification_line(2, 1, "dog"),
        classification_line(3, 0, "dog"),
        classification_line(4, 0, "cat"),
        classification_line(5, 0, "dog"),
    ]
    reason = "species: class id 0 is 'dog' in this line but 'cat' on line 1"
    with pytest.raises(BadInput) as info:
        run_import(ws, rows)
    # Refused: the batches after a bad line are not judged any more.
    assert info.value.detail["errors"] == [{"line": 2, "reason": reason}]
    report = ws.settings.data_dir / "bad.jsonl"
    result = run_import(ws, rows, skip_invalid=True, report_path=report)
    assert (result["added"], result["invalid"]) == (3, 3)
    assert result["errors"] == [{"line": n, "reason": reason} for n in (2, 4, 6)]
    assert result["labels"]["species"]["labels"] == 3
    assert imported_job(ws, "species")["labels"] == ["cat", "dog"]
    assert [json.loads(x)["line"] for x in report.read_text().splitlines()] == [2, 4, 6]


def test_creation_dates_read_as_their_utc_seconds():
    import datetime as dt

    from truthset.datasets.gt_labels import parse_creation_date

    for text_ in (
        "2018-10-18T22:18:13.527256",
        "2018-10-18T22:18:13",
        "2020-02-29T23:59:60.5Z",
        "1999-12-31T00:00:00.1",
        "2018-10-18T22:18:13.527256",  # again: from the cache of minutes
    ):
        day, time_ = text_.rstrip("Z").split("T")
        hours, minutes, seconds = time_.split(":")
        midnight = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp()
        whole, _, fraction = seconds.partition(".")
        expected = midnight + int(hours) * 3600 + int(minutes) * 60 + int(whole)
        expected += float("." + fraction) if fraction else 0.0
        assert parse_creation_date(text_) == expected, text_
    for bad in (
        "2018-10-18T22:18:61",
        "2018-02-30T22:18:13",
        "2018-10-18T24:00:00",
        "2018-10-18T22:18:13.",
        "2018-10-18T22:18:1",
        "2018-10-18T22:18:13ZZ",
        "2018-10-18T22:18:13 ",
        "2018-10-18",
        20181018,
    ):
        assert parse_creation_date(bad) is None, bad


def test_an_id_no_line_names_needs_the_label_file(ws):
    rows = [classification_line(0, 0, "cat"), classification_line(1, 2, "bird")]
    with pytest.raises(BadInput, match=r"no line names class id\(s\) 1; give the label category"):
        run_import(ws, rows)
    result = run_import(ws, rows, label_configs={"*": ["cat", "dog", "bird"]})
    assert imported_job(ws, "species")["labels"] == ["cat", "dog", "bird"]
    assert result["labels"]["species"]["labels"] == 2


def test_ids_out_of_label_file_order_survive_a_round_trip(ws):
    # Ground Truth's class ids need not follow the file's order of first use.
    names = ["cat", "dog", "bird", "fish"]
    rows = [classification_line(i, (3 * i + 1) % 4, names[(3 * i + 1) % 4]) for i in range(8)]
    run_import(ws, rows, label_configs={"species": names})
    with ws.db.session_scope(write=False) as s:
        lines = [
            json.loads(x)
            for x in iter_output_lines(s, get_job(s, imported_job(ws, "species")["name"]))
        ]
    assert lines == rows


# -- chaining on imported labels --------------------------------------------------------------


@pytest.fixture
def labeled(any_ws):
    """Ten images, six labeled by Ground Truth (one of them by its model)."""
    rows = [
        classification_line(i, i % 2, ["cat", "dog"][i % 2], human="no" if i == 5 else "yes")
        if i < 6
        else {"source-ref": f"s3://bucket/img/{i:03d}.jpg"}
        for i in range(10)
    ]
    run_import(any_ws, rows)
    with any_ws.db.session_scope() as s:
        create_user(s, "wa", role="worker", teams=["t"])
    return any_ws, rows


def lease_all(ws: Any, job: str, worker: str, answer: dict) -> list[tuple[str, Any]]:
    """Lease and answer every task; (item id, prior label shown) per task."""
    seen = []
    while True:
        with ws.db.session_scope() as s:
            user = s.scalar(select(User).where(User.name == worker))
            j = get_job(s, job)
            leased = lease_next_task(s, j, user)
            if leased is None:
                return seen
            prior = label_for_tool(s, j.input_job_id, leased.item_id) if j.input_job_id else None
            seen.append((leased.item_external_id, prior))
            submit_answer(s, leased.assignment_id, user, answer)


def test_job_on_the_same_attribute_works_only_the_unlabeled_lines(labeled):
    ws, rows = labeled
    with ws.db.session_scope() as s:
        create_job(
            s,
            JobCreate(
                name="more",
                task_type="image-classification",
                label_config=["cat", "dog"],
                dataset="ds",
                label_attribute="species",
                teams=["t"],
            ),
        )
        c = counters(s, get_job(s, "more").id)
    assert c == {"total": 10, "human_labeled": 5, "machine_labeled": 1, "failed": 0, "unlabeled": 4}
    assert len(lease_all(ws, "more", "wa", {"label": "cat"})) == 4
    with ws.db.session_scope(write=False) as s:
        job = get_job(s, "more")
        assert job.state == "completed"
        lines = [json.loads(x) for x in iter_output_lines(s, job)]
    # The imported labels are written as they came; the new ones as this job's.
    assert lines[:6] == rows[:6]
    assert all(line["species-metadata"]["job-name"] == "labeling-job/more" for line in lines[6:])


def test_a_label_config_that_renumbers_the_imported_classes_is_refused(labeled):
    ws, _ = labeled
    with (
        pytest.raises(BadInput, match="class id 0 is 'dog' here but 'cat' in the labels imported"),
        ws.db.session_scope() as s,
    ):
        create_job(
            s,
            JobCreate(
                name="renumbered",
                task_type="image-classification",
                label_config=["dog", "cat"],
                dataset="ds",
                label_attribute="species",
            ),
        )


def test_verification_over_imported_labels_by_audit_attribute_shows_the_prior(labeled):
    ws, rows = labeled
    with ws.db.session_scope() as s:
        create_job(
            s,
            JobCreate(
                name="check",
                task_type="label-verification",
                label_config={
                    "document-version": "2020-03-01",
                    "labels": [{"label": "good"}, {"label": "bad"}],
                    "auditLabelAttributeName": "species",
                },
                dataset="ds",
                label_attribute="species-check",
                teams=["t"],
            ),
        )
    seen = lease_all(ws, "check", "wa", {"label": "good"})
    assert len(seen) == 6
    assert {p["value"] for _, p in seen} == {0, 1}
    assert seen[0][1]["meta"]["class-name"] == "cat"
    with ws.db.session_scope(write=False) as s:
        lines = [json.loads(x) for x in iter_output_lines(s, get_job(s, "check"))]
    for line, row in zip(lines, rows[:6], strict=True):
        assert {k: v for k, v in line.items() if not k.startswith("species-check")} == row
        assert line["species-check-metadata"]["class-name"] == "good"


def test_adjustment_over_imported_boxes_then_export_keeps_every_earlier_key(any_ws):
    boxes = {
        "image_size": [{"width": 100, "height": 80, "depth": 3}],
        "annotations": [{"class_id": 1, "left": 10, "top": 10, "width": 20, "height": 20}],
    }
    rows = [
        {
            "source-ref": f"s3://bucket/{i}.jpg",
            "note": "kept",
            "boxes": boxes,
            "boxes-metadata": meta(
                "object-detection",
                objects=[{"confidence": 0.7}],
                **{"class-map": {"1": "car"}},
            ),
        }
        for i in range(3)
    ]
    run_import(any_ws, rows, label_configs={"boxes": ["bus", "car"]})
    with any_ws.db.session_scope() as s:
        create_user(s, "wa", role="worker", teams=["t"])
        create_job(
            s,
            JobCreate(
                name="fix",
                task_type="bounding-box",
                label_config=["bus", "car"],
                input_job=imported_job(any_ws, "boxes")["name"],
                label_attribute="fixed-boxes",
                teams=["t"],
                settings={"adjustment": True},
            ),
        )
    answer = {
        "boundingBoxes": [{"label": "car", "left": 12, "top": 10, "width": 20, "height": 20}],
        "inputImageProperties": {"width": 100, "height": 80},
        "initialValueModified": True,
    }
    seen = lease_all(any_ws, "fix", "wa", answer)
    assert len(seen) == 3 and seen[0][1]["value"] == boxes
    with any_ws.db.session_scope(write=False) as s:
        lines = [json.loads(x) for x in iter_output_lines(s, get_job(s, "fix"))]
        raw_lines = list(iter_output_lines(s, get_job(s, "fix")))
    for line, row in zip(lines, rows, strict=True):
        assert line["fixed-boxes-metadata"]["adjustment-status"] == "adjusted"
        assert {k: v for k, v in line.items() if not k.startswith("fixed-boxes")} == row
    # Byte for byte: the line as it came, then the new attribute.
    assert raw_lines[0].startswith(json.dumps(rows[0])[:-1].encode() + b',"fixed-boxes":')


def test_imported_jobs_are_finished_and_a_real_job_keeps_its_name(ws):
    with ws.db.session_scope() as s:
        s.execute(text("SELECT 1"))
    run_import(ws, [classification_line(0, 0, "cat"), classification_line(1, 1, "dog")])
    run_import(
        ws,
        [classification_line(5, 0, "cat"), classification_line(6, 1, "dog")],
        dataset="ds2",
        name="two",
    )
    # The second dataset's labels have the same Ground Truth job name: a name of its own.
    with ws.db.session_scope(write=False) as s:
        names = sorted(s.scalars(select(Job.name)))
    assert names == ["ds2-species", "gt-job"]


# -- the command line and the API ------------------------------------------------------------


def test_cli_import_with_label_files_from_disk_and_s3(tmp_path, bucket):
    from typer.testing import CliRunner

    from truthset.cli.main import app

    rows = [classification_line(0, 2, "bird"), classification_line(1, 0, "cat")]
    manifest = write_manifest(tmp_path / "out.manifest", rows)
    names = {
        "document-version": "2018-11-28",
        "labels": [{"label": n} for n in ("cat", "dog", "bird")],
    }
    local = tmp_path / "labels.json"
    local.write_text(json.dumps(names))
    s3_client().put_object(Bucket=bucket, Key="labels.json", Body=json.dumps(names).encode())
    runner = CliRunner()
    for n, labels in enumerate((f"species={local}", f"s3://{bucket}/labels.json")):
        args = ["dataset", "import", f"ds{n}", str(manifest), "--labels", labels]
        args += ["--allow-root", "s3://bucket", "--data-dir", str(tmp_path / "data")]
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
        assert "2 image-classification labels in imported job" in r.stderr
        assert json.loads(r.stdout)["labels"]["species"]["labels"] == 2
    r = runner.invoke(
        app,
        ["dataset", "import", "plain", str(manifest), "--no-labels", "--allow-root", "s3://bucket"]
        + ["--data-dir", str(tmp_path / "data")],
    )
    assert r.exit_code == 0 and json.loads(r.stdout)["labels"] == {}
    r = runner.invoke(
        app,
        ["dataset", "import", "bad", str(manifest), "--labels", str(tmp_path / "none.json")]
        + ["--data-dir", str(tmp_path / "data")],
    )
    assert r.exit_code == 2 and "label category file" in r.output


def test_upload_reads_labels_and_a_disagreement_is_a_json_error(client, ws):
    from support import bearer
    from truthset.api.tokens import issue_token

    with ws.db.session_scope() as s:
        token = issue_token(s, create_user(s, "boss", role="admin"))
    rows = [classification_line(0, 0, "cat"), classification_line(1, 1, "dog")]
    body = "\n".join(json.dumps(r) for r in rows).replace("s3://bucket", "/nowhere")
    files = {"file": ("out.manifest", body.encode(), "application/octet-stream")}
    r = client.post("/api/datasets/up/upload", files=files, headers=bearer(token))
    assert r.status_code == 400 and r.json()["error"] == "bad_input"
    path = ws.settings.media_dir / "up.manifest"
    write_manifest(
        path, [{**r_, "source-ref": str(ws.settings.media_dir / "a.jpg")} for r_ in rows]
    )
    r = client.post(
        "/api/datasets/up/imports",
        json={"source": str(path), "wait": True, "label_configs": {"species": ["dog", "cat"]}},
        headers=bearer(token),
    )
    assert r.status_code == 400
    assert "class id 0 is 'cat' in this line but 'dog'" in json.dumps(r.json()["detail"])
    r = client.post(
        "/api/datasets/up/imports", json={"source": str(path), "wait": True}, headers=bearer(token)
    )
    assert r.status_code == 202
    assert r.json()["result"]["labels"]["species"]["labels"] == 2


def test_round_trip_from_s3_same_attribute_then_adjustment_keeps_earlier_bytes(ws, bucket):
    """Import a Ground Truth output manifest from S3, label the lines it left unlabeled
    with a job on the same attribute, adjust every label in a chained job, export: each
    line is the imported line byte for byte, then the new attributes."""
    boxes = {
        "image_size": [{"width": 100, "height": 80, "depth": 3}],
        "annotations": [{"class_id": 1, "left": 10, "top": 10, "width": 20, "height": 20}],
    }
    rows = [
        {
            "source-ref": f"s3://{bucket}/{i}.jpg",
            "boxes": boxes,
            "boxes-metadata": meta(
                "object-detection", objects=[{"confidence": 0.7}], **{"class-map": {"1": "car"}}
            ),
        }
        if i < 4
        else {"source-ref": f"s3://{bucket}/{i}.jpg"}
        for i in range(6)
    ]
    text_ = "".join(json.dumps(r) + "\n" for r in rows)
    s3_client().put_object(Bucket=bucket, Key="out.manifest", Body=text_.encode())
    labels = ["bus", "car"]
    with ws.db.session_scope() as s:
        import_source(
            s,
            "ds",
            f"s3://{bucket}/out.manifest",
            allowed_roots=[f"s3://{bucket}"],
            label_configs={"boxes": labels},
        )
        create_user(s, "wa", role="worker", teams=["t"])
        create_job(
            s,
            JobCreate(
                name="more",
                task_type="bounding-box",
                label_config=labels,
                dataset="ds",
                label_attribute="boxes",
                teams=["t"],
            ),
        )
    answer = {
        "boundingBoxes": [{"label": "bus", "left": 12, "top": 10, "width": 20, "height": 20}],
        "inputImageProperties": {"width": 100, "height": 80},
    }
    assert len(lease_all(ws, "more", "wa", answer)) == 2
    with ws.db.session_scope() as s:
        create_job(
            s,
            JobCreate(
                name="fix",
                task_type="bounding-box",
                label_config=labels,
                input_job="more",
                label_attribute="fixed",
                teams=["t"],
                settings={"adjustment": True},
            ),
        )
    seen = lease_all(ws, "fix", "wa", {**answer, "initialValueModified": True})
    assert len(seen) == 6 and seen[0][1]["value"] == boxes
    with ws.db.session_scope(write=False) as s:
        lines = list(iter_output_lines(s, get_job(s, "fix")))
    originals = text_.splitlines()
    for n, (line, original) in enumerate(zip(lines, originals, strict=True)):
        parsed = json.loads(line)
        assert parsed["fixed-metadata"]["job-name"] == "labeling-job/fix"
        if n < 4:
            # Imported: the line as it came, then only the new attribute.
            assert line.startswith(original[:-1].encode() + b',"fixed":'), line
        else:
            assert parsed["boxes-metadata"]["job-name"] == "labeling-job/more"
            assert parsed["boxes"]["annotations"][0]["class_id"] == 0


def test_each_output_type_names_its_task_type_without_loading_the_others():
    """Every installed type is found by its output type (the likely one is loaded alone
    first), and an output type no task type writes is None."""
    from truthset.datasets.label_import import task_type_for
    from truthset.tasktypes import all_task_types

    for name, task_type in all_task_types().items():
        if name != "custom":  # groundtruth/custom: many templates, no one task type
            assert task_type_for(task_type.output_type.lower()) == name
    assert task_type_for("groundtruth/future-tracking") is None


def test_a_labeled_import_loads_only_its_own_task_type(tmp_path):
    """Loading every task type imports scipy's optimizers and the spatial consolidators,
    1.5 s a labeled import of image classes does not need."""
    import subprocess
    import sys

    manifest = tmp_path / "out.manifest"
    lines = [
        {
            "source-ref": f"s3://b/{i}.jpg",
            "animal": i,
            "animal-metadata": {"class-name": name, "type": "groundtruth/image-classification"},
        }
        for i, name in enumerate(["cat", "dog"])
    ]
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    args = ["dataset", "import", "d", str(manifest), "--allow-root", "s3://b"]
    args += ["--data-dir", str(tmp_path / "data")]
    code = (
        "import atexit, json, sys\n"
        "from truthset.cli.main import app\n"
        "atexit.register(lambda: print(json.dumps("
        "{'spatial': 'truthset.consensus.spatial' in sys.modules})))\n"
        f"sys.argv = ['truthset', *{args!r}]\n"
        "app()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "2 image-classification labels" in out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == {"spatial": False}
