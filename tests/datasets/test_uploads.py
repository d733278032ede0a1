"""Media uploads through the HTTP API: chunks at offsets, resuming, sniffing, limits,
dedupe by content, and the items they become."""

from __future__ import annotations

import io
import json
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from conftest import require
from support import Setup, bearer
from truthset.api.deps import forget_all_tokens
from truthset.api.tokens import issue_token
from truthset.config import load_settings
from truthset.datasets import uploads
from truthset.errors import Conflict
from truthset.media.storage import s3_client
from truthset.server.app import create_app
from truthset.workforce.service import create_user
from truthset.workspace import open_workspace


@pytest.fixture
def setup(ws, setup_factory):
    made = setup_factory(ws, n_items=1, n_workers=1)
    made.a = bearer(made.admin_token)
    made.w = bearer(made.worker_tokens["w00"])
    return made


def png(seed: int, side: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (seed % 256, (seed * 7) % 256, 40)).save(out, "PNG")
    return out.getvalue()


def new_id() -> str:
    return uuid.uuid4().hex


def put(client, headers, upload_id, name, data, *, size=None, offset=0):
    return client.put(
        f"/api/uploads/{upload_id}",
        params={"name": name, "size": len(data) if size is None else size, "offset": offset},
        content=data,
        headers=headers,
    )


def detail(response, status: int, kind: str):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == kind, body
    return body["detail"]


def test_files_in_one_chunk_become_items_of_a_new_dataset(client, setup, ws):
    ids = [new_id(), new_id()]
    for i, upload_id in enumerate(ids):
        r = put(client, setup.a, upload_id, f"cat-{i}.png", png(i))
        assert r.status_code == 200, r.text
        assert r.json()["complete"] is True
    r = client.post("/api/datasets/photos/media", json={"uploads": ids}, headers=setup.a)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["added"], body["duplicates"], body["refused"]) == (2, 0, 0)
    items = client.get("/api/datasets/photos/items", headers=setup.a).json()
    assert [i["data"]["file-name"] for i in items] == ["cat-0.png", "cat-1.png"]
    for item, data in zip(items, [png(0), png(1)], strict=True):
        ref = Path(item["data"]["source-ref"])
        assert ref.parent.parent == ws.settings.media_dir / "uploads"
        assert ref.suffix == ".png" and ref.read_bytes() == data
    # The parts are gone once stored.
    assert list(uploads.parts_dir(ws.settings).iterdir()) == []


def test_a_resumed_upload_sends_only_what_is_missing(client, setup):
    data = png(3, side=300)
    upload_id = new_id()
    half = len(data) // 2
    assert (
        put(client, setup.a, upload_id, "big.png", data[:half], size=len(data)).status_code == 200
    )
    # The browser lost the answer: it asks how much arrived, then sends the rest.
    state = client.get(f"/api/uploads/{upload_id}", headers=setup.a).json()
    assert (state["received"], state["complete"]) == (half, False)
    # A repeat of the first chunk is refused with the offset to resume from.
    r = put(client, setup.a, upload_id, "big.png", data[:half], size=len(data))
    d = detail(r, 409, "conflict")
    assert d["received"] == half and f"send from offset {half}" in d["message"]
    r = put(client, setup.a, upload_id, "big.png", data[half:], size=len(data), offset=half)
    assert r.json()["complete"] is True
    r = client.post("/api/datasets/photos/media", json={"uploads": [upload_id]}, headers=setup.a)
    ref = r.json()["files"][0]["source-ref"]
    assert Path(ref).read_bytes() == data


def test_an_incomplete_upload_is_refused_by_name_and_kept(client, setup):
    data = png(4, side=200)
    upload_id = new_id()
    put(client, setup.a, upload_id, "half.png", data[:100], size=len(data))
    r = client.post("/api/datasets/photos/media", json={"uploads": [upload_id]}, headers=setup.a)
    body = r.json()
    assert body["added"] == 0 and body["refused"] == 1
    assert body["files"][0]["error"] == (
        f"half.png: 100 of {len(data):,} bytes arrived; send the rest before adding it"
    )
    assert client.get(f"/api/uploads/{upload_id}", headers=setup.a).json()["received"] == 100


def test_the_same_bytes_twice_are_one_item(client, setup):
    first, second = new_id(), new_id()
    put(client, setup.a, first, "a.png", png(5))
    put(client, setup.a, second, "a.png", png(5))
    r = client.post("/api/datasets/photos/media", json={"uploads": [first]}, headers=setup.a)
    assert r.json()["added"] == 1
    r = client.post("/api/datasets/photos/media", json={"uploads": [second]}, headers=setup.a)
    assert (r.json()["added"], r.json()["duplicates"]) == (0, 1)
    assert client.get("/api/datasets/photos", headers=setup.a).json()["items"] == 1


def bundle(files: list[tuple[str, str, bytes]], *, sizes: list[int] | None = None) -> bytes:
    listed = [
        {"upload": upload_id, "name": name, "size": len(data) if sizes is None else sizes[i]}
        for i, (upload_id, name, data) in enumerate(files)
    ]
    return json.dumps(listed).encode() + b"\n" + b"".join(data for _i, _n, data in files)


def test_small_files_in_one_bundle_are_answered_each_and_become_items(client, setup, ws):
    ids = [new_id() for _ in range(4)]
    half = png(9, side=200)
    # The fourth was begun on its own and its answer lost: the bundle resumes nothing.
    put(client, setup.a, ids[3], "partial.png", half[:100], size=len(half))
    files = [
        (ids[0], "a.png", png(1)),
        (ids[1], "notes.jpg", b"meeting notes, not a photo\n"),
        (ids[2], "b.png", png(2)),
        (ids[3], "partial.png", half),
    ]
    r = client.post("/api/uploads", content=bundle(files), headers=setup.a)
    assert r.status_code == 200, r.text
    answers = r.json()["files"]
    assert [a["upload"] for a in answers] == ids
    assert answers[0]["complete"] is True and answers[2]["complete"] is True
    assert answers[1]["error"].startswith("notes.jpg: not an image, audio or video file")
    assert "received" not in answers[1]
    assert answers[3]["received"] == 100 and "send from offset 100" in answers[3]["error"]
    assert not (uploads.parts_dir(ws.settings) / ids[1]).exists()
    # The same bundle again (its answer was lost): what the server holds is complete.
    again = client.post("/api/uploads", content=bundle(files[:1]), headers=setup.a).json()
    assert again["files"][0]["complete"] is True
    r = client.post("/api/datasets/photos/media", json={"uploads": ids[:3]}, headers=setup.a)
    body = r.json()
    assert (body["added"], body["refused"]) == (2, 1)
    items = client.get("/api/datasets/photos/items", headers=setup.a).json()
    stored = {i["data"]["file-name"]: Path(i["data"]["source-ref"]).read_bytes() for i in items}
    assert stored == {"a.png": png(1), "b.png": png(2)}


def test_a_malformed_bundle_is_refused_whole(client, setup, ws):
    one = [(new_id(), "a.png", png(1))]
    cases = [
        (b"no list here", "first line must list"),
        (b"{not json\n" + png(1), "not JSON"),
        (b"[]\n", "list 1-256 files"),
        (bundle(one, sizes=[len(png(1)) + 5]), "bytes follow the list"),
        (bundle([("short", "a.png", png(1))]), "upload id 'short'"),
        (b'[{"upload": "0123456789abcdef", "name": "a.png"}]\n', "each file is"),
    ]
    for body, words in cases:
        assert words in detail(
            client.post("/api/uploads", content=body, headers=setup.a), 400, "bad_input"
        )
    assert not uploads.parts_dir(ws.settings).exists() or not any(
        p.name.startswith(one[0][0]) for p in uploads.parts_dir(ws.settings).iterdir()
    )
    # Workers may not send bundles; another staff member's bundle does not extend mine.
    mine = new_id()
    put(client, setup.a, mine, "m.png", png(3)[:50], size=len(png(3)))
    mine_again = bundle([(mine, "m.png", png(3))])
    assert client.post("/api/uploads", content=mine_again, headers=setup.w).status_code == 403
    with ws.db.session_scope() as s:
        other = bearer(issue_token(s, create_user(s, "req3", role="requester")))
    r = client.post("/api/uploads", content=mine_again, headers=other)
    assert r.json()["files"][0]["error"].startswith("no upload")
    assert client.get(f"/api/uploads/{mine}", headers=setup.a).json()["received"] == 50


def test_the_type_is_read_from_the_bytes_not_the_name(client, setup, ws):
    upload_id = new_id()
    r = put(client, setup.a, upload_id, "holiday.jpg", b"this is a text file, not a photo\n")
    message = detail(r, 400, "bad_input")
    assert message.startswith("holiday.jpg: not an image, audio or video file")
    assert not (uploads.parts_dir(ws.settings) / upload_id).exists()
    # A real JPEG named .png is stored as what it is.
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "JPEG")
    upload_id = new_id()
    put(client, setup.a, upload_id, "named-wrong.png", out.getvalue())
    r = client.post("/api/datasets/photos/media", json={"uploads": [upload_id]}, headers=setup.a)
    assert r.json()["files"][0]["source-ref"].endswith(".jpg")


@pytest.mark.parametrize(
    ("head", "found"),
    [
        (b"\xff\xd8\xff\xe0" + b"\0" * 12, ("image", ".jpg")),
        (b"RIFF\0\0\0\0WAVEfmt ", ("audio", ".wav")),
        (b"RIFF\0\0\0\0WEBPVP8 ", ("image", ".webp")),
        (b"\0\0\0\x20ftypisom\0\0\0\0", ("video", ".mp4")),
        (b"\0\0\0\x20ftypM4A \0\0\0\0", ("audio", ".m4a")),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", ("video", ".webm")),
        (b"ID3\x04\0\0\0\0", ("audio", ".mp3")),
        (b"fLaC\0\0\0\x22", ("audio", ".flac")),
        (b"OggS\0\x02", ("audio", ".ogg")),
        (b'{"source-ref": 1}', None),
        (b"", None),
    ],
)
def test_sniffing(head, found):
    assert uploads.sniff_media(head) == found


def test_sizes_offsets_and_names_are_checked(client, setup):
    data = png(6)
    r = put(client, setup.a, new_id(), "huge.mp4", data, size=uploads.MAX_FILE_BYTES + 1)
    assert "over the upload limit" in detail(r, 400, "bad_input")
    r = put(client, setup.a, new_id(), "empty.png", b"", size=0)
    assert detail(r, 400, "bad_input") == "empty.png: the file is empty"
    upload_id = new_id()
    r = put(client, setup.a, upload_id, "short.png", data, size=10)
    assert detail(r, 400, "bad_input") == "short.png: more bytes were sent than its size of 10"
    r = put(client, setup.a, "..passwd..0123456789", "x.png", data)
    assert "upload id '..passwd..0123456789' must be" in detail(r, 400, "bad_input")
    # A chunk for an upload that was never started is not found.
    r = put(client, setup.a, new_id(), "x.png", data[10:], size=len(data), offset=10)
    assert "is in progress" in detail(r, 404, "not_found")
    # A bad dataset name refuses the request before any file moves.
    upload_id = new_id()
    put(client, setup.a, upload_id, "ok.png", data)
    r = client.post("/api/datasets/no spaces/media", json={"uploads": [upload_id]}, headers=setup.a)
    assert "dataset name 'no spaces' must be" in detail(r, 400, "bad_input")
    assert client.get(f"/api/uploads/{upload_id}", headers=setup.a).json()["complete"] is True


def test_an_upload_is_its_uploaders_and_staff_only(client, setup, ws):
    upload_id = new_id()
    put(client, setup.a, upload_id, "mine.png", png(7))
    r = put(client, setup.w, new_id(), "w.png", png(8))
    assert r.status_code == 403
    # Another staff member neither sees nor extends it.
    with ws.db.session_scope() as s:
        other = bearer(issue_token(s, create_user(s, "req2", role="requester")))
    assert client.get(f"/api/uploads/{upload_id}", headers=other).status_code == 404
    r = put(client, other, upload_id, "mine.png", png(7)[10:], size=len(png(7)), offset=10)
    assert r.status_code == 404
    r = client.post("/api/datasets/x/media", json={"uploads": [upload_id]}, headers=other)
    assert r.json()["refused"] == 1


def test_import_roots_are_shown(client, setup, ws):
    body = client.get("/api/import-roots", headers=setup.a).json()
    assert body["media_dir"] == str(ws.settings.media_dir)
    assert body["roots"] == list(ws.settings.allowed_roots)
    assert "TRUTHSET_ALLOWED_ROOTS" in body["setting"]


def test_a_chunk_sent_twice_at_once_is_written_once(ws):
    data = png(9, side=400)
    upload_id = new_id()
    start = threading.Barrier(8)

    def send() -> str:
        start.wait()
        try:
            uploads.write_chunk(
                ws.settings,
                upload_id,
                1,
                name="x.png",
                size=len(data),
                offset=0,
                body=io.BytesIO(data),
            )
        except Conflict:
            return "refused"
        return "written"

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(lambda _: send(), range(8)))
    assert outcomes == ["refused"] * 7 + ["written"]
    assert (uploads.parts_dir(ws.settings) / upload_id).read_bytes() == data


def test_uploads_go_to_the_configured_s3_prefix(tmp_path):
    require(bool(os.environ.get("S3_ENDPOINT_URL")), "S3_ENDPOINT_URL is not set (no S3 server)")
    bucket = f"up-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=bucket)
    settings = load_settings(tmp_path / "data", None, allowed_roots=[f"s3://{bucket}"])
    ws = open_workspace(replace(settings, upload_prefix=f"s3://{bucket}/uploads/"))
    forget_all_tokens()
    try:
        with TestClient(create_app(ws), raise_server_exceptions=False) as client:
            admin = bearer(Setup(ws, n_items=1, n_workers=1).admin_token)
            roots = client.get("/api/import-roots", headers=admin).json()
            assert roots["uploads_to"] == f"s3://{bucket}/uploads/"
            ids = [new_id(), new_id()]
            for upload_id in ids:
                put(client, admin, upload_id, "same.png", png(11))
            r = client.post("/api/datasets/s3ups/media", json={"uploads": ids}, headers=admin)
            body = r.json()
            assert (body["added"], body["duplicates"]) == (1, 1), body
            ref = body["files"][0]["source-ref"]
            assert ref.startswith(f"s3://{bucket}/uploads/") and ref.endswith(".png")
            key = ref.split("/", 3)[3]
            assert s3_client().get_object(Bucket=bucket, Key=key)["Body"].read() == png(11)
            assert list(uploads.parts_dir(ws.settings).iterdir()) == []
    finally:
        ws.close()
    # A prefix outside the allowed roots is refused by name, and the parts are kept.
    ws = open_workspace(replace(settings, upload_prefix="s3://elsewhere/x"))
    forget_all_tokens()
    try:
        with TestClient(create_app(ws), raise_server_exceptions=False) as client:
            with ws.db.session_scope() as s:
                admin = bearer(issue_token(s, create_user(s, "boss2", role="admin")))
            upload_id = new_id()
            put(client, admin, upload_id, "a.png", png(12))
            r = client.post("/api/datasets/s3b/media", json={"uploads": [upload_id]}, headers=admin)
            assert "TRUTHSET_UPLOAD_PREFIX 's3://elsewhere/x' must be" in detail(
                r, 400, "bad_input"
            )
            assert client.get(f"/api/uploads/{upload_id}", headers=admin).json()["complete"]
    finally:
        ws.close()
