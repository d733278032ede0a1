"""Where a request came from: the peer's address, or, when the peer is a trusted proxy,
the address it forwarded (X-Forwarded-For, read from the right: the first hop that is not
a trusted proxy is the client; what a client writes further left is never believed).

Trusted proxies are a workforce setting (`trusted_proxies`, CIDRs; none by default, so
X-Forwarded-For is ignored) an admin sets; every app process re-reads it within
`SETTINGS_TTL` seconds.
"""

from __future__ import annotations

import functools
import ipaddress
import threading
import time
from collections.abc import MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool

from truthset.audit import repository
from truthset.errors import BadInput

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SETTINGS_TTL = 1.0
TRUSTED_PROXIES = "trusted_proxies"

_cache: dict[int, tuple[float, list[Network]]] = {}
_lock = threading.Lock()


def parse_networks(field: str, values: Any) -> list[Network]:
    """CIDRs (or single addresses) as networks; a value that is none says which."""
    if not isinstance(values, list):
        raise BadInput(f"{field} must be a list of CIDRs such as '203.0.113.0/24'")
    networks: list[Network] = []
    for n, value in enumerate(values):
        try:
            networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise BadInput(
                f"{field}[{n}] {shown} is not a CIDR (such as '203.0.113.0/24' or '2001:db8::/32')"
            ) from None
    return networks


@functools.lru_cache(maxsize=4096)  # the same few thousand clients ask all day
def parse_address(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1 to every rule
    return address


def within(address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: list[Network]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: list[Network]
) -> str | None:
    if not trusted or not forwarded_for:
        return peer
    address = parse_address(peer)
    if address is None:
        return peer  # not an IP (a test client's name, a Unix socket): as it is
    for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
        if not within(address, trusted):
            break
        forwarded = parse_address(hop)
        if forwarded is None:
            break  # a garbled hop: the last address we could vouch for stands
        address = forwarded
    return str(address)


def cached_trusted_proxies(db: Any) -> list[Network] | None:
    """The cached trusted proxies of `db`'s workspace, or None when they must be read."""
    with _lock:
        cached = _cache.get(id(db))
    return cached[1] if cached is not None and cached[0] > time.monotonic() else None


def trusted_proxies(db: Any) -> list[Network]:
    """The trusted proxies of the workspace behind `db` (cached for SETTINGS_TTL)."""
    cached = cached_trusted_proxies(db)
    if cached is not None:
        return cached
    now = time.monotonic()
    with db.session_scope(write=False) as session:
        networks = parse_networks(
            TRUSTED_PROXIES, repository.setting(session, TRUSTED_PROXIES) or []
        )
    with _lock:
        _cache[id(db)] = (now + SETTINGS_TTL, networks)
    return networks


def forget_settings() -> None:
    with _lock:
        _cache.clear()


def _forwarded_for(scope: MutableMapping[str, Any]) -> str | None:
    hops = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-forwarded-for"]
    return ",".join(hops) if hops else None


async def request_address(db: Any, scope: MutableMapping[str, Any]) -> str | None:
    """The client address of an ASGI request (the settings read off the event loop when
    the cache has lapsed, about once a second)."""
    trusted = cached_trusted_proxies(db)
    if trusted is None:
        trusted = await run_in_threadpool(trusted_proxies, db)
    peer = scope.get("client")
    if not trusted:  # the common case: no header to read
        return peer[0] if peer else None
    return client_address(peer[0] if peer else None, _forwarded_for(scope), trusted)
