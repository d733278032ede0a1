"""Where an export may go: never inside the media root or the rest of the data directory
(the attack overwrote an item's image with manifest text), through the API only inside the
exports folder or an allowed root; an S3 destination needs a real bucket and a clean key.
Each refusal is a 400 naming `out`, and no run is queued."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import require
from support import bearer
from truthset.config import load_settings
from truthset.errors import BadInput
from truthset.exports.destinations import check_export_destination
from truthset.media.storage import s3_client
from truthset.runs.executor import run_pending
from truthset.runs.service import enqueue, get_run
from truthset.store.models import Run


def _runs(ws) -> int:
    with ws.db.session_scope(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(Run)) or 0)


def test_the_api_refuses_the_media_root_and_paths_outside_the_roots(ws, client, setup_factory):
    setup = setup_factory(ws, n_items=2, n_workers=1)
    setup.job("j", workers_per_item=1)
    image = ws.settings.media_dir / "photo.jpg"
    image.write_bytes(b"\xff\xd8 the item's image")
    admin = bearer(setup.admin_token)
    cases = {
        str(image): "is inside the workspace's media root",
        str(ws.settings.media_dir / "new" / "x.manifest"): "is inside the workspace's media root",
        str(ws.settings.data_dir / "truthset.db"): "is inside the workspace's data directory",
        str(ws.settings.exports_dir / ".." / "media" / "x.manifest"): "must not contain '..'",
        "/etc/evil.manifest": "is outside the server's allowed roots and exports folder",
        "s3://Bad_Bucket!/o.manifest": "'Bad_Bucket!' is not an S3 bucket name",
        "s3://somewhere/o.manifest": "is outside the server's allowed roots and buckets",
        "http://example.com/o.manifest": "only s3:// URIs and local paths",
        str(ws.settings.exports_dir): "is a folder",
    }
    for out, reason in cases.items():
        r = client.post("/api/jobs/j/exports", json={"out": out}, headers=admin)
        assert r.status_code == 400, (out, r.text)
        assert r.json()["error"] == "bad_input" and reason in r.json()["detail"], (out, r.json())
    assert _runs(ws) == 0
    assert image.read_bytes() == b"\xff\xd8 the item's image"
    good = str(ws.settings.exports_dir / "j.manifest")
    ok = client.post("/api/jobs/j/exports", json={"out": good}, headers=admin)
    assert ok.status_code == 202, ok.text


def test_a_symlink_into_the_media_root_is_refused(ws, tmp_path):
    link = ws.settings.exports_dir / "sneaky"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(ws.settings.media_dir)
    with pytest.raises(BadInput, match="inside the workspace's media root"):
        check_export_destination(str(link / "x.manifest"), ws.settings, from_api=True)


def test_the_command_lines_export_may_go_outside_the_roots_but_not_into_the_media(
    ws, setup_factory, tmp_path
):
    setup = setup_factory(ws, n_items=2, n_workers=1)
    setup.job("j", workers_per_item=1)
    outside = tmp_path / "elsewhere" / "j.manifest"
    assert check_export_destination(str(outside), ws.settings, from_api=False) == str(outside)
    with ws.db.session_scope() as s:
        run_id = enqueue(
            s, "export", {"job": "j", "out": str(ws.settings.media_dir / "photo.jpg")}
        ).id
    run_pending(ws.db, ws.settings)
    with ws.db.session_scope(write=False) as s:
        run = get_run(s, run_id)
        assert run.state == "failed" and "inside the workspace's media root" in str(run.error)
    assert not (ws.settings.media_dir / "photo.jpg").exists()


def test_an_s3_destination_needs_its_bucket(tmp_path):
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    real = f"b-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=real)
    missing = f"nobucket-{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        tmp_path / "data", None, allowed_roots=[f"s3://{real}", f"s3://{missing}"]
    )
    out = f"s3://{real}/exports/j.manifest"
    assert check_export_destination(out, settings, from_api=True) == out
    with pytest.raises(BadInput) as info:
        check_export_destination(f"s3://{missing}/j.manifest", settings, from_api=True)
    assert info.value.detail == (
        f"out 's3://{missing}/j.manifest' cannot be written (the bucket {missing!r} does not exist)"
    )
    for bad, reason in {
        f"s3://{real}/": "name the object to write",
        f"s3://{real}/a/../b.manifest": "'.' or '..' segments",
    }.items():
        with pytest.raises(BadInput, match=reason.replace(".", r"\.")):
            check_export_destination(bad, settings, from_api=True)
    assert Path(tmp_path).exists()
