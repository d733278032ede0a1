"""Whole finished Ground Truth jobs in: the output folder (local or S3) becomes a finished
job with Ground Truth's labels and every worker's answer, so that it is consolidated again
here and shows worker skills and agreement it never had."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from conftest import require
from gt_job_folders import (
    ANIMALS,
    IMAGE_BUCKET,
    WORKERS,
    box_job,
    classification_job,
    label_file,
)
from truthset.errors import BadInput, Conflict, Unauthorized
from truthset.exports.groundtruth import iter_output_lines
from truthset.gtimport.service import import_ground_truth_job
from truthset.jobs.service import get_job
from truthset.jobs.views import worker_table
from truthset.media.storage import s3_client
from truthset.quality.service import agreement_report, reconsolidate_job
from truthset.store.models import (
    ActivityEvent,
    Answer,
    Assignment,
    Dataset,
    Item,
    Job,
    Label,
    Task,
    User,
    WorkerStat,
)
from truthset.workforce.service import login

ANIMAL_LABELS = label_file(ANIMALS)


def run_import(ws: Any, path: str, *roots: str, **kw: Any) -> dict[str, Any]:
    with ws.db.session_scope() as s:
        return import_ground_truth_job(
            s, path, allowed_roots=[*ws.allowed_roots, path, IMAGE_BUCKET, *roots], **kw
        ).as_dict()


def local_job(ws: Any, tmp_path: Path, job: Any = None) -> tuple[str, str]:
    job = job or classification_job()
    folder = job.write_local(tmp_path / "gt-output")
    labels = tmp_path / "animals.json"
    labels.write_text(json.dumps(ANIMAL_LABELS))
    return str(folder), str(labels)


def nothing_written(ws: Any) -> None:
    with ws.db.session_scope(write=False) as s:
        for model in (Dataset, Job, User, Answer, Assignment):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model.__name__


def test_a_classification_job_comes_in_with_every_workers_answer(any_ws, tmp_path):
    job = classification_job()
    folder, labels = local_job(any_ws, tmp_path, job)
    result = run_import(any_ws, folder, labels, labels=labels)
    assert result["job"] == "animals-2020" and result["dataset"] == "animals-2020"
    assert result["attribute"] == "animal" and result["task_type"] == "image-classification"
    assert (result["items"], result["labels"], result["answers"]) == (30, 30, 90)
    assert result["files"] == 15 + 15 * 3 and result["iterations"] == [1, 2]
    assert set(result["workers"]) == set(WORKERS) and result["new_accounts"] == 3
    assert result["skipped_answers"] == 0 and result["workers_per_item"] == 3
    with any_ws.db.session_scope(write=False) as s:
        users = {u.imported_as: u for u in s.scalars(select(User))}
        assert set(users) == set(WORKERS)
        for worker, user in users.items():
            assert user.name == worker and user.role == "worker"
            assert user.password_hash is None and user.active is False
        the_job = get_job(s, "animals-2020")
        assert the_job.state == "completed" and the_job.workers_per_item == 3
        responses = the_job.settings["imported"]["worker_responses"]
        assert responses == {
            "folder": folder,
            "files": 60,
            "iterations": [1, 2],
            "answers": 90,
            "skipped": 0,
        }
        tasks = s.execute(select(Task.target_answers, Task.answers, Task.status)).all()
        assert sorted(set(tasks)) == [(3, 3, "complete")] and len(tasks) == 30
        rows = s.execute(
            select(Item.data, User.imported_as, Assignment, Answer)
            .join(Task, Task.item_id == Item.id)
            .join(Answer, Answer.task_id == Task.id)
            .join(Assignment, Assignment.id == Answer.assignment_id)
            .join(User, User.id == Answer.worker_id)
        ).all()
        assert len(rows) == 90
        positions = {
            orjson.loads(line)["source-ref"]: n
            for n, line in enumerate(
                (Path(folder) / "manifests/output/output.manifest").read_bytes().splitlines()
            )
        }
        for data, worker, assignment, answer in rows:
            object_id = positions[orjson.loads(data)["source-ref"]]
            accepted, submitted, spent = job.times[(object_id, worker)]
            assert assignment.status == "submitted"
            assert assignment.leased_at == pytest.approx(accepted, abs=1e-3)
            assert assignment.ended_at == pytest.approx(submitted, abs=1e-3)
            assert answer.submitted_at == pytest.approx(submitted, abs=1e-3)
            assert answer.time_spent == pytest.approx(spent)
            assert answer.content == {"label": job.answers[(object_id, worker)]}
        events = s.execute(select(ActivityEvent.event, func.count()).group_by(ActivityEvent.event))
        assert dict(events.all()) == {"accept": 90, "submit": 90}
        assert {lab.method for lab in s.scalars(select(Label))} == {"imported"}
    # Imported accounts are nobody's to sign in with.
    with any_ws.db.session_scope() as s, pytest.raises(Unauthorized):
        login(s, next(iter(WORKERS)), "any password")


def test_consolidated_again_it_ranks_the_simulated_workers_and_exports_the_new_labels(ws, tmp_path):
    # 60 objects: on 30, every candidate's held-out likelihood is within a standard error
    # of the best, and `auto` keeps the simplest (majority vote), whose skills (agreement
    # with the vote) cannot tell the two better workers apart.
    job = classification_job(n=60)
    folder, labels = local_job(ws, tmp_path, job)
    run_import(ws, folder, labels, labels=labels)
    manifest = (Path(folder) / "manifests/output/output.manifest").read_bytes().splitlines()
    gt_class = {orjson.loads(line)["source-ref"]: orjson.loads(line) for line in manifest}
    with ws.db.session_scope() as s:
        the_job = get_job(s, "animals-2020")
        result = reconsolidate_job(s, the_job, method="auto")
        assert result["tasks"] == 60
        skills = {
            u.imported_as: st.skill
            for st, u in s.execute(
                select(WorkerStat, User).join(User, User.id == WorkerStat.worker_id)
            )
        }
        # Ranked as the simulated accuracies are (0.95 > 0.75 > 0.45). With three workers
        # the best two are told apart only by the third's votes where they disagree, which
        # holds for this fixed seed.
        ranked = sorted(skills, key=lambda w: -skills[w])
        assert ranked == sorted(WORKERS, key=lambda w: -WORKERS[w])
        new_labels = {
            orjson.loads(data)["source-ref"]: (lab.value, lab.meta, lab.method)
            for data, lab in s.execute(
                select(Item.data, Label).join(Task, Task.item_id == Item.id).join(Label)
            )
        }
        assert {m for _, _, m in new_labels.values()} == {result["method"]} != {"imported"}
        changed = sum(
            meta["class-name"] != gt_class[ref]["animal-metadata"]["class-name"]
            for ref, (_, meta, _) in new_labels.items()
        )
        assert result["changed"] == changed > 0
        # Refitting with worker skills beats Ground Truth's plain vote here.
        truth = {f"{IMAGE_BUCKET}/images/{i:03d}.jpg": ANIMALS[t] for i, t in enumerate(job.truth)}
        ours = sum(meta["class-name"] == truth[ref] for ref, (_, meta, _) in new_labels.items())
        theirs = sum(
            line["animal-metadata"]["class-name"] == truth[ref] for ref, line in gt_class.items()
        )
        assert ours > theirs
        # The export writes the new labels; the items keep Ground Truth's, as imported.
        for raw in iter_output_lines(s, the_job):
            line = orjson.loads(raw)
            value, meta, _ = new_labels[line["source-ref"]]
            assert int(line["animal"]) == value
            assert line["animal-metadata"]["class-name"] == meta["class-name"]
            assert line["animal-metadata"]["confidence"] == meta["confidence"]
            assert line["animal-metadata"]["job-name"] == "labeling-job/animals-2020"
        for data in s.scalars(select(Item.data)):
            assert orjson.loads(data) == gt_class[orjson.loads(data)["source-ref"]]
        report = agreement_report(s, the_job)
        assert report["answers"] == 180 and report["fleiss_kappa"] is not None
        pairs = {tuple(sorted(p["workers"])): p["kappa"] for p in report["pairwise_cohen_kappa"]}
        best, middle, worst = sorted(WORKERS, key=lambda w: -WORKERS[w])
        assert pairs[tuple(sorted((best, middle)))] > pairs[tuple(sorted((best, worst)))]
        table = {row["worker"]: row for row in worker_table(s, the_job)}
        for worker in WORKERS:
            spent = sum(t for (_, w), (_, _, t) in job.times.items() if w == worker)
            assert table[worker]["answers"] == 60
            assert table[worker]["time_spent"] == pytest.approx(spent, abs=0.01)
            assert table[worker]["skill"] == pytest.approx(skills[worker])


def test_an_answer_in_the_wrong_shape_is_reported_and_skipped(ws, tmp_path):
    job = classification_job()
    rel = next(r for r in job.files if "/iteration-1/4/" in r)
    doc = json.loads(job.files[rel])
    doc["answers"][0]["answerContent"] = {"crowd-image-classifier": {"labels": ["cat"]}}
    doc["answers"][1]["answerContent"] = {"crowd-image-classifier": {"label": "unicorn"}}
    job.files[rel] = json.dumps(doc).encode()
    folder, labels = local_job(ws, tmp_path, job)
    result = run_import(ws, folder, labels, labels=labels)
    assert result["answers"] == 88 and result["skipped_answers"] == 2
    where = f"{folder}/{rel}"
    first, second = result["skipped"]
    assert first["file"] == where and first["worker"] == doc["answers"][0]["workerId"]
    assert "not a image-classification answer" in first["reason"]
    assert "label" in first["reason"]
    assert second["worker"] == doc["answers"][1]["workerId"] and "'unicorn'" in second["reason"]
    assert result["workers_per_item"] == 3
    with ws.db.session_scope(write=False) as s:
        counts = sorted(s.execute(select(Task.target_answers, Task.answers)).all())
        assert counts[0] == (1, 1) and counts[1:] == [(3, 3)] * 29


def test_accounts_are_one_per_worker_across_jobs_and_a_job_comes_in_once(ws, tmp_path):
    folder, labels = local_job(ws, tmp_path)
    run_import(ws, folder, labels, labels=labels)
    later = classification_job("animals-2021", seed=11)
    second = run_import(ws, str(later.write_local(tmp_path / "gt-output")), labels, labels=labels)
    assert second["new_accounts"] == 0 and second["answers"] == 90
    with ws.db.session_scope(write=False) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 3
    with pytest.raises(Conflict, match="already holds 90 answers"):
        run_import(ws, folder, labels, labels=labels)
    with ws.db.session_scope(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Answer)) == 180


def test_an_account_name_taken_here_gets_another_name(ws, tmp_path):
    from truthset.workforce.service import create_user

    taken = next(iter(WORKERS))
    with ws.db.session_scope() as s:
        create_user(s, taken, password="a good password")
    folder, labels = local_job(ws, tmp_path)
    result = run_import(ws, folder, labels, labels=labels)
    assert result["workers"][taken] == f"{taken}-2"
    with ws.db.session_scope(write=False) as s:
        mine = s.scalar(select(User).where(User.name == taken))
        assert mine is not None and mine.imported_as is None and mine.active


def test_the_label_attribute_is_the_one_the_job_wrote(ws, tmp_path):
    job = classification_job()
    manifest = job.files["manifests/output/output.manifest"].splitlines()
    chained = []
    for n, raw in enumerate(manifest):
        line = orjson.loads(raw)
        line["first-pass"] = n % 2
        line["first-pass-metadata"] = {
            **line["animal-metadata"],
            "class-name": ["indoor", "outdoor"][n % 2],
            "job-name": "labeling-job/first-pass",
        }
        chained.append(line)
    job.manifest(chained)
    folder, labels = local_job(ws, tmp_path, job)
    assert run_import(ws, folder, labels, labels=labels)["attribute"] == "animal"

    job.name = "copied-elsewhere"
    moved = str(job.write_local(tmp_path / "moved"))
    with pytest.raises(BadInput, match="cannot tell which label attribute") as err:
        run_import(ws, moved, labels, labels=labels, dataset="other")
    assert "animal (job-name labeling-job/animals-2020)" in str(err.value.detail)
    result = run_import(ws, moved, labels, labels=labels, attribute="animal", dataset="other")
    assert result["attribute"] == "animal" and result["answers"] == 90
    with pytest.raises(BadInput, match="has no labels under 'species'"):
        run_import(ws, moved, labels, attribute="species", dataset="third")


def test_a_bounding_box_job_comes_in_and_shows_agreement(ws, tmp_path):
    job = box_job(ws.settings.media_dir / "street")
    rel = next(r for r in job.files if "/iteration-1/2/" in r)
    doc = json.loads(job.files[rel])
    doc["answers"][2]["answerContent"]["boundingBox"]["inputImageProperties"]["width"] = 640
    job.files[rel] = json.dumps(doc).encode()
    folder = str(job.write_local(tmp_path / "gt-output"))
    result = run_import(ws, folder)
    assert result["task_type"] == "bounding-box" and result["attribute"] == "boxes"
    assert result["answers"] == 17 and result["skipped_answers"] == 1
    assert "differs from the image's width 64" in result["skipped"][0]["reason"]
    with ws.db.session_scope(write=False) as s:
        the_job = get_job(s, "street-boxes")
        contents = list(s.scalars(select(Answer.content)))
        assert all(set(c) == {"boundingBoxes", "inputImageProperties"} for c in contents)
        boxes = [c["boundingBoxes"] for c in contents]
        assert [{"label": "car", **job.truth[0]}] in boxes
        report = agreement_report(s, the_job)
        assert report["answers"] == 17 and 0 < report["mean_pairwise_agreement"] < 1
        exact, near, far = WORKERS
        per_worker = report["per_worker"]
        assert per_worker[near] > per_worker[far] and per_worker[exact] > per_worker[far]


# -- bad folders ------------------------------------------------------------------------


def test_a_folder_without_an_output_manifest_is_refused_naming_the_file(ws, tmp_path):
    job = classification_job()
    del job.files["manifests/output/output.manifest"]
    folder = str(job.write_local(tmp_path / "gt-output"))
    with pytest.raises(BadInput) as err:
        run_import(ws, folder)
    assert f"{folder}/manifests/output/output.manifest does not exist" in str(err.value.detail)
    nothing_written(ws)


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda data: data[:-5], "is not valid JSON"),
        (lambda data: b'{"answer": []}', 'no "answers" list'),
        (
            lambda data: data.replace(b'"submissionTime": "', b'"submissionTime": "yesterday '),
            "submissionTime 'yesterday ",
        ),
        (lambda data: data.replace(b'"workerId"', b'"worker"'), "workerId must be"),
    ],
    ids=["not-json", "no-answers", "bad-time", "no-worker"],
)
def test_an_unreadable_worker_response_is_refused_naming_it(ws, tmp_path, damage, expected):
    job = classification_job()
    rel = next(r for r in job.files if "/iteration-2/20/" in r)
    job.files[rel] = damage(job.files[rel])
    folder, labels = local_job(ws, tmp_path, job)
    with pytest.raises(BadInput) as err:
        run_import(ws, folder, labels, labels=labels)
    assert f"{folder}/{rel}" in str(err.value.detail) and expected in str(err.value.detail)
    nothing_written(ws)


def test_stray_files_objects_past_the_manifest_and_escapes_are_refused(ws, tmp_path):
    job = classification_job()
    job.files["annotations/worker-response/iteration-1/notes.txt"] = b"hello"
    folder, labels = local_job(ws, tmp_path, job)
    with pytest.raises(BadInput, match="notes.txt: not a worker-response file"):
        run_import(ws, folder, labels, labels=labels)

    job = classification_job()
    job.files["annotations/worker-response/iteration-3/30/2021-01-01_00:00:00.json"] = job.files[
        next(r for r in job.files if "/iteration-1/0/" in r)
    ]
    folder, labels = local_job(ws, tmp_path / "b", job)
    with pytest.raises(BadInput, match="datasetObjectId 30 is not a line of .* which has 30"):
        run_import(ws, folder, labels, labels=labels)

    job = classification_job()
    folder, labels = local_job(ws, tmp_path / "c", job)
    outside = tmp_path / "secret.json"
    outside.write_text('{"answers": []}')
    link = Path(folder) / "annotations/worker-response/iteration-1/0/link.json"
    os.symlink(outside, link)
    with pytest.raises(BadInput, match="link.json is outside the allowed roots"):
        run_import(ws, folder, labels, labels=labels)
    # Inside another allowed root (the media folder) it is still not the job's file.
    elsewhere = ws.settings.media_dir / "answers.json"
    elsewhere.write_text('{"answers": []}')
    link.unlink()
    os.symlink(elsewhere, link)
    with pytest.raises(BadInput, match="link.json leads outside the job folder"):
        run_import(ws, folder, labels, labels=labels)
    nothing_written(ws)

    with ws.db.session_scope() as s, pytest.raises(BadInput, match="outside the allowed roots"):
        import_ground_truth_job(s, folder, allowed_roots=ws.allowed_roots)


# -- on S3 --------------------------------------------------------------------------------


@pytest.fixture
def bucket() -> Iterator[str]:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    name = f"gtimport-{uuid.uuid4().hex[:10]}"
    client = s3_client()
    client.create_bucket(Bucket=name)
    yield name
    # SeaweedFS gives every bucket volumes of its own: buckets left behind use them up.
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=name, Delete={"Objects": keys})
    client.delete_bucket(Bucket=name)


@pytest.mark.s3
def test_a_job_folder_on_s3_comes_in_like_a_local_one(any_ws, bucket):
    job = classification_job()
    folder = job.write_s3(bucket, "ground-truth/output/")
    labels = f"s3://{bucket}/config/animals.json"
    s3_client().put_object(
        Bucket=bucket, Key="config/animals.json", Body=json.dumps(ANIMAL_LABELS).encode()
    )
    result = run_import(any_ws, folder, labels, labels=labels)
    assert result["folder"] == f"s3://{bucket}/ground-truth/output/animals-2020"
    assert (result["items"], result["labels"], result["answers"]) == (30, 30, 90)
    assert result["files"] == 60 and result["new_accounts"] == 3
    with any_ws.db.session_scope() as s:
        stored = s.execute(select(Answer.time_spent, Answer.content)).all()
        expected = sorted((t, job.answers[k]) for k, (_, _, t) in job.times.items())
        assert sorted((t, c["label"]) for t, c in stored) == expected
        out = reconsolidate_job(s, get_job(s, "animals-2020"), method="auto")
        assert out["tasks"] == 30


@pytest.mark.s3
def test_bad_s3_folders_are_refused_naming_the_file(ws, bucket):
    job = classification_job()
    del job.files["manifests/output/output.manifest"]
    folder = job.write_s3(bucket, "out/")
    with pytest.raises(BadInput) as err:
        run_import(ws, folder)
    assert f"s3://{bucket}/out/animals-2020/manifests/output/output.manifest does not exist" in (
        str(err.value.detail)
    )
    job = classification_job("broken")
    rel = next(r for r in job.files if "/iteration-1/3/" in r)
    job.files[rel] = b"{not json"
    folder = job.write_s3(bucket, "out/")
    with pytest.raises(BadInput, match=f"s3://{bucket}/out/broken/{rel} is not valid JSON"):
        run_import(ws, folder)
    nothing_written(ws)
    with ws.db.session_scope() as s, pytest.raises(BadInput, match="outside the allowed roots"):
        import_ground_truth_job(s, folder, allowed_roots=[*ws.allowed_roots, f"s3://{bucket}/x"])
