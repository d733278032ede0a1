"""Calling a hook target: POST the event as JSON to an allowed URL, or run a handler file
in a child process; each with a timeout, and tried again with exponential backoff.

A failure that another try may cure (a connection error, a timeout, HTTP 5xx or 429, a
handler that raised or died) is tried again, up to the target's `tries`; one that it
cannot (another 4xx, a body that is not JSON) ends the call at once. Either way the caller
gets a `HookError` whose text says what happened on the last try.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from truthset import __version__
from truthset.hooks.signing import SIGNATURE_HEADER, signature
from truthset.hooks.targets import HookTarget, call_address

# Seconds before the second try; doubled before each next one.
BACKOFF = 0.5
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_CHILD = str(Path(__file__).with_name("handler_child.py"))


class HookError(Exception):
    """A hook that failed on every try; the text is the last try's reason."""


class _Final(Exception):
    """A failure another try would not cure."""


def post_json(
    url: str, body: bytes, secret: str, timeout: float, headers: dict[str, str] | None = None
) -> bytes:
    """One signed POST; the response body, or an exception (`_Final` for what a retry
    cannot cure).

    The host is resolved here, at call time, and the connection goes to the address that
    was checked (`targets.call_address`), so a name the admin allowed cannot be rebound to
    an address inside the network between the check and the call. Redirects are not
    followed (they could lead to a host nobody allowed); no proxy is used."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    try:
        address = call_address(host, port)
    except PermissionError as exc:
        raise _Final(f"{url}: {exc}") from None
    except OSError as exc:
        raise OSError(f"{url} cannot be reached: {exc}") from None
    connection_class = http.client.HTTPSConnection if https else http.client.HTTPConnection
    # The name stays the connection's host (the Host header, TLS's server name and its
    # certificate check); only the socket goes to the checked address.
    connection = connection_class(host, port, timeout=timeout)
    connection._create_connection = (  # type: ignore[attr-defined]
        lambda addr, conn_timeout, source=None: socket.create_connection(
            (address, addr[1]), conn_timeout, source
        )
    )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": f"truthset/{__version__}",
                SIGNATURE_HEADER: signature(body, secret),
                **(headers or {}),
            },
        )
        response = connection.getresponse()
        status = response.status
        data: bytes = response.read(MAX_RESPONSE_BYTES + 1)
    except TimeoutError:
        raise OSError(f"no answer from {url} within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        raise OSError(f"{url} cannot be reached: {exc or type(exc).__name__}") from None
    finally:
        connection.close()
    if not 200 <= status < 300:
        detail = data[:300].decode("utf-8", "replace").strip()
        reason = f"HTTP {status} from {url}" + (f": {detail}" if detail else "")
        if status == 429 or status >= 500:
            raise OSError(reason)
        if 300 <= status < 400:
            reason += " (redirects are not followed)"
        raise _Final(reason)
    if len(data) > MAX_RESPONSE_BYTES:
        raise _Final(f"the response of {url} is over {MAX_RESPONSE_BYTES} bytes")
    return data


def run_handler(path: str, body: bytes, timeout: float) -> bytes:
    """`lambda_handler(event, context)` of the file at `path`, in a child process that is
    killed (with anything it started) when it runs past `timeout`."""
    child = subprocess.Popen(
        [sys.executable, "-I", _CHILD, path, str(timeout)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = child.communicate(body, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        raise OSError(f"handler {path} ran past its timeout of {timeout:g} s") from None
    if child.returncode != 0:
        text = err.decode("utf-8", "replace")
        marker = text.rfind("HANDLER-ERROR: ")
        if marker >= 0:
            reason = text[marker + len("HANDLER-ERROR: ") :].strip()[:500]
        else:
            reason = f"exited with status {child.returncode}: {text.strip()[-300:]}"
        raise OSError(f"handler {path} failed: {reason}")
    return out


def call_target(
    target: HookTarget,
    event: Any,
    *,
    headers: dict[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Send `event` to the target and return its JSON response (HookError on failure)."""
    body = orjson.dumps(event)
    reason = ""
    for attempt in range(target.tries):
        if attempt:
            sleep(BACKOFF * 2 ** (attempt - 1))
        try:
            if target.url is not None:
                data = post_json(target.url, body, target.secret, target.timeout, headers)
            else:
                assert target.handler is not None
                data = run_handler(target.handler, body, target.timeout)
        except _Final as exc:
            raise HookError(str(exc)) from None
        except OSError as exc:
            reason = str(exc)
            continue
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            raise HookError(
                f"{target.description} answered {data[:200]!r}, which is not JSON"
            ) from None
    tried = f" (tried {target.tries} times)" if target.tries > 1 else ""
    raise HookError(reason + tried)
