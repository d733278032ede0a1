"""The standing check: schemathesis over the OpenAPI document against a live server (uvicorn
on 127.0.0.1, a workspace of its own), a few positive and negative examples per operation,
as an admin. No response may be a 500, and every error body must be the documented model:
`{"error": <kind>, "detail": ...}` (a 422's detail the list of field problems).

The attack's fuzzer (3,738 requests) found 500s and 26-27 responses a pass whose 422 body
did not match the document (FastAPI documents an HTTPValidationError the handlers never
send; api/errors.document_error_model now states the model on every operation)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from support import Setup, bearer
from truthset.api.deps import forget_all_tokens
from truthset.server.app import create_app

# A few examples per operation: the whole pass stays well under a minute of CI.
EXAMPLES = int(os.environ.get("TRUTHSET_FUZZ_EXAMPLES", "3"))


class Live:
    def __init__(self, url: str, headers: dict[str, str]):
        self.url, self.headers = url, headers


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from conftest import make_workspace

    ws = make_workspace(tmp_path_factory.mktemp("fuzz"))
    setup = Setup(ws, n_items=5, n_workers=2)
    setup.job("job", workers_per_item=1)
    forget_all_tokens()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(ws, run_executor=False), log_level="critical")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline, "the test server did not start"
        time.sleep(0.05)
    try:
        yield Live(f"http://127.0.0.1:{port}", bearer(setup.admin_token))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        ws.close()


@pytest.fixture(scope="module")
def api_schema(live: Live) -> Any:
    schema = schemathesis.openapi.from_url(f"{live.url}/api/openapi.json")
    schema.config.update(base_url=live.url)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES,
        no_shrink=True,
        deterministic=True,
    )
    return schema


def _error_body_problem(response: Any) -> str | None:
    """Why an error response's body is not the documented model, or None."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]!r}"
    if not isinstance(body, dict) or set(body) != {"error", "detail"}:
        return f"keys {sorted(body) if isinstance(body, dict) else type(body).__name__}"
    if not isinstance(body["error"], str):
        return f"error is {body['error']!r}"
    return None


def _fuzz(operation: Any, mode: GenerationMode, live: Live, found: list[str]) -> int:
    """Run a few examples of one operation in one mode; a problem goes to `found` (the
    first per operation and mode: hypothesis stops there). Returns the requests sent."""
    sent = [0]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    def run(case: Any) -> None:
        response = case.call(base_url=live.url, headers=live.headers, timeout=30)
        sent[0] += 1
        where = f"{case.method} {case.formatted_path} ({mode.value}) -> {response.status_code}"
        problem = _error_body_problem(response)
        assert problem is None, f"{where}: {problem}"
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    try:
        run()
    except Unsatisfiable:  # nothing of this operation can be made invalid (free strings)
        pass
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis's FailureGroup is a group
        found.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"[:800])
    return sent[0]


def _can_be_invalid(doc: dict[str, Any], path: str, method: str) -> bool:
    """Whether negative examples exist: a body, or a parameter that is more than a free
    string (hypothesis spends seconds proving there is none for `GET /jobs/{name}`)."""
    operation = doc["paths"][path][method]
    if "requestBody" in operation:
        return True
    for parameter in [*doc["paths"][path].get("parameters", []), *operation.get("parameters", [])]:
        schema = parameter.get("schema", {})
        if set(schema) - {"type", "title", "description", "default"} or schema.get("type") not in (
            "string",
            None,
        ):
            return True
    return False


def test_no_500_and_every_error_is_the_documented_model(api_schema: Any, live: Live) -> None:
    found: list[str] = []
    sent = 0
    started = time.monotonic()
    doc = api_schema.raw_schema
    for result in api_schema.get_all_operations():
        operation = result.ok()
        modes = [GenerationMode.POSITIVE]
        if _can_be_invalid(doc, operation.path, operation.method.lower()):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            sent += _fuzz(operation, mode, live, found)
    seconds = time.monotonic() - started
    print(f"schema fuzz: {sent} requests in {seconds:.1f} s, {len(found)} problems")
    assert sent > 100
    assert found == [], "\n\n".join(found)


def test_the_document_states_the_error_model_on_every_operation(api_schema: Any) -> None:
    doc = api_schema.raw_schema
    missing = [
        f"{method.upper()} {path}"
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and not {"4XX", "5XX"} <= set(operation.get("responses", {}))
    ]
    assert missing == []
    assert "HTTPValidationError" not in str(doc)
