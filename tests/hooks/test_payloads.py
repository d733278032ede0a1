"""The consolidation payload's signed link: a signature with non-ASCII characters is a
403 like any other wrong signature (hmac.compare_digest raised TypeError on it: a 500
the schema fuzzer found)."""

from __future__ import annotations

import pytest

from truthset.errors import Forbidden
from truthset.hooks.payloads import read_payload


@pytest.mark.parametrize("signature", ["\u00a5", "caf\u00e9", "\udcff", ""])
def test_a_non_ascii_signature_is_refused(ws, signature):
    with pytest.raises(Forbidden, match="signature is not valid"):
        read_payload(ws.settings, "\u00d4", -51, signature, 0.0)


def test_the_route_answers_403(ws, client):
    r = client.get("/api/hooks/payloads/%C3%94", params={"expires": -51, "signature": "\u00a5"})
    assert r.status_code == 403, r.text
    assert r.json() == {"error": "forbidden", "detail": "the payload link's signature is not valid"}
