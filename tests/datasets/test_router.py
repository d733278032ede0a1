"""The dataset routes through the app's HTTP API: create, read, page, delete, import in
the request, and who may."""

from __future__ import annotations

import pytest

from support import bearer, write_manifest


@pytest.fixture
def setup(ws, setup_factory):
    """Dataset "texts" (3 items) and a job over it; an admin and a worker."""
    made = setup_factory(ws, n_items=3, n_workers=1)
    made.job("reader", workers_per_item=1)
    made.a = bearer(made.admin_token)
    made.w = bearer(made.worker_tokens["w00"])
    return made


def error(response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and body["error"] == kind, body
    return body["detail"]


def test_create_read_and_delete_a_dataset(client, setup):
    r = client.post("/api/datasets", json={"name": "fresh"}, headers=setup.a)
    assert r.status_code == 201
    created = r.json()
    assert {k: created[k] for k in ("name", "items", "version")} == {
        "name": "fresh",
        "items": 0,
        "version": 0,
    }
    assert client.get("/api/datasets/fresh", headers=setup.a).json() == created
    texts = client.get("/api/datasets/texts", headers=setup.a).json()
    assert (texts["items"], texts["version"]) == (3, 1)
    assert [d["name"] for d in client.get("/api/datasets", headers=setup.a).json()] == [
        "texts",
        "fresh",
    ]
    assert client.delete("/api/datasets/fresh", headers=setup.a).status_code == 204
    r = client.get("/api/datasets/fresh", headers=setup.a)
    assert error(r, 404, "not_found") == "dataset 'fresh' not found"


def test_a_duplicate_or_badly_named_dataset_is_refused(client, setup):
    r = client.post("/api/datasets", json={"name": "texts"}, headers=setup.a)
    assert error(r, 409, "conflict") == "a dataset named 'texts' already exists"
    r = client.post("/api/datasets", json={"name": "no spaces"}, headers=setup.a)
    assert "dataset name 'no spaces' must be" in error(r, 400, "bad_input")
    r = client.post("/api/datasets", json={"name": "x", "extra": 1}, headers=setup.a)
    assert [p["field"] for p in error(r, 422, "validation_error")] == ["extra"]


def test_items_come_in_pages(client, setup):
    r = client.get("/api/datasets/texts/items", headers=setup.a)
    assert [i["id"] for i in r.json()] == ["item-00000", "item-00001", "item-00002"]
    assert r.json()[0]["data"] == {"id": "item-00000", "source": "text number 0"}
    r = client.get("/api/datasets/texts/items?offset=1&limit=1", headers=setup.a)
    assert [i["id"] for i in r.json()] == ["item-00001"]
    r = client.get("/api/datasets/texts/items?limit=0", headers=setup.a)
    assert error(r, 422, "validation_error")
    r = client.get("/api/datasets/nope/items", headers=setup.a)
    assert error(r, 404, "not_found") == "dataset 'nope' not found"


def test_a_dataset_in_use_cannot_be_deleted(client, setup):
    r = client.delete("/api/datasets/texts", headers=setup.a)
    assert error(r, 409, "conflict") == "job 'reader' uses dataset 'texts'; delete the job first"
    assert client.get("/api/datasets/texts", headers=setup.a).json()["items"] == 3
    r = client.delete("/api/datasets/nope", headers=setup.a)
    assert error(r, 404, "not_found") == "dataset 'nope' not found"


def test_an_import_in_the_request_grows_the_dataset(ws, client, setup):
    path = write_manifest(
        ws.settings.media_dir / "more.manifest",
        [{"id": "new", "source": "fresh"}, {"id": "item-00000", "source": "text number 0"}],
    )
    r = client.post(
        "/api/datasets/texts/imports", json={"source": str(path), "wait": True}, headers=setup.a
    )
    assert r.status_code == 202 and r.json()["run"] is None
    result = r.json()["result"]
    assert (result["added"], result["duplicates"], result["lines"]) == (1, 1, 2)
    texts = client.get("/api/datasets/texts", headers=setup.a).json()
    assert (texts["items"], texts["version"]) == (4, 2)
    items = client.get("/api/datasets/texts/items", headers=setup.a).json()
    assert items[-1]["id"] == "new"


def test_a_source_outside_the_allowed_roots_is_refused(client, setup, tmp_path):
    outside = write_manifest(tmp_path / "elsewhere" / "m.manifest", [{"source": "x"}])
    r = client.post(
        "/api/datasets/texts/imports",
        json={"source": str(outside), "wait": True},
        headers=setup.a,
    )
    assert "outside the server's allowed roots" in error(r, 400, "bad_input")
    assert client.get("/api/datasets/texts", headers=setup.a).json()["items"] == 3


def test_a_worker_cannot_touch_datasets(client, setup):
    for method, path in [
        ("get", "/api/datasets"),
        ("post", "/api/datasets"),
        ("get", "/api/datasets/texts"),
        ("get", "/api/datasets/texts/items"),
        ("delete", "/api/datasets/texts"),
        ("post", "/api/datasets/texts/imports"),
    ]:
        kw = {"json": {"name": "x"}} if method == "post" else {}
        r = getattr(client, method)(path, headers=setup.w, **kw)
        assert error(r, 403, "forbidden") == "this needs the admin or requester role", path
    assert client.get("/api/datasets/texts", headers=setup.a).json()["items"] == 3
