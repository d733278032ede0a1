"""The Ground Truth export of a job with masks as one zip: the manifest's `-ref` values
are paths inside the archive, each job of a chain has its folder, imported Ground Truth
masks are copied in; the API download, `truthset export` (default folder, a local .zip,
an S3 .zip) all carry them."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from exports.conftest import bucket, decoded  # noqa: F401 - bucket is a fixture
from exports.mask_jobs import (
    add_worker,
    adjustment_of,
    export,
    imported_masks,
    masks_by_item,
    semantic_job,
)
from support import bearer, job_over_items, wait_run
from truthset.api.tokens import issue_token
from truthset.media.storage import s3_client
from truthset.runs.executor import run_pending
from truthset.workforce.service import create_user

MASK_NAME = (
    r"{job}/annotations/consolidated-annotation/output/"
    r"{pos}_\d{{4}}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{{6}}\.png"
)


def shifted(masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.roll(m, 3, axis=1) for k, m in masks.items()}


def read_archive(body: bytes) -> tuple[zipfile.ZipFile, list[dict]]:
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    lines = [json.loads(x) for x in archive.read("output.manifest").decode().splitlines()]
    return archive, lines


def check_masks(archive: zipfile.ZipFile, lines: list[dict], attr: str, job: str, masks) -> None:
    """Each line's `attr` is a path inside the archive, in the job's folder, whose PNG
    is the expected mask."""
    for pos, (line, expected) in enumerate(zip(lines, masks.values(), strict=True)):
        ref = line[attr]
        assert re.fullmatch(MASK_NAME.format(job=job, pos=pos), ref), ref
        assert (decoded(archive.read(ref)) == expected).all()


def test_the_api_download_of_a_segmentation_export_is_a_zip_with_its_masks(ws, client):
    add_worker(ws)
    masks = masks_by_item()
    semantic_job(ws, "seg", masks)
    adjustment_of(ws, "seg", "fix", shifted(masks))
    with ws.db.session_scope() as s:
        admin = bearer(issue_token(s, create_user(s, "boss", role="admin")))
    r = client.post("/api/jobs/fix/exports", json={}, headers=admin)
    assert r.status_code == 202, r.text
    run_pending(ws.db, ws.settings)
    run = wait_run(client, r.json()["id"], admin)
    assert run["state"] == "succeeded", run
    assert run["result"]["format"] == "groundtruth-zip"
    assert run["result"]["out"].endswith(".zip") and run["result"]["lines"] == 3
    got = client.get(f"/api/runs/{r.json()['id']}/download", headers=admin)
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    archive, lines = read_archive(got.content)
    check_masks(archive, lines, "seg-ref", "seg", masks)
    check_masks(archive, lines, "fix-ref", "fix", shifted(masks))
    # Every mask once (the first job's too, though every line of the chain names it),
    # and nothing else.
    assert len(archive.namelist()) == 1 + 6
    assert sorted(archive.namelist()) == sorted(
        ["output.manifest", *(line[a] for line in lines for a in ("seg-ref", "fix-ref"))]
    )
    manifest = archive.read("output.manifest").decode()
    assert str(ws.settings.exports_dir) not in manifest  # no path on the server
    assert lines[0]["fix-ref-metadata"]["adjustment-status"] == "adjusted"
    assert lines[0]["source-ref"] == str(ws.settings.media_dir / "a.png")


def test_imported_ground_truth_masks_are_copied_into_the_archive(ws):
    masks = masks_by_item()
    job, refs = imported_masks(ws, "cats-ref", masks)
    n, body = export(ws, job, "groundtruth-zip")
    archive, lines = read_archive(body)
    assert n == 3
    for pos, (line, ref) in enumerate(zip(lines, refs, strict=True)):
        # The line as it came, but for its mask's location: a copy of the very file.
        assert re.fullmatch(MASK_NAME.format(job=job, pos=pos), line["cats-ref"])
        assert archive.read(line["cats-ref"]) == Path(ref).read_bytes()
        assert line["cats-ref-metadata"]["creation-date"] == "2020-10-18T22:18:13.527256"
    # A job chained on the imported one: the earlier masks are copied too.
    add_worker(ws)
    adjustment_of(ws, job, "fix-gt", shifted(masks))
    _, body = export(ws, "fix-gt", "groundtruth-zip")
    archive, lines = read_archive(body)
    for line, ref in zip(lines, refs, strict=True):
        assert archive.read(line["cats-ref"]) == Path(ref).read_bytes()
    check_masks(archive, lines, "fix-gt-ref", "fix-gt", shifted(masks))
    # The plain manifest still points where Ground Truth wrote them, byte for byte.
    _, plain = export(ws, job, "groundtruth")
    assert [json.loads(x)["cats-ref"] for x in plain.decode().splitlines()] == refs


def test_truthset_export_writes_the_archive_locally_and_to_s3(ws, tmp_path, bucket):  # noqa: F811
    from truthset.cli.main import app

    add_worker(ws)
    masks = masks_by_item()
    semantic_job(ws, "seg", masks)
    runner = CliRunner()
    data = ["--data-dir", str(ws.settings.data_dir)]

    result = runner.invoke(app, ["export", "seg", *data])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["out"].startswith(str(ws.settings.exports_dir)) and out["out"].endswith(".zip")
    check_masks(*read_archive(Path(out["out"]).read_bytes()), "seg-ref", "seg", masks)

    target = tmp_path / "seg.zip"
    result = runner.invoke(app, ["export", "seg", "--out", str(target), *data])
    assert result.exit_code == 0, result.output
    check_masks(*read_archive(target.read_bytes()), "seg-ref", "seg", masks)

    key = "exports/seg.zip"
    result = runner.invoke(app, ["export", "seg", "--out", f"s3://{bucket}/{key}", *data])
    assert result.exit_code == 0, result.output
    body = s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    check_masks(*read_archive(body), "seg-ref", "seg", masks)


def test_a_job_without_masks_keeps_its_manifest_and_zips_on_request(ws):
    add_worker(ws)
    job_over_items(ws, "texts", [{"id": "t", "source": "hello"}], ["a", "b"])
    from support import answer_tasks

    answer_tasks(ws, "texts", "w", lambda _i: {"label": "a"})
    _, plain = export(ws, "texts", "groundtruth")
    _, body = export(ws, "texts", "groundtruth-zip")
    archive, _lines = read_archive(body)
    assert archive.namelist() == ["output.manifest"]
    assert archive.read("output.manifest") == plain
