"""S3 locations: a bucket name no request can carry, '.' or '..' in a key, a missing bucket
while listing — each a BadInput naming the URI, never botocore's error escaping as a 500."""

from __future__ import annotations

import os
import uuid

import pytest

from conftest import require
from truthset.errors import BadInput
from truthset.media.storage import AllowedRoots, iter_s3_keys, parse_s3_uri, s3_error_reason


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("s3://Bad_Bucket!/x.manifest", "'Bad_Bucket!' is not an S3 bucket name"),
        ("s3://bad bucket/x.manifest", "'bad bucket' is not an S3 bucket name"),
        (f"s3://{'b' * 256}/x", "is not an S3 bucket name"),
        ("s3://user@host:9/x", "'user@host:9' is not an S3 bucket name"),
        ("s3://ok/../other/x.manifest", "an S3 key may not hold '.' or '..' segments"),
        ("s3://ok/in/../x.manifest", "an S3 key may not hold '.' or '..' segments"),
        ("s3://ok/./x.manifest", "an S3 key may not hold '.' or '..' segments"),
        ("s3://ok/in/%2E%2E/x.manifest", "an S3 key may not hold '.' or '..' segments"),
        ("s3://ok/..", "an S3 key may not hold '.' or '..' segments"),
        ("s3://", "is not an s3://bucket/key URI"),
        ("s3:///x", "is not an s3://bucket/key URI"),
    ],
)
def test_a_bad_s3_uri_is_named(uri, reason):
    with pytest.raises(BadInput) as info:
        parse_s3_uri(uri)
    assert str(info.value.detail).startswith(repr(uri)) and reason in str(info.value.detail)


def test_good_uris_parse_as_before():
    assert parse_s3_uri("s3://b-1.x_y/a/b.jpg").key == "a/b.jpg"
    assert parse_s3_uri("s3://b/.hidden/..x/a..b").key == ".hidden/..x/a..b"
    assert parse_s3_uri("s3://b/a%20b.jpg").key == "a b.jpg"
    assert parse_s3_uri("s3://b").key == ""


def test_roots_refuse_dot_segments_on_the_fast_path():
    roots = AllowedRoots(["s3://ok/in"])
    assert roots.allows("s3://ok/in/a.jpg")
    assert not roots.allows("s3://ok/in/./a.jpg")
    assert not roots.allows("s3://ok/in/../out/a.jpg")
    assert not roots.allows("s3://Bad_Bucket!/in/a.jpg")


def test_a_missing_bucket_is_named_when_listing():
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    uri = f"s3://nobucket-{uuid.uuid4().hex[:8]}/photos/"
    with pytest.raises(BadInput) as info:
        list(iter_s3_keys(uri))
    bucket = uri[5:].split("/")[0]
    assert info.value.detail == f"{uri!r} cannot be listed (the bucket {bucket!r} does not exist)"


def test_errors_that_are_not_botocores_are_not_described():
    assert s3_error_reason(ValueError("x")) is None
