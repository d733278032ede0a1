"""Imports from S3 through the API, with the server's allowed roots `s3://<allowed>`: a
manifest or a prefix of another bucket is refused before anything is read (the attack
imported both, and the media route then served the other bucket's image); a missing key
or bucket, a bad bucket name, '..' in the path, invalid UTF-8 in a CSV object: a 400
naming it, nothing written, never a 500."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import require
from support import Setup, bearer
from truthset.api.deps import forget_all_tokens
from truthset.config import load_settings
from truthset.media.storage import s3_client
from truthset.server.app import create_app
from truthset.store.models import Item
from truthset.store.raw import stored_json
from truthset.workspace import Workspace, open_workspace


def _bucket() -> str:
    name = f"b-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=name)
    s3_client().put_object(Bucket=name, Key="photos/a.jpg", Body=b"\xff\xd8 an image")
    line = json.dumps({"source-ref": f"s3://{name}/photos/a.jpg"})
    s3_client().put_object(Bucket=name, Key="in/m.manifest", Body=line.encode())
    return name


class S3Site:
    def __init__(self, ws: Workspace, client: TestClient, allowed: str, other: str):
        self.ws, self.client, self.allowed, self.other = ws, client, allowed, other
        self.setup = Setup(ws, n_items=1, n_workers=1)
        self.admin = bearer(self.setup.admin_token)
        r = client.post("/api/datasets", json={"name": "d"}, headers=self.admin)
        assert r.status_code == 201, r.text

    def import_(self, source: str, wait: bool = True) -> Any:
        return self.client.post(
            "/api/datasets/d/imports", json={"source": source, "wait": wait}, headers=self.admin
        )

    def items(self) -> int:
        with self.ws.db.session_scope(write=False) as s:
            return int(s.scalar(select(func.count()).select_from(Item)) or 0)


@pytest.fixture
def site(tmp_path) -> Iterator[S3Site]:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    allowed, other = _bucket(), _bucket()
    ws = open_workspace(load_settings(tmp_path / "data", None, allowed_roots=[f"s3://{allowed}"]))
    forget_all_tokens()
    try:
        with TestClient(create_app(ws), raise_server_exceptions=False) as client:
            yield S3Site(ws, client, allowed, other)
    finally:
        ws.close()


def _refused(r: Any, *parts: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "bad_input", body
    for part in parts:
        assert part in str(body["detail"]), body


@pytest.mark.parametrize("wait", [True, False])
def test_another_buckets_manifest_or_prefix_is_refused(site, wait):
    before = site.items()
    for source in (f"s3://{site.other}/in/m.manifest", f"s3://{site.other}/photos/"):
        _refused(site.import_(source, wait), f"source {source!r} is outside the server's allowed")
    assert site.items() == before
    with site.ws.db.session_scope(write=False) as s:
        assert s.execute(select(func.count()).select_from(Item)).scalar_one() == before
    # The allowed bucket's are taken.
    assert site.import_(f"s3://{site.allowed}/photos/").status_code == 202
    assert site.import_(f"s3://{site.allowed}/in/m.manifest").status_code == 202
    assert site.items() == before + 1  # one object, named by both


def test_missing_keys_and_buckets_bad_names_and_dot_segments_are_400s(site):
    missing = f"nobucket-{uuid.uuid4().hex[:8]}"
    cases = {
        f"s3://{site.allowed}/in/missing.manifest": "(it does not exist)",
        f"s3://{site.allowed}/in/missing.csv": "(it does not exist)",
        f"s3://{missing}/in/m.manifest": "is outside the server's allowed roots",
        "s3://Bad_Bucket!/x.manifest": "'Bad_Bucket!' is not an S3 bucket name",
        f"s3://{site.allowed}/../{site.other}/in/m.manifest": "'.' or '..' segments",
        f"s3://{site.allowed}/photos/../in/m.manifest": "'.' or '..' segments",
        "s3:///x.manifest": "is not an s3://bucket/key URI",
    }
    before = site.items()
    for source, reason in cases.items():
        _refused(site.import_(source), reason)
    assert site.items() == before


def test_a_missing_bucket_inside_the_roots_is_a_400(tmp_path):
    """An allowed root whose bucket does not exist (yet): the listing's NoSuchBucket was a
    500."""
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    missing = f"nobucket-{uuid.uuid4().hex[:8]}"
    ws = open_workspace(load_settings(tmp_path / "data", None, allowed_roots=[f"s3://{missing}"]))
    forget_all_tokens()
    try:
        with TestClient(create_app(ws), raise_server_exceptions=False) as client:
            site = S3Site(ws, client, missing, missing)
            _refused(
                site.import_(f"s3://{missing}/photos/"),
                f"the bucket {missing!r} does not exist",
            )
            _refused(site.import_(f"s3://{missing}/in/m.manifest"), "does not exist")
    finally:
        ws.close()


def test_a_csv_object_with_invalid_utf8_is_a_400(site):
    s3_client().put_object(
        Bucket=site.allowed, Key="in/rows.csv", Body=b"id,source\na,ok\nb,bad \xff\n"
    )
    _refused(
        site.import_(f"s3://{site.allowed}/in/rows.csv"),
        "line 3: the CSV is not valid UTF-8 (byte offset 21: invalid start byte)",
    )
    assert site.items() == 1  # the setup's one item


def test_the_media_route_presigns_only_inside_the_roots(site):
    """An item of another bucket (imported from the command line, or before its root was
    removed) is not handed out through a presigned URL."""
    from truthset.datasets.importer import import_source

    with site.ws.db.session_scope() as s:  # the operator's import: its prefix is allowed
        import_source(s, "theirs", f"s3://{site.other}/photos/", allowed_roots=[])
        import_source(s, "ours", f"s3://{site.allowed}/photos/", allowed_roots=[])
    with site.ws.db.session_scope(write=False) as s:
        rows = s.execute(select(Item.data, Item.id)).all()
    by_ref = {stored_json(data).get("source-ref"): item_id for data, item_id in rows}
    theirs = by_ref[f"s3://{site.other}/photos/a.jpg"]
    ours = by_ref[f"s3://{site.allowed}/photos/a.jpg"]
    r = site.client.get(f"/api/items/{theirs}/media", headers=site.admin, follow_redirects=False)
    assert r.status_code == 403, r.text
    assert r.json() == {
        "error": "forbidden",
        "detail": f"the media of item {theirs} ('s3://{site.other}/photos/a.jpg') is outside "
        "the server's allowed roots",
    }
    r = site.client.get(f"/api/items/{ours}/media", headers=site.admin, follow_redirects=False)
    assert r.status_code == 307 and "X-Amz-Signature=" in r.headers["location"]
