"""Hostile requests answered with a 4xx, never a 500 and never a whole body read first."""

from __future__ import annotations

from typing import Any

import pytest

from support import bearer

BIG = 2**63  # one past the largest signed 64-bit integer


def make(ws: Any, setup_factory: Any) -> Any:
    setup = setup_factory(ws, n_items=2, n_workers=1)
    setup.job("job", workers_per_item=1)
    return setup


@pytest.fixture
def any_client(any_ws: Any) -> Any:
    from fastapi.testclient import TestClient

    from truthset.api.deps import forget_all_tokens
    from truthset.server.app import create_app

    forget_all_tokens()
    with TestClient(create_app(any_ws)) as c:
        yield c


# -- request body limit ---------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_by_its_length(ws, setup_factory, client):
    setup = make(ws, setup_factory)
    admin = bearer(setup.admin_token)
    body = b'{"name": "' + b"x" * 11_000_000 + b'"}'
    paths = ("/api/users", "/api/assignments/1/submit", "/api/jobs/job/next")
    for path in (*paths, "/api/datasets/texts/upload"):  # an upload only as multipart
        r = client.post(path, content=body, headers={**admin, "content-type": "application/json"})
        assert r.status_code == 413, (path, r.status_code)
        assert r.json()["error"] == "too_large" and "10000000 bytes" in r.json()["detail"]


def test_a_chunked_body_over_the_limit_is_cut_off_as_it_streams(ws, setup_factory, client):
    setup = make(ws, setup_factory)
    admin = bearer(setup.admin_token)
    sent = []

    def chunks():  # no Content-Length: the server can only count
        for _ in range(30):
            sent.append(1)
            yield b"x" * 1_000_000

    for path in ("/api/users", "/api/assignments/1/submit"):
        sent.clear()
        r = client.post(
            path, content=chunks(), headers={**admin, "content-type": "application/json"}
        )
        assert r.status_code == 413, (path, r.status_code, r.text[:200])
        assert r.json()["error"] == "too_large"


def test_a_multipart_upload_keeps_its_own_larger_limit(ws, setup_factory, monkeypatch):
    from fastapi.testclient import TestClient

    from truthset.server.app import create_app

    setup = make(ws, setup_factory)
    monkeypatch.setenv("TRUTHSET_MAX_BODY_BYTES", "1000")
    lines = b"".join(b'{"source": "line %d of a longer manifest"}\n' % i for i in range(100))
    assert len(lines) > 1000
    with TestClient(create_app(ws, run_executor=False)) as c:
        r = c.post(
            "/api/datasets/up/upload",
            headers=bearer(setup.admin_token),
            files={"file": ("m.manifest", lines, "application/x-ndjson")},
        )
        assert r.status_code == 201, r.text


def test_the_limit_is_configurable_and_small_bodies_pass(ws, setup_factory, monkeypatch):
    from fastapi.testclient import TestClient

    from truthset.server.app import create_app

    setup = make(ws, setup_factory)
    admin = bearer(setup.admin_token)
    monkeypatch.setenv("TRUTHSET_MAX_BODY_BYTES", "1000")
    with TestClient(create_app(ws, run_executor=False)) as c:
        user = {"name": "someone", "role": "worker", "password": "long enough password"}
        assert c.post("/api/users", json=user, headers=admin).status_code == 201
        big = {**user, "name": "x" * 2000}
        r = c.post("/api/users", json=big, headers=admin)
        assert r.status_code == 413 and "1000 bytes" in r.json()["detail"]


# -- integers past 64 bits ------------------------------------------------------------


def test_ids_and_offsets_above_64_bits_are_a_400(any_ws, setup_factory, any_client):
    setup = make(any_ws, setup_factory)
    admin = bearer(setup.admin_token)
    worker = bearer(setup.worker_tokens["w00"])
    calls = [
        ("get", f"/api/items/{BIG}/media", admin),
        ("get", f"/api/assignments/{BIG}/task.html", worker),
        ("post", f"/api/assignments/{BIG}/heartbeat", worker),
        ("post", f"/api/assignments/{BIG}/decline", worker),
        ("post", f"/api/assignments/{BIG}/release", worker),
        ("post", f"/api/assignments/{BIG}/submit", worker),
        ("get", f"/api/runs/{BIG}", admin),
        ("post", f"/api/runs/{BIG}/cancel", admin),
        ("get", f"/api/runs/{BIG}/download", admin),
        ("get", f"/api/jobs/job/items?offset={BIG}", admin),
        ("get", f"/api/jobs/job/labels?offset={BIG}", admin),
    ]
    for method, path, headers in calls:
        kw: dict[str, Any] = {"json": {}} if method == "post" else {}
        r = getattr(any_client, method)(path, headers=headers, **kw)
        assert r.status_code in (400, 404, 422), (path, r.status_code, r.text[:300])
        assert r.json()["error"] in ("bad_request", "not_found", "validation_error"), path
        if r.status_code == 400:
            assert str(BIG) in r.json()["detail"], (path, r.json())


# -- NUL characters, deep lines, TRACE ------------------------------------------------


def test_a_nul_in_instructions_or_a_token_name_is_a_400_naming_the_field(
    any_ws, setup_factory, any_client
):
    setup = make(any_ws, setup_factory)
    admin = bearer(setup.admin_token)
    job = {"name": "j2", "task_type": "text-classification", "labels": ["a", "b"]}
    job |= {"dataset": "texts", "instructions": "read\x00this"}
    r = any_client.post("/api/jobs", json=job, headers=admin)
    assert r.status_code == 400, r.text
    assert "'instructions'" in r.json()["detail"] and "NUL" in r.json()["detail"]
    r = any_client.post("/api/users/boss/tokens", json={"name": "ci\x00"}, headers=admin)
    assert r.status_code == 400 and "'name'" in r.json()["detail"], r.text
    r = any_client.get("/api/jobs/job/labels?worker=w%00", headers=admin)
    assert r.status_code == 400 and "'worker'" in r.json()["detail"], r.text
    assert [j["name"] for j in any_client.get("/api/jobs", headers=admin).json()] == ["job"]


def test_a_manifest_line_with_a_nul_or_nested_1000_deep_is_a_400_naming_it(
    any_ws, setup_factory, any_client
):
    setup = make(any_ws, setup_factory)
    admin = bearer(setup.admin_token)
    deep = '{"source": "x", "a": ' + "[" * 1000 + "]" * 1000 + "}"
    lines = ['{"source": "fine"}', '{"source-ref": "s3://b/a\\u0000.png"}', deep]
    body = ("\n".join(lines) + "\n").encode()
    r = any_client.post(
        "/api/datasets/up/upload",
        headers=admin,
        files={"file": ("m.manifest", body, "application/x-ndjson")},
    )
    assert r.status_code == 400, r.text
    errors = r.json()["detail"]["errors"]
    assert errors[0]["line"] == 2 and "'source-ref'" in errors[0]["reason"]
    assert "NUL" in errors[0]["reason"]
    assert errors[1] == {"line": 3, "reason": "nests deeper than 64 levels of objects and arrays"}
    names = [d["name"] for d in any_client.get("/api/datasets", headers=admin).json()]
    assert "up" not in names


def test_trace_is_a_405_with_allow(client):
    r = client.request("TRACE", "/api/health")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    assert "GET" in r.headers["allow"]
