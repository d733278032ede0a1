"""Import from and export to a real S3 server (SeaweedFS, SigV4-signed requests)."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from typing import Any

import pytest

from conftest import require
from truthset.datasets.importer import import_source
from truthset.errors import BadInput
from truthset.exports.groundtruth import export_groundtruth
from truthset.jobs.service import get_job
from truthset.media.storage import parse_s3_uri, s3_client, write_bytes


@pytest.fixture
def bucket() -> str:
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    name = f"b-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=name)
    return name


def put(bucket: str, key: str, body: bytes) -> None:
    s3_client().put_object(Bucket=bucket, Key=key, Body=body)


def test_import_folder_like_prefix_and_serve_presigned(ws, bucket, setup_factory, client):
    for name in ("a.jpg", "b.png", "sub/c.jpg"):
        put(bucket, f"photos/{name}", b"\xff\xd8 image bytes " + name.encode())
    put(bucket, "photos/readme.md", b"not an image")
    with pytest.raises(BadInput) as info, ws.db.session_scope() as s:
        import_source(s, "photos", f"s3://{bucket}/photos/", allowed_roots=[])
        assert "unsupported file type" in info.value.detail["errors"][0]["reason"]
    with ws.db.session_scope() as s:
        report = ws.settings.data_dir / "report.jsonl"
        result = import_source(
            s,
            "photos",
            f"s3://{bucket}/photos/",
            allowed_roots=[],
            skip_invalid=True,
            report_path=report,
        )
    assert (result.added, result.invalid) == (3, 1)
    setup = setup_factory(ws, n_items=0, n_workers=1)
    from support import bearer

    setup.job("pics", task_type="image-classification", dataset="photos", workers_per_item=1)
    task = client.post("/api/jobs/pics/next", headers=bearer(setup.worker_tokens["w00"])).json()
    assert task["item"]["data"]["source-ref"] == f"s3://{bucket}/photos/a.jpg"

    def media() -> Any:
        return client.get(
            task["item"]["media_url"],
            headers=bearer(setup.worker_tokens["w00"]),
            follow_redirects=False,
        )

    # The import's own prefix was allowed for its refs; the server presigns only for its
    # configured roots.
    assert media().status_code == 403
    ws.settings = dataclasses.replace(ws.settings, allowed_roots=(f"s3://{bucket}/photos",))
    r = media()
    assert r.status_code == 307 and "X-Amz-Signature=" in r.headers["location"]
    import httpx

    fetched = httpx.get(r.headers["location"])
    assert fetched.status_code == 200 and fetched.content.endswith(b"a.jpg")


def test_import_manifest_object_checks_allowed_buckets(ws, bucket):
    lines = [{"source-ref": f"s3://{bucket}/img/1.jpg"}, {"source-ref": "s3://elsewhere/2.jpg"}]
    put(bucket, "in/input.manifest", "\n".join(json.dumps(x) for x in lines).encode())
    with pytest.raises(BadInput) as info, ws.db.session_scope() as s:
        import_source(s, "m", f"s3://{bucket}/in/input.manifest", allowed_roots=[])
    assert [e["line"] for e in info.value.detail["errors"]] == [1, 2]
    with pytest.raises(BadInput) as info, ws.db.session_scope() as s:
        import_source(
            s, "m", f"s3://{bucket}/in/input.manifest", allowed_roots=[f"s3://{bucket}/img"]
        )
    errors = info.value.detail["errors"]
    assert errors == [
        {
            "line": 2,
            "reason": "source-ref 's3://elsewhere/2.jpg' is outside the allowed roots and buckets",
        }
    ]
    with ws.db.session_scope() as s:
        assert (
            import_source(
                s,
                "m",
                f"s3://{bucket}/in/input.manifest",
                allowed_roots=[f"s3://{bucket}"],
                skip_invalid=True,
                report_path=ws.settings.data_dir / "r.jsonl",
            ).added
            == 1
        )


def test_export_to_s3(ws, bucket, setup_factory):
    setup = setup_factory(ws, n_items=3, n_workers=1)
    setup.job("j", workers_per_item=1)
    dest = f"s3://{bucket}/out/j/manifests/output/output.manifest"
    with ws.db.session_scope(write=False) as s:
        n = export_groundtruth(
            s, get_job(s, "j"), lambda chunks: write_bytes(dest, chunks), now=0.0
        )
    assert n == 3
    loc = parse_s3_uri(dest)
    body = s3_client().get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read().decode()
    assert [json.loads(x)["id"] for x in body.splitlines()] == [
        "item-00000",
        "item-00001",
        "item-00002",
    ]


def test_unsigned_requests_are_refused(bucket):
    import httpx

    put(bucket, "secret.txt", b"x")
    r = httpx.get(f"{os.environ['S3_ENDPOINT_URL']}/{bucket}/secret.txt")
    assert r.status_code == 403
