"""The datasets service and its repository: naming, listing, paging, deleting, and the
import's batch insert, on the embedded store and on PostgreSQL."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from support import write_manifest
from truthset.datasets import repository, service
from truthset.datasets.importer import import_source
from truthset.errors import BadInput, Conflict, NotFound
from truthset.store.models import Dataset, Item

NOW = 1_700_000_000.0


def imported(ws, dataset, rows):
    path = write_manifest(ws.settings.media_dir / f"{dataset}-{len(rows)}.manifest", rows)
    with ws.db.session_scope() as s:
        return import_source(s, dataset, str(path), allowed_roots=ws.allowed_roots)


def test_create_and_get_a_dataset(any_ws):
    with any_ws.db.session_scope() as s:
        ds = service.create_dataset(s, "birds.v1", now=NOW)
        assert (ds.name, ds.version, ds.created_at) == ("birds.v1", 0, NOW)
    with any_ws.db.session_scope(write=False) as s:
        assert service.get_dataset(s, "birds.v1").created_at == NOW
        assert service.describe_dataset(s, service.get_dataset(s, "birds.v1")) == {
            "name": "birds.v1",
            "items": 0,
            "version": 0,
            "created_at": NOW,
        }


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("has space", BadInput, "dataset name 'has space' must be"),
        ("_under", BadInput, "starting with a letter or digit"),
        ("x" * 201, BadInput, "must be 1-200"),
        ("taken", Conflict, "a dataset named 'taken' already exists"),
    ],
)
def test_create_dataset_refuses(any_ws, name, error, words):
    with any_ws.db.session_scope() as s:
        service.create_dataset(s, "taken")
    with any_ws.db.session_scope() as s, pytest.raises(error) as info:
        service.create_dataset(s, name)
    assert words in str(info.value.detail)
    with any_ws.db.session_scope(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Dataset)) == 1


def test_an_unknown_dataset_is_not_found(any_ws):
    with any_ws.db.session_scope(write=False) as s, pytest.raises(NotFound) as info:
        service.get_dataset(s, "nope")
    assert info.value.detail == "dataset 'nope' not found" and info.value.status_code == 404


def test_list_datasets_counts_each_ones_items(any_ws):
    imported(any_ws, "b-first", [{"id": str(i), "source": f"t{i}"} for i in range(3)])
    with any_ws.db.session_scope() as s:
        service.create_dataset(s, "a-empty")
    imported(any_ws, "c-last", [{"id": "x", "source": "only"}])
    with any_ws.db.session_scope(write=False) as s:
        listed = service.list_datasets(s)
    # Oldest first, each with its own count and version.
    assert [(d["name"], d["items"], d["version"]) for d in listed] == [
        ("b-first", 3, 1),
        ("a-empty", 0, 0),
        ("c-last", 1, 1),
    ]


def test_items_page_in_import_order_and_a_later_import_appends(any_ws):
    imported(any_ws, "ds", [{"id": "z", "source": "1"}, {"id": "a", "source": "2"}])
    imported(any_ws, "ds", [{"id": "m", "source": "3"}, {"id": "z", "source": "1"}])
    with any_ws.db.session_scope(write=False) as s:
        ds = service.get_dataset(s, "ds")
        assert ds.version == 2
        every = service.list_items(s, ds)
        assert every == [
            {"id": "z", "data": {"id": "z", "source": "1"}},
            {"id": "a", "data": {"id": "a", "source": "2"}},
            {"id": "m", "data": {"id": "m", "source": "3"}},
        ]
        assert service.list_items(s, ds, offset=1, limit=1) == every[1:2]
        assert service.list_items(s, ds, offset=3) == []
        positions = s.scalars(
            select(Item.position).where(Item.dataset_id == ds.id).order_by(Item.position)
        ).all()
        assert positions == [0, 1, 2]
    # An import that adds nothing leaves the version alone.
    imported(any_ws, "ds", [{"id": "a", "source": "2"}])
    with any_ws.db.session_scope(write=False) as s:
        assert service.get_dataset(s, "ds").version == 2


def test_delete_dataset_removes_its_items_only(any_ws):
    imported(any_ws, "gone", [{"id": "1", "source": "a"}, {"id": "2", "source": "b"}])
    imported(any_ws, "kept", [{"id": "1", "source": "a"}])
    with any_ws.db.session_scope() as s:
        service.delete_dataset(s, service.get_dataset(s, "gone"))
    with any_ws.db.session_scope(write=False) as s:
        assert [d["name"] for d in service.list_datasets(s)] == ["kept"]
        assert s.scalar(select(func.count()).select_from(Item)) == 1
        with pytest.raises(NotFound):
            service.get_dataset(s, "gone")
    with any_ws.db.session_scope() as s:
        service.create_dataset(s, "gone")  # the name is free again


def test_a_dataset_a_job_uses_cannot_be_deleted(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=2, n_workers=1)
    setup.job("reader", workers_per_item=1)
    with any_ws.db.session_scope() as s:
        ds = service.get_dataset(s, "texts")
        assert repository.name_of_a_job_using(s, ds.id) == "reader"
        assert [j.name for j in repository.live_jobs_reading(s, ds.id)] == ["reader"]
        with pytest.raises(Conflict) as info:
            service.delete_dataset(s, ds)
    assert info.value.detail == "job 'reader' uses dataset 'texts'; delete the job first"
    with any_ws.db.session_scope(write=False) as s:
        assert service.describe_dataset(s, service.get_dataset(s, "texts"))["items"] == 2


def test_insert_rows_skips_known_content_and_refuses_a_reused_id(any_ws):
    with any_ws.db.session_scope() as s:
        ds = service.create_dataset(s, "raw")
        assert repository.next_item_position(s, ds.id) == 0
        repository.insert_items(s, [(ds.id, "a", "h-a", 0, "{}"), (ds.id, "b", "h-b", 1, "{}")])
        repository.insert_items(s, [(ds.id, "a-again", "h-a", 2, "{}")])  # known content
        assert repository.item_count(s, ds.id) == 2
        assert repository.next_item_position(s, ds.id) == 2
        assert repository.item_counts_by_dataset(s) == {ds.id: 2}
        with pytest.raises(IntegrityError), s.begin_nested():
            # The same id with other content.
            repository.insert_items(s, [(ds.id, "a", "h-other", 3, "{}")])
        page = repository.items_page(s, ds.id, offset=0, limit=10)
        assert [tuple(row) for row in page] == [("a", "{}"), ("b", "{}")]
        repository.delete_items(s, ds.id)
        assert repository.item_count(s, ds.id) == 0
        assert repository.item_counts_by_dataset(s) == {}


def test_services_flush_and_leave_the_commit_to_the_caller(any_ws):
    path = write_manifest(any_ws.settings.media_dir / "m.manifest", [{"source": "x"}])
    session = any_ws.db.new_session()
    try:
        service.create_dataset(session, "made")
        result = import_source(session, "imported", str(path), allowed_roots=any_ws.allowed_roots)
        assert result.added == 1
        assert [d["name"] for d in service.list_datasets(session)] == ["made", "imported"]
        session.rollback()
    finally:
        session.close()
    with any_ws.db.session_scope(write=False) as s:
        assert service.list_datasets(s) == []
        assert s.scalar(select(func.count()).select_from(Item)) == 0


def test_the_domain_keeps_its_layers():
    """No FastAPI below the router and no commit anywhere; queries live in the repository
    (the importer's batch insert, its hot path, is raw SQL there)."""
    package = Path(service.__file__).parent
    for name in ("service.py", "repository.py", "importer.py", "checking.py", "sources.py"):
        tree = ast.parse((package / name).read_text())
        imported_modules = {
            alias.name if isinstance(node, ast.Import) else node.module or ""
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert not any(m.split(".")[0] in ("fastapi", "starlette") for m in imported_modules)
        assert not any(_commits_a_session(node) for node in ast.walk(tree)), name
    for name in ("service.py", "importer.py", "router.py"):
        source = (package / name).read_text()
        assert "select(" not in source and "text(" not in source, name
        assert "exec_driver_sql" not in source, name


def _commits_a_session(node: ast.AST) -> bool:
    """`session.commit()` or `self.session.commit()` (a savepoint's commit is a release)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    owner = node.func.value
    named = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
    return node.func.attr == "commit" and named == "session"
