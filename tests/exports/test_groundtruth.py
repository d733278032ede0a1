"""Output manifest lines, key by key, against Ground Truth's published examples."""

from __future__ import annotations

import json
import re

from support import write_manifest
from truthset.datasets.importer import import_source
from truthset.exports.groundtruth import export_groundtruth
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import create_job, get_job
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task
from truthset.workforce.service import create_user

DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def label_all(ws, job_name, answers_by_worker):
    from sqlalchemy import select

    from truthset.store.models import User

    for worker, answers in answers_by_worker.items():
        for answer in answers:
            with ws.db.session_scope() as s:
                job = get_job(s, job_name)
                user = s.scalar(select(User).where(User.name == worker))
                t = lease_next_task(s, job, user)
                submit_answer(s, t.assignment_id, user, answer)


def export_lines(ws, job_name):
    out: list[bytes] = []
    with ws.db.session_scope(write=False) as s:
        export_groundtruth(s, get_job(s, job_name), lambda chunks: out.extend(chunks), now=0.0)
    return [json.loads(x) for x in b"".join(out).decode().splitlines()]


def seed(ws, rows, task_type, labels, wpi, name="label-sentiment"):
    path = write_manifest(ws.settings.media_dir / "in.manifest", rows)
    with ws.db.session_scope() as s:
        import_source(s, "ds", str(path), allowed_roots=ws.allowed_roots)
        for w in ("w1", "w2", "w3"):
            create_user(s, w, role="worker", teams=["t"])
        create_job(
            s,
            JobCreate(
                name=name,
                task_type=task_type,
                label_config={
                    "document-version": "2018-11-28",
                    "labels": [{"label": x} for x in labels],
                },
                dataset="ds",
                workers_per_item=wpi,
                teams=["t"],
                label_attribute="mood",
            ),
        )


def test_text_classification_line_matches_ground_truth(ws):
    seed(
        ws,
        [{"source": "The food was delicious"}],
        "text-classification",
        ["negative", "positive"],
        wpi=1,
    )
    label_all(ws, "label-sentiment", {"w1": [{"label": "positive"}]})
    [line] = export_lines(ws, "label-sentiment")
    assert list(line) == ["source", "mood", "mood-metadata"]
    assert line["source"] == "The food was delicious"
    assert line["mood"] == 1
    meta = line["mood-metadata"]
    assert list(meta) == [
        "class-name",
        "confidence",
        "type",
        "job-name",
        "human-annotated",
        "creation-date",
    ]
    assert meta["class-name"] == "positive"
    assert meta["confidence"] == 0.0  # Ground Truth: 0.00 with a single worker
    assert meta["type"] == "groundtruth/text-classification"
    assert meta["job-name"] == "labeling-job/label-sentiment"
    assert meta["human-annotated"] == "yes"
    assert DATE.match(meta["creation-date"])


def test_multilabel_line_matches_ground_truth(ws):
    seed(
        ws,
        [{"source-ref": str(ws.settings.media_dir / "example_image.jpg")}],
        "image-classification-multilabel",
        ["person", "bicycle", "clothing"],
        wpi=3,
    )
    label_all(
        ws,
        "label-sentiment",
        {
            "w1": [{"labels": ["bicycle", "person"]}],
            "w2": [{"labels": ["bicycle"]}],
            "w3": [{"labels": ["bicycle", "clothing"]}],
        },
    )
    [line] = export_lines(ws, "label-sentiment")
    assert line["mood"] == [0, 1, 2]
    meta = line["mood-metadata"]
    assert set(meta) == {
        "class-map",
        "confidence-map",
        "type",
        "job-name",
        "human-annotated",
        "creation-date",
    }
    assert meta["class-map"] == {"0": "person", "1": "bicycle", "2": "clothing"}
    assert meta["confidence-map"] == {"0": 0.33, "1": 1.0, "2": 0.33}
    assert meta["type"] == "groundtruth/image-classification-multilabel"


def test_unlabeled_lines_are_copied_verbatim_and_passthrough_keys_kept(ws):
    seed(
        ws,
        [{"source": "a", "extra": {"k": [1, 2]}}, {"source": "b", "extra": None}],
        "text-classification",
        ["x", "y"],
        wpi=1,
    )
    label_all(ws, "label-sentiment", {"w1": [{"label": "y"}]})
    first, second = export_lines(ws, "label-sentiment")
    assert first["extra"] == {"k": [1, 2]} and first["mood"] == 1
    assert second == {"source": "b", "extra": None}


def test_chained_job_output_carries_the_earlier_label(ws):
    seed(
        ws,
        [{"source": "a"}, {"source": "b"}],
        "text-classification",
        ["x", "y"],
        wpi=1,
        name="first",
    )
    label_all(ws, "first", {"w1": [{"label": "x"}]})  # labels one of the two items
    with ws.db.session_scope() as s:
        create_job(
            s,
            JobCreate(
                name="second",
                task_type="text-classification",
                label_config=["x", "y"],
                input_job="first",
                workers_per_item=1,
                teams=["t"],
                label_attribute="mood",
            ),
        )
        # Same attribute: only the item the first job left unlabeled is worked on again.
        from truthset.jobs.service import counters

        assert counters(s, get_job(s, "second").id)["total"] == 1
        create_job(
            s,
            JobCreate(
                name="third",
                task_type="text-classification",
                label_config=["x", "y"],
                input_job="first",
                workers_per_item=1,
                teams=["t"],
                label_attribute="topic",
            ),
        )
    label_all(ws, "third", {"w2": [{"label": "y"}, {"label": "y"}]})
    lines = export_lines(ws, "third")
    assert lines[0]["mood"] == 0 and lines[0]["topic"] == 1
    assert "mood" not in lines[1] and lines[1]["topic"] == 1
    assert lines[0]["mood-metadata"]["job-name"] == "labeling-job/first"
    assert lines[0]["topic-metadata"]["job-name"] == "labeling-job/third"
