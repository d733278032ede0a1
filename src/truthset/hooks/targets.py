"""Hook targets: what a job's settings name to call, checked against what the admin allowed.

A target is `{"url": "https://host/path"}` or `{"handler": "/folder/file.py"}`, with an
optional `secret` (the HMAC key of the signature header), `timeout` (seconds, default 10)
and `tries` (default 3). Nothing a user types names a host or a file the server would
reach unless the admin listed it: HTTP hosts come from `TRUTHSET_HOOK_HOSTS`, handler files
must lie inside a folder of `TRUTHSET_HOOK_HANDLER_DIRS` (both read into `Settings`).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from truthset.config import Settings
from truthset.errors import BadInput

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 900.0  # a Lambda's own limit
DEFAULT_TRIES = 3
MAX_TRIES = 10
TARGET_KEYS = ("url", "handler", "secret", "timeout", "tries")


@dataclass(frozen=True)
class HookTarget:
    url: str | None
    handler: str | None
    secret: str
    timeout: float
    tries: int

    @property
    def description(self) -> str:
        return self.url or f"handler {self.handler}"


ALLOW_PRIVATE_ENV = "TRUTHSET_HOOK_ALLOW_PRIVATE"


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def host_allowed(host: str, port: int | None, allowed: tuple[str, ...]) -> bool:
    """`host` (or `host:port`) is listed, or a `*.domain` entry covers it (a name: an IP
    address is allowed only by an entry that is that address)."""
    host = host.lower().rstrip(".")
    is_ip = _ip(host) is not None
    for entry in allowed:
        entry = entry.lower().strip()
        name, _, want_port = entry.partition(":") if not entry.startswith("[") else (entry, "", "")
        if want_port and (port is None or str(port) != want_port):
            continue
        if name.strip("[]") == host or (
            not is_ip and name.startswith("*.") and host.endswith(name[1:])
        ):
            return True
    return False


def _reachable_only_inside(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def call_address(host: str, port: int) -> str:
    """The address to connect to for a hook call to `host`, resolved now.

    Hosts are allowed by name, and a name's DNS answer can change after it was checked (DNS
    rebinding): a name that resolves to a private, loopback, link-local or otherwise
    non-public address is refused (PermissionError) unless the admin set
    TRUTHSET_HOOK_ALLOW_PRIVATE=1. An IP address in the URL was allowed by an allow-list
    entry naming that very address, so the admin chose it: it is used as it is."""
    literal = _ip(host)
    if literal is not None:
        return str(literal)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    if os.environ.get(ALLOW_PRIVATE_ENV) == "1":
        return addresses[0]
    for address in addresses:
        if not _reachable_only_inside(ipaddress.ip_address(address.split("%")[0])):
            return address
    raise PermissionError(
        f"host {host!r} resolves to {', '.join(sorted(set(addresses)))}, an address inside"
        f" the network: hooks reach such addresses only through an allow-list entry that"
        f" names the IP, or with {ALLOW_PRIVATE_ENV}=1"
    )


def check_url(url: Any, settings: Settings, field: str) -> str:
    if not isinstance(url, str) or not url:
        raise BadInput(f"{field} must be an http(s) URL, got {url!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(f"{field} {url!r} must be an http:// or https:// URL")
    if parts.username or parts.password:
        raise BadInput(f"{field} {url!r}: put credentials in the hook's secret, not the URL")
    try:
        port = parts.port
    except ValueError:
        raise BadInput(f"{field} {url!r} has an invalid port") from None
    if not host_allowed(parts.hostname, port, settings.hook_hosts):
        listed = ", ".join(settings.hook_hosts) or "none: see TRUTHSET_HOOK_HOSTS"
        raise BadInput(
            f"{field} {url!r}: host {parts.netloc!r} is not one the admin allowed hooks to"
            f" call ({listed})"
        )
    return url


def check_handler(path: Any, settings: Settings, field: str) -> str:
    if not isinstance(path, str) or not path or "\x00" in path:
        raise BadInput(f"{field} must be the path of a Python file, got {path!r}")
    if not os.path.isabs(path):
        raise BadInput(f"{field} {path!r} is a relative path; give an absolute one")
    if not path.endswith(".py"):
        raise BadInput(f"{field} {path!r} must be a .py file")
    real = Path(os.path.realpath(path))
    folders = [Path(os.path.realpath(d)) for d in settings.hook_handler_dirs]
    if not any(real.parent == d or d in real.parents for d in folders):
        listed = ", ".join(settings.hook_handler_dirs) or "none: see TRUTHSET_HOOK_HANDLER_DIRS"
        raise BadInput(
            f"{field} {path!r} is outside the folders the admin allowed handlers in ({listed})"
        )
    if not real.is_file():
        raise BadInput(f"{field} {path!r} does not exist")
    return str(real)


def parse_target(
    raw: Any, settings: Settings, field: str, *, extra: tuple[str, ...] = ()
) -> HookTarget:
    """A checked target from a settings object (BadInput naming the field otherwise)."""
    if not isinstance(raw, dict):
        raise BadInput(f'{field} must be an object {{"url": ...}} or {{"handler": ...}}')
    unknown = sorted(set(raw) - set(TARGET_KEYS) - set(extra))
    if unknown:
        raise BadInput(
            f"{field}: unknown keys {', '.join(unknown)} (known: {', '.join(TARGET_KEYS + extra)})"
        )
    if ("url" in raw) == ("handler" in raw):
        raise BadInput(f"{field} needs exactly one of url and handler")
    secret = raw.get("secret", "")
    if not isinstance(secret, str) or len(secret) > 1000:
        raise BadInput(f"{field}.secret must be text of at most 1,000 characters")
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout <= MAX_TIMEOUT
    ):
        raise BadInput(f"{field}.timeout must be seconds in (0, {MAX_TIMEOUT:g}], got {timeout!r}")
    tries = raw.get("tries", DEFAULT_TRIES)
    if isinstance(tries, bool) or not isinstance(tries, int) or not 1 <= tries <= MAX_TRIES:
        raise BadInput(f"{field}.tries must be a whole number from 1 to {MAX_TRIES}, got {tries!r}")
    url = check_url(raw["url"], settings, f"{field}.url") if "url" in raw else None
    handler = (
        check_handler(raw["handler"], settings, f"{field}.handler") if "handler" in raw else None
    )
    return HookTarget(url=url, handler=handler, secret=secret, timeout=float(timeout), tries=tries)
