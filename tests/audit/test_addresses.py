"""Client addresses: the peer's, unless the peer is a trusted proxy; X-Forwarded-For is
read from the right and only through trusted hops."""

from __future__ import annotations

import pytest

from truthset.audit.addresses import client_address, parse_networks
from truthset.errors import BadInput

PROXIES = parse_networks("trusted_proxies", ["10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", None, [], "203.0.113.9"),
        # Off by default: a client's own header changes nothing.
        ("203.0.113.9", "1.2.3.4", [], "203.0.113.9"),
        # A peer that is not a trusted proxy: its header is not believed.
        ("203.0.113.9", "1.2.3.4", PROXIES, "203.0.113.9"),
        ("10.0.0.2", "198.51.100.4", PROXIES, "198.51.100.4"),
        # A client's forged entry left of the real one is never reached.
        ("10.0.0.2", "6.6.6.6, 198.51.100.4", PROXIES, "198.51.100.4"),
        # Two proxies in a row.
        ("10.0.0.2", "198.51.100.4, 10.1.1.1", PROXIES, "198.51.100.4"),
        # Everything trusted: the leftmost hop.
        ("10.0.0.2", "10.9.9.9", PROXIES, "10.9.9.9"),
        ("10.0.0.2", "garbage, 10.1.1.1", PROXIES, "10.1.1.1"),
        ("fd00::1", "2001:db8::7", PROXIES, "2001:db8::7"),
        ("::ffff:10.0.0.2", "198.51.100.4", PROXIES, "198.51.100.4"),
        ("::ffff:203.0.113.9", None, [], "::ffff:203.0.113.9"),
        ("testclient", "1.2.3.4", PROXIES, "testclient"),
        (None, "1.2.3.4", PROXIES, None),
    ],
)
def test_client_address(peer, forwarded, trusted, expected):
    assert client_address(peer, forwarded, trusted) == expected


def test_a_bad_cidr_is_named_with_its_place():
    with pytest.raises(BadInput, match=r"trusted_proxies\[1\] '10.0.0.0/33' is not a CIDR"):
        parse_networks("trusted_proxies", ["10.0.0.0/8", "10.0.0.0/33"])
    with pytest.raises(BadInput, match="must be a list of CIDRs"):
        parse_networks("trusted_proxies", "10.0.0.0/8")
