"""Signature Version 4 checks on requests signed by botocore's signer."""

from __future__ import annotations

import datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from truthset.sagemaker.auth import AwsError, IncomingRequest, verify

KEY, SECRET = "AKIAEXAMPLEEXAMPLE00", "s" * 40
BODY = b'{"MaxResults": 5}'


def signed(body: bytes = BODY, service: str = "sagemaker") -> IncomingRequest:
    req = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8000/",
        data=body,
        headers={"X-Amz-Target": "SageMaker.ListLabelingJobs", "Host": "127.0.0.1:8000"},
    )
    SigV4Auth(Credentials(KEY, SECRET), service, "us-east-1").add_auth(req)
    headers = [(k.lower(), v) for k, v in req.headers.items()]
    return IncomingRequest(method="POST", path="/", query="", headers=headers, body=body)


def secret_of(key_id: str):
    return (SECRET, "owner") if key_id == KEY else None


def code(request: IncomingRequest, **kw) -> str:
    with pytest.raises(AwsError) as info:
        verify(request, secret_of, **kw)
    return info.value.code


def test_a_good_signature_names_its_owner_and_region():
    found = verify(signed(), secret_of)
    assert (found.owner, found.key_id, found.region) == ("owner", KEY, "us-east-1")


def test_a_changed_body_or_header_breaks_the_signature():
    request = signed()
    tampered = IncomingRequest("POST", "/", "", request.headers, b'{"MaxResults": 6}')
    assert code(tampered) == "InvalidSignatureException"
    headers = [
        (k, "SageMaker.StopLabelingJob" if k == "x-amz-target" else v) for k, v in request.headers
    ]
    assert code(IncomingRequest("POST", "/", "", headers, BODY)) == "InvalidSignatureException"
    declared = [*request.headers, ("x-amz-content-sha256", "0" * 64)]
    assert code(IncomingRequest("POST", "/", "", declared, BODY)) == "InvalidSignatureException"


def test_dates_far_from_now_and_other_services_are_refused():
    now = datetime.datetime.now(datetime.UTC)
    assert code(signed(), now=now + datetime.timedelta(minutes=16)) == "InvalidSignatureException"
    assert code(signed(), now=now - datetime.timedelta(minutes=16)) == "InvalidSignatureException"
    verify(signed(), secret_of, now=now + datetime.timedelta(minutes=14))
    assert code(signed(service="s3")) == "InvalidSignatureException"
    session = [*signed().headers, ("x-amz-security-token", "t")]
    assert code(IncomingRequest("POST", "/", "", session, BODY)) == "UnrecognizedClientException"
