"""Calling hook targets: the signed POST, retries with backoff, timeouts, handler files in a
child process, and what the admin allows."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import time
from pathlib import Path

import pytest

from hooks.conftest import HookServer, write_handler
from truthset.config import load_settings
from truthset.errors import BadInput
from truthset.hooks import calling, targets
from truthset.hooks.calling import HookError, call_target
from truthset.hooks.targets import HookTarget, call_address, host_allowed, parse_target


def target(url: str | None = None, handler: str | None = None, **kw: object) -> HookTarget:
    opts: dict[str, object] = {"secret": "s3cret", "timeout": 2.0, "tries": 3, **kw}
    return HookTarget(url=url, handler=handler, **opts)  # type: ignore[arg-type]


def test_post_is_signed_with_the_secret(server: HookServer) -> None:
    server.replies = [(200, {"ok": 1})]
    assert call_target(target(server.url + "/pre"), {"a": [1, 2]}) == {"ok": 1}
    path, headers, body = server.requests[0]
    assert path == "/pre"
    assert json.loads(body) == {"a": [1, 2]}
    want = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Truthset-Signature"] == want
    assert headers["Content-Type"] == "application/json"


def test_server_errors_are_tried_again_with_doubling_waits(
    server: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calling, "BACKOFF", 0.5)
    waits: list[float] = []
    server.replies = [(500, {"e": 1}), (503, {"e": 2}), (200, {"third": True})]
    assert call_target(target(server.url), {}, sleep=waits.append) == {"third": True}
    assert len(server.requests) == 3
    assert waits == [0.5, 1.0]


def test_a_hook_failing_every_try_names_the_last_reason(server: HookServer) -> None:
    server.replies = [(500, b"boom")]
    with pytest.raises(HookError, match=r"HTTP 500 .*boom \(tried 3 times\)"):
        call_target(target(server.url), {})
    assert len(server.requests) == 3


def test_a_client_error_is_not_tried_again(server: HookServer) -> None:
    server.replies = [(403, b"denied")]
    with pytest.raises(HookError, match="HTTP 403"):
        call_target(target(server.url), {})
    assert len(server.requests) == 1


def test_an_answer_that_is_not_json_fails(server: HookServer) -> None:
    server.replies = [(200, b"<html>")]
    with pytest.raises(HookError, match="not JSON"):
        call_target(target(server.url), {})


def test_a_slow_server_times_out_on_each_try(server: HookServer) -> None:
    server.delay = 0.6
    started = time.perf_counter()
    with pytest.raises(HookError, match=r"within 0.2 s \(tried 2 times\)"):
        call_target(target(server.url, timeout=0.2, tries=2), {})
    assert time.perf_counter() - started < 1.5


def test_nothing_listens(tmp_path: Path) -> None:
    with pytest.raises(HookError, match="cannot be reached"):
        call_target(target("http://127.0.0.1:9/", tries=1), {})


def test_handler_file_gets_the_event_and_a_lambda_context(handler_dir: Path) -> None:
    path = write_handler(
        handler_dir,
        "echo.py",
        "def lambda_handler(event, context):\n"
        "    print('logs go to stderr, not into the answer')\n"
        "    return {'got': event, 'fn': context.function_name,\n"
        "            'left': context.get_remaining_time_in_millis() > 0}\n",
    )
    assert call_target(target(handler=str(path)), {"x": "é"}) == {
        "got": {"x": "é"},
        "fn": "echo",
        "left": True,
    }


def test_handler_that_raises_or_sleeps_fails_with_the_reason(handler_dir: Path) -> None:
    bad = write_handler(
        handler_dir, "bad.py", "def lambda_handler(event, context):\n    raise ValueError('no')\n"
    )
    with pytest.raises(HookError, match=r"ValueError: no \(tried 3 times\)"):
        call_target(target(handler=str(bad)), {})
    slow = write_handler(
        handler_dir,
        "slow.py",
        "import time\ndef lambda_handler(event, context):\n    time.sleep(30)\n",
    )
    started = time.perf_counter()
    with pytest.raises(HookError, match="ran past its timeout of 0.5 s"):
        call_target(target(handler=str(slow), timeout=0.5, tries=1), {})
    assert time.perf_counter() - started < 5
    missing = write_handler(handler_dir, "none.py", "x = 1\n")
    with pytest.raises(HookError, match="defines no lambda_handler"):
        call_target(target(handler=str(missing), tries=1), {})


def test_hosts_and_folders_are_the_admins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handler_dir: Path
) -> None:
    assert host_allowed("hooks.example.com", 443, ("*.example.com",))
    assert not host_allowed("example.com.evil.org", None, ("*.example.com",))
    assert host_allowed("localhost", 8080, ("localhost:8080",))
    assert not host_allowed("localhost", 8081, ("localhost:8080",))
    monkeypatch.setenv("TRUTHSET_HOOK_HOSTS", "hooks.example.com")
    monkeypatch.setenv("TRUTHSET_HOOK_HANDLER_DIRS", str(handler_dir))
    settings = load_settings(tmp_path / "d")
    parse_target({"url": "https://hooks.example.com/x"}, settings, "f")
    with pytest.raises(BadInput, match="host '169.254.169.254' is not one the admin allowed"):
        parse_target({"url": "http://169.254.169.254/latest"}, settings, "settings.pre")
    outside = tmp_path / "elsewhere.py"
    outside.write_text("def lambda_handler(e, c):\n    return 1\n")
    with pytest.raises(BadInput, match="outside the folders the admin allowed"):
        parse_target({"handler": str(outside)}, settings, "f")
    sneaky = str(handler_dir / ".." / "elsewhere.py")
    with pytest.raises(BadInput, match="outside the folders"):
        parse_target({"handler": sneaky}, settings, "f")
    with pytest.raises(BadInput, match="exactly one of url and handler"):
        parse_target({"url": "https://hooks.example.com", "handler": str(outside)}, settings, "f")
    with pytest.raises(BadInput, match="unknown keys lambda"):
        parse_target({"lambda": "x"}, settings, "f")
    with pytest.raises(BadInput, match="timeout"):
        parse_target({"url": "https://hooks.example.com", "timeout": 0}, settings, "f")


def test_a_name_resolving_inside_the_network_is_refused_at_call_time(
    server: HookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: hosts are allowed by name, and "localhost" answers 127.0.0.1 now.
    monkeypatch.delenv("TRUTHSET_HOOK_ALLOW_PRIVATE", raising=False)
    by_name = f"http://localhost:{server.port}/pre"
    with pytest.raises(HookError, match=r"host 'localhost' resolves to .*127\.0\.0\.1.*inside"):
        call_target(target(by_name), {"a": 1})
    assert server.requests == []  # refused before anything was sent, and not tried again
    with pytest.raises(PermissionError, match="TRUTHSET_HOOK_ALLOW_PRIVATE=1"):
        call_address("localhost", server.port)
    # An allow-list entry naming the IP is the admin's choice: 127.0.0.1 is called.
    assert call_address("127.0.0.1", server.port) == "127.0.0.1"
    call_target(target(server.url), {"a": 1})
    assert len(server.requests) == 1
    # So is a private address the admin allowed for every name.
    monkeypatch.setenv("TRUTHSET_HOOK_ALLOW_PRIVATE", "1")
    call_target(target(by_name), {"a": 2})
    path, headers, body = server.requests[-1]
    assert (path, json.loads(body)) == ("/pre", {"a": 2})
    assert headers["Host"] == f"localhost:{server.port}"  # the name, not the address


def test_public_addresses_pass_and_private_ones_do_not() -> None:
    assert not targets._reachable_only_inside(ipaddress.ip_address("93.184.216.34"))
    for inside in ("10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "fd00::1", "100.64.0.1"):
        assert targets._reachable_only_inside(ipaddress.ip_address(inside)), inside
    assert targets._reachable_only_inside(ipaddress.ip_address("::ffff:127.0.0.1"))
    # A wildcard entry covers names only, never an IP address.
    assert not host_allowed("127.0.0.1", None, ("*.0.0.1",))
    assert host_allowed("::1", 80, ("[::1]",))


def test_a_redirect_is_not_followed(server: HookServer) -> None:
    server.replies = [(302, {"to": "elsewhere"})]
    with pytest.raises(HookError, match="HTTP 302 .*redirects are not followed"):
        call_target(target(server.url), {})
    assert len(server.requests) == 1
