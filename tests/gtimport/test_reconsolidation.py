"""A Ground Truth job consolidated again here: its labels are rewritten by the methods
here, Ground Truth's stay in the items' lines, and exports write the new ones — the job's
own and, in a job chained on it, the earlier attribute — never Ground Truth's old label
where the line carries it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from gt_job_folders import ANIMALS, IMAGE_BUCKET, classification_job, label_file
from truthset.exports.groundtruth import creation_date, iter_output_lines
from truthset.gtimport.service import import_ground_truth_job
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import create_job, get_job
from truthset.quality.service import reconsolidate_job
from truthset.store.models import Item, Label, Task

LATER = 1_900_000_000.25  # when the job is consolidated again


def imported(ws: Any, tmp_path: Path) -> tuple[str, list[dict[str, Any]]]:
    job = classification_job()
    folder = str(job.write_local(tmp_path / "gt"))
    labels = tmp_path / "animals.json"
    labels.write_text(json.dumps(label_file(ANIMALS)))
    with ws.db.session_scope() as s:
        import_ground_truth_job(
            s,
            folder,
            allowed_roots=[*ws.allowed_roots, folder, str(labels), IMAGE_BUCKET],
            labels=str(labels),
        )
    manifest = (Path(folder) / "manifests/output/output.manifest").read_bytes()
    return folder, [orjson.loads(line) for line in manifest.splitlines()]


def test_labels_equal_to_ground_truths_are_still_written_as_the_new_labels(ws, tmp_path):
    _, lines = imported(ws, tmp_path)
    with ws.db.session_scope() as s:
        job = get_job(s, "animals-2020")
        # Majority vote gives Ground Truth's class and, where all three agree, its
        # confidence: the very value and metadata the line carries, made again here.
        reconsolidate_job(s, job, method="mv", now=LATER)
        methods = set(s.scalars(select(Label.method)))
        assert methods == {"mv"}
        same = 0
        for raw, gt in zip(iter_output_lines(s, job), lines, strict=True):
            line = orjson.loads(raw)
            same += line["animal-metadata"]["confidence"] == gt["animal-metadata"]["confidence"]
            assert line["animal-metadata"]["creation-date"] == creation_date(LATER)
            assert line["animal-metadata"]["class-name"] == ANIMALS[int(line["animal"])]
        assert same > 0  # the case this test is about did occur


def test_a_job_chained_on_it_exports_the_labels_made_again(ws, tmp_path):
    _, lines = imported(ws, tmp_path)
    with ws.db.session_scope() as s:
        gt_job = get_job(s, "animals-2020")
        reconsolidate_job(s, gt_job, method="ds", now=LATER)
        chained = create_job(
            s,
            JobCreate(
                name="indoor-or-outdoor",
                # Another task type: a chained job of the same one must keep the classes.
                task_type="image-classification-multilabel",
                labels=["indoor", "outdoor"],
                input_job="animals-2020",
                label_attribute="place",
            ),
        )
        relabeled = {
            orjson.loads(data)["source-ref"]: (value, meta)
            for data, value, meta in s.execute(
                select(Item.data, Label.value, Label.meta)
                .join(Task, Task.item_id == Item.id)
                .join(Label, Label.task_id == Task.id)
                .where(Task.job_id == gt_job.id)
            )
        }
        changed = 0
        for raw, gt in zip(iter_output_lines(s, chained), lines, strict=True):
            line = orjson.loads(raw)
            value, meta = relabeled[line["source-ref"]]
            assert int(line["animal"]) == value
            assert line["animal-metadata"]["class-name"] == meta["class-name"]
            assert line["animal-metadata"]["creation-date"] == creation_date(LATER)
            changed += meta["class-name"] != gt["animal-metadata"]["class-name"]
        assert changed > 0
