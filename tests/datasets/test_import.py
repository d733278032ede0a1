"""Import validation: each bad-line kind names its line and reason and writes nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from support import write_manifest
from truthset.datasets.importer import import_source
from truthset.errors import BadInput


def items(ws, dataset="ds"):
    with ws.db.session_scope(write=False) as s:
        return (
            s.execute(
                text(
                    "SELECT i.external_id FROM items i JOIN datasets d ON d.id = i.dataset_id "
                    "WHERE d.name = :n ORDER BY i.position"
                ),
                {"n": dataset},
            )
            .scalars()
            .all()
        )


def run_import(ws, path, **kw):
    with ws.db.session_scope() as s:
        return import_source(s, "ds", str(path), allowed_roots=ws.allowed_roots, **kw)


GOOD = {"id": "a", "source": "fine"}


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({"id": "x", "note": "no source"}), "neither 'source' nor 'source-ref'"),
        (json.dumps({"source": "t", "source-ref": "/tmp/x.jpg"}), "both 'source' and 'source-ref'"),
        (json.dumps({"source": "t", "$bad": 1}), "starts with '$'"),
        (json.dumps({"source": "x" * 100_001}), "the limit is 100,000"),
        (json.dumps({"source-ref": "/etc/passwd"}), "outside the allowed roots"),
        (json.dumps({"source-ref": "s3://other-bucket/a.jpg"}), "outside the allowed roots"),
        (json.dumps({"source": 5}), "'source' must be a string"),
        (json.dumps({"source": "t", "id": ["x"]}), "must be a non-empty string or an integer"),
    ],
)
def test_each_bad_line_kind_is_reported_and_nothing_is_written(ws, bad_line, reason):
    path = write_manifest(
        ws.settings.media_dir / "m.manifest",
        [json.dumps(GOOD), bad_line, json.dumps({"id": "b", "source": "ok"})],
    )
    with pytest.raises(BadInput) as info:
        run_import(ws, path)
    errors = info.value.detail["errors"]
    assert [e["line"] for e in errors] == [2]
    assert reason in errors[0]["reason"]
    assert "nothing was imported" in info.value.detail["message"]
    assert items(ws) == []


def test_all_bad_lines_are_listed(ws):
    path = write_manifest(
        ws.settings.media_dir / "m.manifest", ["{", json.dumps(GOOD), "[]", json.dumps({"x": 1})]
    )
    with pytest.raises(BadInput) as info:
        run_import(ws, path)
    assert [e["line"] for e in info.value.detail["errors"]] == [1, 3, 4]


def test_duplicate_id_with_other_content_is_a_bad_line(ws):
    path = write_manifest(
        ws.settings.media_dir / "m.manifest", [GOOD, {"id": "a", "source": "different"}]
    )
    with pytest.raises(BadInput) as info:
        run_import(ws, path)
    assert info.value.detail["errors"] == [
        {"line": 2, "reason": "id 'a' is already used by another item"}
    ]
    assert items(ws) == []


def test_skip_invalid_imports_good_lines_and_writes_a_report(ws, tmp_path):
    path = write_manifest(
        ws.settings.media_dir / "m.manifest",
        [json.dumps(GOOD), "{oops", json.dumps({"id": "b", "source": "ok"})],
    )
    report = tmp_path / "report.jsonl"
    result = run_import(ws, path, skip_invalid=True, report_path=report)
    assert (result.added, result.invalid) == (2, 1)
    assert items(ws) == ["a", "b"]
    lines = [json.loads(x) for x in report.read_text().splitlines()]
    assert lines[0]["line"] == 2 and "not valid JSON" in lines[0]["reason"]


def test_reimport_adds_nothing_and_dedupes_by_content(ws):
    rows = [GOOD, {"id": "b", "source": "ok"}, GOOD]
    path = write_manifest(ws.settings.media_dir / "m.manifest", rows)
    first = run_import(ws, path)
    assert (first.added, first.duplicates) == (2, 1)
    second = run_import(ws, path)
    assert (second.added, second.duplicates) == (0, 3)
    assert items(ws) == ["a", "b"]


def test_ids_from_a_chosen_key_or_from_content(ws):
    path = write_manifest(
        ws.settings.media_dir / "m.manifest", [{"key": 7, "source": "x"}, {"source": "y"}]
    )
    run_import(ws, path, id_key="key")
    ids = items(ws)
    assert ids[0] == "7"
    assert len(ids[1]) == 16 and ids[1] != "7"
    # The derived id is stable: the same content gives the same id elsewhere.
    path2 = write_manifest(ws.settings.media_dir / "m2.manifest", [{"source": "y"}])
    with ws.db.session_scope() as s:
        import_source(s, "other", str(path2), allowed_roots=ws.allowed_roots)
    assert items(ws, "other") == [ids[1]]


def test_csv_and_folder_sources(ws, tmp_path):
    csv_path = ws.settings.media_dir / "rows.csv"
    csv_path.write_text('id,source,lang\n1,"hello, world",en\n2,bonjour,fr\n', encoding="utf-8")
    run_import(ws, csv_path)
    assert items(ws) == ["1", "2"]
    folder = ws.settings.media_dir / "pics"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.jpg").write_bytes(b"\xff\xd8fake")
    (folder / "sub" / "a.png").write_bytes(b"\x89PNGfake")
    (folder / "notes.txt").write_text("first line\n\nsecond line\n", encoding="utf-8")
    with ws.db.session_scope() as s:
        result = import_source(s, "pics", str(folder), allowed_roots=[])
    assert result.added == 4
    with ws.db.session_scope(write=False) as s:
        data = [
            json.loads(r[0])
            for r in s.execute(
                text(
                    "SELECT data FROM items i JOIN datasets d ON d.id = i.dataset_id "
                    "WHERE d.name = 'pics' ORDER BY position"
                )
            )
        ]
    assert data[0]["source-ref"].endswith("pics/b.jpg")
    assert data[1] == {"source": "first line"} and data[2] == {"source": "second line"}
    assert data[3]["source-ref"].endswith("pics/sub/a.png")


def test_csv_without_a_source_column_is_refused(ws):
    csv_path = ws.settings.media_dir / "rows.csv"
    csv_path.write_text("id,text\n1,hello\n", encoding="utf-8")
    with pytest.raises(BadInput, match="line 1: the CSV needs exactly one of the columns"):
        run_import(ws, csv_path)


def test_source_ref_inside_allowed_root_is_accepted(ws):
    img = ws.settings.media_dir / "x.jpg"
    img.write_bytes(b"fake")
    path = write_manifest(
        ws.settings.media_dir / "m.manifest",
        [{"source-ref": str(img)}, {"source-ref": str(img.parent / ".." / "x.jpg")}],
    )
    with pytest.raises(BadInput) as info:
        run_import(ws, path)
    assert [e["line"] for e in info.value.detail["errors"]] == [2]


def test_streaming_job_grows_with_its_dataset(ws, setup_factory):
    from truthset.jobs.service import counters

    setup = setup_factory(ws, n_items=2, n_workers=1)
    setup.job(workers_per_item=1, settings={"streaming": True})
    path = write_manifest(
        ws.settings.media_dir / "more.manifest", [{"id": "new-1", "source": "fresh"}]
    )
    with ws.db.session_scope() as s:
        import_source(s, "texts", str(path), allowed_roots=ws.allowed_roots)
        assert counters(s, 1)["total"] == 3


def test_a_refused_import_leaves_nothing_even_if_the_caller_commits(ws):
    path = write_manifest(ws.settings.media_dir / "m.manifest", [GOOD, "{bad"])
    # The caller swallows the error and commits its transaction.
    with ws.db.session_scope() as s, pytest.raises(BadInput):
        import_source(s, "ds", str(path), allowed_roots=ws.allowed_roots)
    assert items(ws) == []


def test_a_reused_id_inside_a_batch_is_retried_row_by_row_on_both_stores(any_ws, tmp_path):
    """The batch fails on the reused id; the retry names its line and keeps the others (on
    PostgreSQL only a savepoint lets the transaction go on after the failed batch)."""
    rows = [
        GOOD,
        {"id": "b", "source": "ok"},
        {"id": "a", "source": "other"},
        {"id": "c", "source": "x"},
    ]
    path = write_manifest(any_ws.settings.media_dir / "m.manifest", rows)
    report = tmp_path / "report.jsonl"
    result = run_import(any_ws, path, skip_invalid=True, report_path=report)
    assert (result.added, result.invalid) == (3, 1)
    assert items(any_ws) == ["a", "b", "c"]
    assert [json.loads(x)["line"] for x in report.read_text().splitlines()] == [3]
