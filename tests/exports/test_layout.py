"""Masks per job (the output folder and the `export` run), a chained line pointing at the
earlier job's real mask, and the layout's names and times."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from exports.conftest import (
    MASK_FILE,
    decoded,
    mask_of,
    output_runs_of,
    schedule,
    segmentation_and_adjustment,
    workspace_with_roots,
)
from truthset.media.storage import s3_client
from truthset.runs.executor import run_pending
from truthset.workspace import Workspace


def test_a_segmentation_job_and_its_adjustment_keep_two_masks(ws_out: Workspace, out_dir: Path):
    ws = ws_out
    first, second = segmentation_and_adjustment(ws, str(out_dir))
    assert sorted(schedule(ws)) == sorted([first, second])
    run_pending(ws.db, ws.settings)
    assert [r.state for r in output_runs_of(ws, first) + output_runs_of(ws, second)] == [
        "succeeded",
        "succeeded",
    ]
    masks = {
        job: list((out_dir / job / "annotations/consolidated-annotation/output").iterdir())
        for job in (first, second)
    }
    for job in (first, second):
        assert len(masks[job]) == 1 and re.fullmatch(MASK_FILE, masks[job][0].name)
    assert (decoded(masks[first][0].read_bytes()) == mask_of(0)).all()
    assert (decoded(masks[second][0].read_bytes()) == mask_of(6)).all()

    [line] = [
        json.loads(x)
        for x in (out_dir / second / "manifests/output/output.manifest").read_text().splitlines()
    ]
    # The earlier job's value is its real mask file (not a placeholder), the new one's its own.
    assert line["masks-ref"] == str(masks[first][0])
    assert line["adjusted-ref"] == str(masks[second][0])
    assert line["adjusted-ref-metadata"]["adjustment-status"] == "adjusted"
    [first_line] = (out_dir / first / "manifests/output/output.manifest").read_text().splitlines()
    assert json.loads(first_line)["masks-ref"] == str(masks[first][0])

    # The consolidation response names the same file; the worker response holds the
    # painting under crowd-semantic-segmentation.
    root = out_dir / second / "annotations"
    [resp] = list((root / "consolidated-annotation/consolidation-response/iteration-1").iterdir())
    [entry] = json.loads(resp.read_text())
    assert entry["consolidatedAnnotation"]["content"]["adjusted-ref"] == str(masks[second][0])
    [worker_file] = list((root / "worker-response/iteration-1/0").iterdir())
    [worker_answer] = json.loads(worker_file.read_text())["answers"]
    painted = worker_answer["answerContent"]["crowd-semantic-segmentation"]
    assert set(painted) >= {"labeledImage", "labelMappings", "inputImageProperties"}
    [req] = list((root / "consolidated-annotation/consolidation-request/iteration-1").iterdir())
    [req_entry] = json.loads(req.read_text())
    assert req_entry["dataObject"] == {"s3Uri": str(ws.settings.media_dir / "cat.png")}


def test_exports_write_each_jobs_masks_apart_and_chained_ones_point_at_the_real_file(
    ws_out: Workspace, out_dir: Path
):
    """The `export` run (not the output folder): it wrote every mask to one shared
    `annotations/consolidated-annotation/output/<item>.png`, so the adjustment job's
    export replaced the first job's mask, and a chained export named the earlier mask
    "label.png"."""
    from truthset.runs.service import enqueue

    ws = ws_out
    first, second = segmentation_and_adjustment(ws, str(out_dir))
    with ws.db.session_scope() as s:
        for job in (first, second):
            enqueue(s, "export", {"job": job, "out": str(out_dir / "exports" / f"{job}.manifest")})
    run_pending(ws.db, ws.settings, max_runs=2)
    exports = out_dir / "exports"
    masks = {
        job: list((exports / job / "annotations/consolidated-annotation/output").iterdir())
        for job in (first, second)
    }
    assert [len(masks[first]), len(masks[second])] == [1, 1]
    assert (decoded(masks[first][0].read_bytes()) == mask_of(0)).all()
    assert (decoded(masks[second][0].read_bytes()) == mask_of(6)).all()
    [line] = [json.loads(x) for x in (exports / f"{second}.manifest").read_text().splitlines()]
    assert line["masks-ref"] == str(masks[first][0]) != "label.png"
    assert line["adjusted-ref"] == str(masks[second][0])
    [first_line] = (exports / f"{first}.manifest").read_text().splitlines()
    assert json.loads(first_line)["masks-ref"] == str(masks[first][0])
    assert not (exports / "annotations").exists()


def test_times_ids_and_element_names_as_ground_truth_writes_them():
    from truthset.exports.layout import (
        ELEMENT_NAMES,
        element_name,
        file_time,
        iso_time,
        mask_path,
        worker_id,
    )
    from truthset.tasktypes import get_task_type

    # 2020-12-28T18:59:15.191Z, the developer guide's example.
    assert iso_time(1609181955.191) == "2020-12-28T18:59:15.191Z"
    assert iso_time(1609181955.9999) == "2020-12-28T18:59:15.999Z"
    assert file_time(1609181955.191) == "2020-12-28_18:59:15"
    assert mask_path(0, 1587476880.091190) == (
        "annotations/consolidated-annotation/output/0_2020-04-21T13:48:00.091190.png"
    )
    assert worker_id(1, "w1", 5.0) == worker_id(1, "w1", 5.0) != worker_id(2, "w2", 5.0)
    assert "w1" not in worker_id(1, "w1", 5.0)
    # The names in the guide's payload examples and built-in templates.
    assert element_name("image-classification") == "crowd-image-classifier"
    assert element_name("bounding-box") == "boundingBox"
    assert element_name("semantic-segmentation") == "crowd-semantic-segmentation"
    assert element_name("named-entity-recognition") == "crowd-entity-annotation"
    for name in ELEMENT_NAMES:
        get_task_type(name)  # no name of a type that does not exist

    class Plugin:
        ground_truth_element = "my-element"

    assert element_name("plugin-type", Plugin()) == "my-element"
    assert element_name("plugin-type") == "plugin-type"


def test_masks_on_s3_per_job_and_written_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bucket: str
):
    from truthset.exports.output_writer import write_output

    ws = workspace_with_roots(tmp_path, monkeypatch, [f"s3://{bucket}"])
    try:
        first, second = segmentation_and_adjustment(ws, f"s3://{bucket}/gt")
        schedule(ws)
        run_pending(ws.db, ws.settings)
        client = s3_client()
        keys = {
            job: [
                o["Key"]
                for o in client.list_objects_v2(
                    Bucket=bucket, Prefix=f"gt/{job}/annotations/consolidated-annotation/output/"
                ).get("Contents", [])
            ]
            for job in (first, second)
        }
        assert [len(keys[first]), len(keys[second])] == [1, 1]
        body = client.get_object(Bucket=bucket, Key=f"gt/{second}/manifests/output/output.manifest")
        line = json.loads(body["Body"].read())
        assert line["masks-ref"] == f"s3://{bucket}/{keys[first][0]}"
        assert line["adjusted-ref"] == f"s3://{bucket}/{keys[second][0]}"
        mask = client.get_object(Bucket=bucket, Key=keys[second][0])["Body"].read()
        assert (decoded(mask) == mask_of(6)).all()
        # Written again (a later consolidation, say): the masks already there are not sent.
        before = output_runs_of(ws, second)[-1].result["state"]["masks"]
        again = write_output(ws.db, ws.settings, second)
        # Its own mask (the earlier job's was in its folder already, from that job's run).
        assert again["state"]["masks"] == before == 1
        assert again["lines"] == 1
    finally:
        ws.close()
