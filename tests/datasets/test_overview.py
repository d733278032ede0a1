"""The console's datasets page through the HTTP API: what a dataset holds and which task
types fit it, items in keyset pages, the import history with its bad-line reports."""

from __future__ import annotations

import json

import pytest

from support import bearer, wait_run, write_manifest


@pytest.fixture
def ws(any_ws):
    """Every test on SQLite and on PostgreSQL (the app's client fixture takes `ws`)."""
    return any_ws


@pytest.fixture
def setup(ws, setup_factory):
    """Dataset "texts" (3 items) and a job "reader" over it; an admin and a worker."""
    made = setup_factory(ws, n_items=3, n_workers=1)
    made.job("reader", workers_per_item=1)
    made.a = bearer(made.admin_token)
    made.w = bearer(made.worker_tokens["w00"])
    return made


def test_the_overview_names_the_kinds_and_the_task_types_that_fit(ws, client, setup):
    texts = client.get("/api/datasets/texts/overview", headers=setup.a).json()
    assert (texts["items"], texts["kinds"], texts["sampled"]) == (3, {"text": 3}, 3)
    assert texts["jobs"] == ["reader"]
    assert {"text-classification", "named-entity-recognition", "custom"} <= set(texts["task_types"])
    assert not {"bounding-box", "audio-transcription"} & set(texts["task_types"])
    assert texts["task_types"][-1] == "custom"
    media = ws.settings.media_dir
    rows = [{"source-ref": f"{media}/p{i}.jpg"} for i in range(4)]
    rows.append({"source-ref": f"{media}/a.wav"})
    path = write_manifest(ws.settings.media_dir / "mixed.manifest", rows)
    r = client.post(
        "/api/datasets/mixed/imports", json={"source": str(path), "wait": True}, headers=setup.a
    )
    assert r.status_code == 202, r.text
    mixed = client.get("/api/datasets/mixed/overview", headers=setup.a).json()
    assert mixed["kinds"] == {"image": 4, "audio": 1} and mixed["jobs"] == []
    # An audio file among the images: no image task type fits every item, nor an audio one.
    assert mixed["task_types"] == ["custom"]
    empty = client.post("/api/datasets", json={"name": "empty"}, headers=setup.a)
    assert empty.status_code == 201
    fresh = client.get("/api/datasets/empty/overview", headers=setup.a).json()
    assert fresh["kinds"] == {} and "bounding-box" in fresh["task_types"]
    for route in ("overview", "page", "import-history", "import-reports/texts-x.jsonl"):
        r = client.get(f"/api/datasets/texts/{route}", headers=setup.w)
        assert r.status_code == 403, route
        assert r.json()["detail"] == "this needs the admin or requester role"


def test_items_come_in_keyset_pages_to_the_last(ws, client, setup):
    rows = [{"id": f"n{i:03d}", "source": f"text {i}"} for i in range(120)]
    path = write_manifest(ws.settings.media_dir / "many.manifest", rows[:100])
    r = client.post(
        "/api/datasets/many/imports", json={"source": str(path), "wait": True}, headers=setup.a
    )
    assert r.status_code == 202, r.text
    assert client.get("/api/datasets/many/overview", headers=setup.a).json()["items"] == 100
    # The count follows the next import (and a dataset made again under the same name).
    path = write_manifest(ws.settings.media_dir / "many.manifest", rows)
    r = client.post(
        "/api/datasets/many/imports", json={"source": str(path), "wait": True}, headers=setup.a
    )
    assert r.json()["result"]["added"] == 20
    assert client.get("/api/datasets/many/overview", headers=setup.a).json()["items"] == 120
    seen, after, pages = [], None, 0
    while True:
        params = {"limit": 50, **({"after": after} if after else {})}
        page = client.get("/api/datasets/many/page", params=params, headers=setup.a).json()
        seen += [i["id"] for i in page["items"]]
        pages += 1
        after = page["next"]
        if after is None:
            break
    assert (pages, seen) == (3, sorted(r["id"] for r in rows))
    first = client.get("/api/datasets/many/page?limit=2", headers=setup.a).json()
    assert first["next"] == "n001"
    assert {k: first["items"][0][k] for k in ("id", "data", "kind", "media_url")} == {
        "id": "n000",
        "data": rows[0],
        "kind": "text",
        "media_url": None,
    }
    r = client.get("/api/datasets/many/page?limit=501", headers=setup.a)
    assert r.status_code == 422
    r = client.get("/api/datasets/nope/page", headers=setup.a)
    assert r.status_code == 404 and r.json()["detail"] == "dataset 'nope' not found"
    assert client.delete("/api/datasets/many", headers=setup.a).status_code == 204
    path = write_manifest(ws.settings.media_dir / "few.manifest", rows[:7])
    r = client.post(
        "/api/datasets/many/imports", json={"source": str(path), "wait": True}, headers=setup.a
    )
    assert client.get("/api/datasets/many/overview", headers=setup.a).json()["items"] == 7


def test_the_import_history_keeps_each_import_and_its_bad_lines(ws, client, setup):
    good = write_manifest(ws.settings.media_dir / "good.manifest", [{"source": "one more"}])
    r = client.post(
        "/api/datasets/texts/imports", json={"source": str(good), "wait": True}, headers=setup.a
    )
    assert r.status_code == 202, r.text
    lines = b'{"source": "fine"}\nnot json\n{"no": "source or ref"}\n'
    r = client.post(
        "/api/datasets/texts/upload?skip_invalid=true",
        files={"file": ("batch.jsonl", lines)},
        headers=setup.a,
    )
    assert r.status_code == 201, r.text
    assert r.json()["invalid"] >= 1
    r = client.post(
        "/api/datasets/texts/upload", files={"file": ("bad.jsonl", b"not json\n")}, headers=setup.a
    )
    assert r.status_code == 400
    r = client.post("/api/datasets/texts/imports", json={"source": str(good)}, headers=setup.a)
    assert r.status_code == 202 and r.json()["run"] is not None
    # The app's embedded run worker takes the run at once on PostgreSQL (procrastinate):
    # wait for it rather than read a state that may already have moved on.
    wait_run(client, r.json()["run"]["id"], setup.a)

    history = client.get("/api/datasets/texts/import-history", headers=setup.a).json()
    assert [(e["how"], e["state"], e["by"]) for e in history] == [
        ("run", "succeeded", "boss"),
        ("upload", "refused", "boss"),
        ("upload", "succeeded", "boss"),
        ("request", "succeeded", "boss"),
    ]
    assert history[0]["source"] == str(good) and history[1]["error"] == "answered 400"
    report = history[2]["report"]
    assert report and report.startswith("texts-") and history[3]["report"] is None
    assert history[2]["counts"] == {
        "lines": 3,
        "added": 1,
        "merged": 0,
        "duplicates": 0,
        "invalid": 2,
    }
    assert history[2]["source"] == "batch.jsonl" and len(history[2]["errors"]) == 2
    assert history[3]["counts"]["added"] == 1 and history[3]["source"] == str(good)
    bad = client.get(f"/api/datasets/texts/import-reports/{report}", headers=setup.a).json()
    assert bad["more"] is False and [b["line"] for b in bad["lines"]] == [2, 3][: len(bad["lines"])]
    assert all(b["reason"] for b in bad["lines"]), json.dumps(bad)
    for wrong in ("..%2Fsecret.jsonl", "reader-20260101T000000-abcdef.jsonl"):
        r = client.get(f"/api/datasets/texts/import-reports/{wrong}", headers=setup.a)
        assert r.status_code == 404, wrong


def test_the_batches_of_one_media_upload_are_one_entry():
    from truthset.datasets.service import _one_entry_per_media_upload

    def media(at, by="ann"):
        return {"at": at, "by": by, "how": "media upload", "state": "succeeded"}

    newest_first = [
        media(1000),
        media(990),
        media(900),  # 90 s after the one before it: still the same upload
        {"at": 800, "by": "ann", "how": "upload", "state": "succeeded"},
        media(700, by="bob"),
        media(400, by="bob"),  # 300 s apart: two uploads
    ]
    out = _one_entry_per_media_upload(newest_first)
    assert [(e["how"], e["at"], e.get("batches")) for e in out] == [
        ("media upload", 1000, 3),
        ("upload", 800, None),
        ("media upload", 700, 1),
        ("media upload", 400, 1),
    ]
