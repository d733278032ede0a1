"""Large local sources are checked in a child process while the importer inserts: the
import must be exactly what checking in-process gives."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from support import write_manifest
from truthset.datasets import importer
from truthset.errors import BadInput


def stored(ws, dataset):
    with ws.db.session_scope(write=False) as s:
        return s.execute(
            text(
                "SELECT i.external_id, i.content_hash, i.position, i.data FROM items i "
                "JOIN datasets d ON d.id = i.dataset_id WHERE d.name = :n ORDER BY i.position"
            ),
            {"n": dataset},
        ).all()


def import_both_ways(ws, monkeypatch, path, **kw):
    """(result, rows, report lines) checked in a child, then the same in-process."""
    out = []
    for name, threshold in (("child", 0), ("inline", 1 << 60)):
        monkeypatch.setattr(importer, "CHILD_FROM_BYTES", threshold)
        report = ws.settings.data_dir / f"{name}.report.jsonl"
        with ws.db.session_scope() as s:
            result = importer.import_source(
                s, name, str(path), allowed_roots=ws.allowed_roots, report_path=report, **kw
            ).as_dict()
        result.pop("seconds"), result.pop("dataset"), result.pop("report_path")
        lines = report.read_text().splitlines() if report.exists() else []
        out.append((result, stored(ws, name), lines))
    return out


def test_a_manifest_of_several_batches_imports_the_same_from_a_child(ws, monkeypatch):
    lines = [json.dumps({"id": f"i{n}", "source": f"text {n}"}) for n in range(12_000)]
    lines[10] = "{not json"
    lines[7_000] = json.dumps({"id": "i1", "source": "another text, same id"})
    lines[11_000] = lines[11_001]  # the same content twice: one item
    lines.insert(500, "")  # blank lines are not items
    path = write_manifest(ws.settings.media_dir / "big.manifest", lines)
    (child, child_rows, child_report), (inline, inline_rows, inline_report) = import_both_ways(
        ws, monkeypatch, path, skip_invalid=True
    )
    assert child == inline and child_report == inline_report
    assert child_rows == inline_rows
    assert child["invalid"] == 2 and child["duplicates"] == 1 and child["added"] == 11_997
    assert [e["line"] for e in child["errors"]] == [11, 7_002]


def test_a_bad_line_in_a_child_checked_source_refuses_the_import(ws, monkeypatch):
    monkeypatch.setattr(importer, "CHILD_FROM_BYTES", 0)
    path = write_manifest(
        ws.settings.media_dir / "m.manifest",
        [json.dumps({"id": "a", "source": "x"}), json.dumps({"source-ref": "/etc/passwd"})],
    )
    with ws.db.session_scope() as s, pytest.raises(BadInput) as info:
        importer.import_source(s, "ds", str(path), allowed_roots=ws.allowed_roots)
    assert info.value.detail["errors"] == [
        {"line": 2, "reason": "source-ref '/etc/passwd' is outside the allowed roots and buckets"}
    ]
    assert stored(ws, "ds") == []


def test_errors_of_the_source_itself_come_back_from_the_child(ws, monkeypatch):
    monkeypatch.setattr(importer, "CHILD_FROM_BYTES", 0)
    path = ws.settings.media_dir / "bad.manifest"
    path.write_bytes(b'{"source": "ok"}\n{"source": "\xff"}\n')
    with (
        ws.db.session_scope() as s,
        pytest.raises(BadInput, match="line 2: the manifest is not valid UTF-8"),
    ):
        importer.import_source(s, "ds", str(path), allowed_roots=ws.allowed_roots)
    csv_path = ws.settings.media_dir / "rows.csv"
    csv_path.write_text("id,source\na,one\nb,two\n")
    with ws.db.session_scope() as s:
        result = importer.import_source(s, "rows", str(csv_path), allowed_roots=[])
    assert result.added == 2 and [r[0] for r in stored(ws, "rows")] == ["a", "b"]


def test_a_script_without_a_main_guard_imports_once(tmp_path):
    """The checking process is a fresh interpreter: the importing program (here a script
    with no `if __name__ == "__main__"`) does not run again inside it."""
    import subprocess
    import sys

    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"source": f"t{i}"}) + "\n" for i in range(50)))
    runs = tmp_path / "runs.txt"
    script = tmp_path / "import_it.py"
    script.write_text(
        "from truthset.config import load_settings\n"
        "from truthset.datasets import importer\n"
        "from truthset.workspace import open_workspace\n"
        f"open({str(runs)!r}, 'a').write('ran\\n')\n"
        "importer.CHILD_FROM_BYTES = 0\n"
        f"ws = open_workspace(load_settings({str(tmp_path / 'data')!r}, None))\n"
        "with ws.db.session_scope() as s:\n"
        f"    r = importer.import_source(s, 'ds', {str(manifest)!r}, allowed_roots=[])\n"
        "print(r.added)\n"
        "ws.close()\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "50"
    assert runs.read_text() == "ran\n"
