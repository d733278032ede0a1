"""A job's output path is checked when the job is created or its settings change: inside
the allowed roots, never in the data directory, absolute, no `..`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exports.conftest import (
    add_workers,
    workspace_with_roots,
)
from support import job_over_items
from truthset.jobs.service import get_job
from truthset.workforce.service import create_user
from truthset.workspace import Workspace

# -- the output path is checked when the job is created ---------------------------------------


def _create(ws: Workspace, name: str, output: Any) -> None:
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job

    with ws.db.session_scope() as s:
        create_job(
            s,
            JobCreate(
                name=name,
                task_type="text-classification",
                label_config=["a", "b"],
                dataset="checked",
                teams=["t"],
                settings={"output": output},
            ),
        )


@pytest.fixture
def ws_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out_dir: Path
) -> Iterator[Workspace]:
    workspace = workspace_with_roots(
        tmp_path, monkeypatch, [str(out_dir), str(tmp_path), "s3://allowed-bucket/teams"]
    )
    add_workers(workspace, "w1")
    job_over_items(workspace, "seed", [{"source": "x"}], ["a", "b"], dataset="checked")
    yield workspace
    workspace.close()


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (
            {"path": "/etc/truthset-out"},
            r"'/etc/truthset-out' is outside the server's allowed roots",
        ),
        ({"path": "out/relative"}, r"'out/relative' is a relative path; give an absolute folder"),
        ({"path": "{out}/../escape"}, r"must not contain '\.\.'"),
        ({"path": "{out}/a/../../b"}, r"must not contain '\.\.'"),
        ({"path": "{data}/media/out"}, r"is inside the workspace's data directory"),
        ({"path": "{data}"}, r"is inside the workspace's data directory"),
        (
            {"path": "s3://other-bucket/x/"},
            r"'s3://other-bucket/x/' is outside the server's allowed",
        ),
        ({"path": "s3://allowed-bucket/elsewhere"}, r"outside the server's allowed roots"),
        ({"path": "s3://allowed-bucket/teams/../x"}, r"must not contain '\.\.'"),
        ({"path": "s3://Bad_Bucket/x"}, r"'Bad_Bucket' is not an S3 bucket name"),
        ({"path": "https://example.com/out"}, r"only s3:// URIs and local folders"),
        ({"path": ""}, r"settings.output.path must be an s3:// URI or an absolute local folder"),
        ({"path": 7}, r"settings.output.path must be an s3:// URI"),
        ({"path": "{out}", "every": 5}, r"unknown keys every"),
        ({"path": "{out}", "interval": 0}, r"interval must be a number of seconds from 1"),
        ({"path": "{out}", "interval": True}, r"interval must be a number"),
        ("{out}", r"settings.output must be an object"),
    ],
)
def test_a_bad_output_path_is_refused_when_the_job_is_created(
    ws_checked: Workspace, out_dir: Path, output: Any, message: str
):
    from truthset.errors import BadInput

    def fill(v: Any) -> Any:
        if isinstance(v, str):
            return v.format(out=out_dir, data=ws_checked.settings.data_dir)
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        return v

    with pytest.raises(BadInput, match=message):
        _create(ws_checked, "refused", fill(output))
    with ws_checked.db.session_scope(write=False) as s:
        from truthset.errors import NotFound

        with pytest.raises(NotFound):
            get_job(s, "refused")


def test_good_output_paths_are_taken(ws_checked: Workspace, out_dir: Path):
    _create(ws_checked, "local-out", {"path": str(out_dir / "not-yet-made")})
    _create(ws_checked, "s3-out", {"path": "s3://allowed-bucket/teams/vision/", "interval": 30})
    _create(ws_checked, "s3-root", {"path": "s3://allowed-bucket/teams"})


def test_a_symlink_out_of_the_roots_is_refused(
    ws_checked: Workspace, out_dir: Path, tmp_path: Path
):
    from truthset.errors import BadInput

    elsewhere = Path(f"/tmp/truthset-outside-{uuid.uuid4().hex[:8]}")
    elsewhere.mkdir()
    try:
        (out_dir / "link").symlink_to(elsewhere)
        with pytest.raises(BadInput, match="outside the server's allowed roots"):
            _create(ws_checked, "linked", {"path": str(out_dir / "link")})
    finally:
        elsewhere.rmdir()


def test_the_api_refuses_a_bad_output_path_with_the_error_body(ws_checked: Workspace):
    from fastapi.testclient import TestClient

    from support import bearer
    from truthset.api.tokens import issue_token
    from truthset.server.app import create_app

    with ws_checked.db.session_scope() as s:
        token = issue_token(s, create_user(s, "boss", role="admin"))
    body = {
        "name": "api-out",
        "task_type": "text-classification",
        "label_config": ["a", "b"],
        "dataset": "checked",
        "settings": {"output": {"path": "/etc"}},
    }
    with TestClient(create_app(ws_checked)) as c:
        r = c.post("/api/jobs", json=body, headers=bearer(token))
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_input"
    assert "settings.output.path '/etc' is outside the server's allowed roots" in r.json()["detail"]


def test_changing_a_jobs_settings_checks_the_output_path(ws_checked: Workspace, out_dir: Path):
    from truthset.errors import BadInput
    from truthset.jobs.service import update_job

    with ws_checked.db.session_scope() as s:
        job = get_job(s, "seed")
        with pytest.raises(BadInput, match="is a relative path"):
            update_job(s, job, {"settings": {"output": {"path": "rel"}}})
        update_job(s, job, {"settings": {"output": {"path": str(out_dir)}}})
