"""The source readers: invalid UTF-8 in a CSV (a file, an upload, an S3 object, one read in
the checking child process) is a 400 naming the line and the byte offset, and nothing is
written; line ends of every kind and a BOM read as before."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from support import bearer
from truthset.datasets import importer
from truthset.datasets.sources import _csv_rows, _utf8_lines
from truthset.errors import BadInput
from truthset.store.models import Item

BAD_CSV = b"id,source\na,caf\xc3\xa9\nb,ok\nc,bad \xff byte\n"
# The bad byte: after the header (10 bytes), "a,caf\xc3\xa9\n" (8), "b,ok\n" (5), "c,bad ".
BAD_OFFSET = 10 + 8 + 5 + 6


def _items(ws) -> int:
    with ws.db.session_scope(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(Item)) or 0)


@pytest.mark.parametrize("in_child", [False, True])
def test_invalid_utf8_in_a_csv_names_the_line_and_the_byte(ws, monkeypatch, in_child):
    if in_child:
        monkeypatch.setattr(importer, "CHILD_FROM_BYTES", 0)
    path = ws.settings.media_dir / "rows.csv"
    path.write_bytes(BAD_CSV)
    with (
        pytest.raises(BadInput) as info,
        ws.db.session_scope() as s,
    ):
        importer.import_source(s, "rows", str(path), allowed_roots=ws.allowed_roots)
    assert str(info.value.detail) == (
        f"line 4: the CSV is not valid UTF-8 (byte offset {BAD_OFFSET}: invalid start byte)"
    )
    assert _items(ws) == 0


def test_an_uploaded_csv_with_invalid_utf8_is_a_400(ws, client, setup_factory):
    setup = setup_factory(ws, n_items=1, n_workers=0)
    before = _items(ws)
    headers = bearer(setup.admin_token)
    assert client.post("/api/datasets", json={"name": "up"}, headers=headers).status_code == 201
    r = client.post(
        "/api/datasets/up/upload",
        files={"file": ("rows.csv", BAD_CSV, "text/csv")},
        headers=headers,
    )
    assert r.status_code == 400, r.text
    assert r.json() == {
        "error": "bad_input",
        "detail": f"line 4: the CSV is not valid UTF-8 (byte offset {BAD_OFFSET}: "
        "invalid start byte)",
    }
    assert _items(ws) == before


def _lines(data: bytes, block: int | None = None) -> list[str]:
    stream = io.BytesIO(data)
    if block is not None:  # blocks that split characters and line ends
        read = stream.read
        stream.read = lambda _n: read(block)  # type: ignore[method-assign]
    return list(_utf8_lines(stream, "CSV"))


@pytest.mark.parametrize("block", [None, 1, 2, 3])
def test_lines_split_as_universal_newlines(block):
    data = '\ufeffid,source\r\na,caf\u00e9\rb,"two\nlines"\nc,end'.encode()
    assert _lines(data, block) == [
        "id,source\r\n",
        "a,caf\u00e9\r",
        'b,"two\n',
        'lines"\n',
        "c,end",
    ]
    rows = [(r.line_no, r.obj) for r in _csv_rows(iter(_lines(data, block)))]
    assert rows == [
        (2, {"id": "a", "source": "caf\u00e9"}),
        (4, {"id": "b", "source": "two\nlines"}),
        (5, {"id": "c", "source": "end"}),
    ]


@pytest.mark.parametrize("block", [None, 1, 4])
def test_a_bad_byte_anywhere_is_found_by_line_and_offset(block):
    with pytest.raises(
        BadInput, match=r"^line 3: .* \(byte offset 8: invalid continuation byte\)$"
    ):
        _lines(b"a\r\nb\r\ncc\xc3(\n", block)
    with pytest.raises(BadInput, match=r"^line 2: .* \(byte offset 4: unexpected end of data\)$"):
        _lines(b"abc\n\xe2\x82", block)
