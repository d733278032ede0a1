"""Calling a hook target: POST the event as JSON to an allowed URL, or run a handler file
in a child process; each with a timeout, and tried again with exponential backoff.

A failure that another try may cure (a connection error, a timeout, HTTP 5xx or 429, a
handler that raised or died) is tried again, up to the target's `tries`; one that it
cannot (another 4xx, a body that is not JSON) ends the call at once. Either way the caller
gets a `HookError` whose text says what happened on the last try.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from truthset import __version__
from truthset.hooks.signing import SIGNATURE_HEADER, signature
from truthset.hooks.targets import HookTarget

# Seconds before the second try; doubled before each next one.
BACKOFF = 0.5
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_CHILD = str(Path(__file__).with_name("handler_child.py"))


class HookError(Exception):
    """A hook that failed on every try; the text is the last try's reason."""


class _Final(Exception):
    """A failure another try would not cure."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead to a host the admin did not allow: it is an error instead.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_json(
    url: str, body: bytes, secret: str, timeout: float, headers: dict[str, str] | None = None
) -> bytes:
    """One signed POST; the response body, or an exception (`_Final` for what a retry
    cannot cure)."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": f"truthset/{__version__}",
            SIGNATURE_HEADER: signature(body, secret),
            **(headers or {}),
        },
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            data: bytes = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        reason = f"HTTP {exc.code} from {url}" + (f": {detail}" if detail else "")
        if exc.code in (429,) or exc.code >= 500:
            raise OSError(reason) from None
        raise _Final(reason) from None
    except TimeoutError:
        raise OSError(f"no answer from {url} within {timeout:g} s") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise OSError(f"no answer from {url} within {timeout:g} s") from None
        raise OSError(f"{url} cannot be reached: {exc.reason}") from None
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
