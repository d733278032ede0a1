"""Likely label errors: a cross-validated model flags wrong human labels for review."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from support import answer_tasks, bearer, job_over_items
from truthset.api.tokens import issue_token
from truthset.autolabel.label_issues import apply_label_issues, label_issues, plan_label_issues
from truthset.errors import BadInput
from truthset.jobs.service import get_job
from truthset.quality import review
from truthset.store.models import User
from truthset.workforce.service import create_user

from .test_job_autolabel import easy_items

# Items whose worker answers the wrong class: the model should catch most of them.
FLIPPED = {f"d{i}" for i in (3, 11, 19, 27, 42, 58, 66, 81)}


def other(label: str) -> str:
    return "rainy" if label == "sunny" else "sunny"


def labelled_job(ws, n: int = 120) -> dict[str, str]:
    """A 1-worker job whose worker labels every item, wrongly for FLIPPED."""
    items, truth = easy_items(n)
    with ws.db.session_scope() as s:
        create_user(s, "w", role="worker", teams=["t"])
        create_user(s, "r", role="reviewer", teams=["t"])
    job_over_items(ws, "j", items, ["sunny", "rainy"])

    def answer(item: str) -> dict[str, str]:
        return {"label": other(truth[item]) if item in FLIPPED else truth[item]}

    assert len(answer_tasks(ws, "j", "w", answer)) == n
    return truth


def check(ws) -> dict:
    with ws.db.session_scope(write=False) as s:
        plan = plan_label_issues(s, get_job(s, "j"), cache_dir=ws.settings.data_dir / "autolabel")
    with ws.db.session_scope() as s:
        return apply_label_issues(s, get_job(s, "j"), plan)


def test_wrong_labels_are_flagged_with_the_right_suggestion(ws):
    truth = labelled_job(ws)
    report = check(ws)
    assert report["checked"] == 120
    flagged = {d["item"]: d for d in report["items"]}
    assert len(set(flagged) & FLIPPED) >= 7, sorted(flagged)
    assert len(set(flagged) - FLIPPED) <= 3, sorted(set(flagged) - FLIPPED)
    for item in set(flagged) & FLIPPED:
        assert flagged[item]["suggested"] == truth[item]
        assert flagged[item]["label"] == other(truth[item])
        assert flagged[item]["suggested_probability"] > flagged[item]["label_probability"]
    with ws.db.session_scope(write=False) as s:
        listed = label_issues(s, get_job(s, "j"))
    assert listed["flagged"] == report["flagged"] == len(flagged)
    probabilities = [d["label_probability"] for d in listed["items"]]
    assert probabilities == sorted(probabilities)  # most suspicious first


def test_flagged_items_come_first_in_review_and_leave_it_when_reviewed(any_ws):
    ws = any_ws  # SQLite and PostgreSQL
    truth = labelled_job(ws)
    report = check(ws)
    with ws.db.session_scope(write=False) as s:
        queue = review.review_queue(s, get_job(s, "j"))
    assert queue["suspected_error"] == report["flagged"]
    with ws.db.session_scope() as s:
        reviewer = s.scalar(select(User).where(User.name == "r"))
        got = review.lease_next_review(s, get_job(s, "j"), reviewer)
    assert got is not None and got["review"]["reason"] == "suspected_error"
    issue = got["review"]["issue"]
    assert got["item"] in FLIPPED and issue["suggested"] == truth[got["item"]]
    with ws.db.session_scope() as s:
        reviewer = s.scalar(select(User).where(User.name == "r"))
        review.review_item(s, get_job(s, "j"), got["item"], {"label": issue["suggested"]}, reviewer)
    with ws.db.session_scope(write=False) as s:
        assert review.review_queue(s, get_job(s, "j"))["suspected_error"] == report["flagged"] - 1
        assert got["item"] not in {d["item"] for d in label_issues(s, get_job(s, "j"))["items"]}


def test_a_label_rewritten_after_the_check_is_no_longer_suspected(ws):
    labelled_job(ws)
    report = check(ws)
    first = report["items"][0]["item"]
    with ws.db.session_scope() as s:
        # A reconsolidation writes a new label version (a new created_at).
        s.execute(
            text(
                "UPDATE labels SET created_at = :now WHERE task_id = (SELECT t.id FROM tasks t "
                "JOIN items i ON i.id = t.item_id WHERE i.external_id = :e)"
            ),
            {"now": time.time() + 10, "e": first},
        )
    with ws.db.session_scope(write=False) as s:
        items = {d["item"] for d in label_issues(s, get_job(s, "j"))["items"]}
        assert first not in items
        assert review.review_queue(s, get_job(s, "j"))["suspected_error"] == report["flagged"] - 1
    # Checking again starts from a clean slate: nothing stale is left flagged.
    again = check(ws)
    with ws.db.session_scope(write=False) as s:
        assert label_issues(s, get_job(s, "j"))["flagged"] == again["flagged"]


def test_what_cannot_be_checked_is_refused(ws, setup_factory):
    setup = setup_factory(ws, n_items=6, n_workers=1)
    # A boxes job needs images: one image item (the refusal is about the task type).
    cat = [{"source-ref": str(ws.settings.media_dir / "cat.jpg")}]
    job_over_items(ws, "boxes", cat, ["cat"], task_type="bounding-box", teams=("crew",))
    with ws.db.session_scope(write=False) as s, pytest.raises(BadInput, match="bounding-box"):
        plan_label_issues(s, get_job(s, "boxes"))
    setup.job("few", workers_per_item=1)
    with ws.db.session_scope(write=False) as s, pytest.raises(BadInput, match="no human labels"):
        plan_label_issues(s, get_job(s, "few"))
    with ws.db.session_scope(write=False) as s, pytest.raises(BadInput, match="folds"):
        plan_label_issues(s, get_job(s, "few"), folds=1)


def test_over_http_and_the_cli(ws, client):
    labelled_job(ws)
    with ws.db.session_scope() as s:
        admin = issue_token(s, create_user(s, "boss", role="admin"))
        worker = issue_token(s, s.scalar(select(User).where(User.name == "w")))
    denied = client.post("/api/jobs/j/label-issues", json={}, headers=bearer(worker))
    assert denied.status_code == 403 and denied.json()["error"]
    bad = client.post("/api/jobs/j/label-issues", json={"folds": 1}, headers=bearer(admin))
    assert bad.status_code == 422 and "folds" in json.dumps(bad.json())
    started = client.post("/api/jobs/j/label-issues", json={"folds": 4}, headers=bearer(admin))
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    deadline = time.time() + 60
    while time.time() < deadline:
        run = client.get(f"/api/runs/{run_id}", headers=bearer(admin)).json()
        if run["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert run["state"] == "succeeded", run
    listed = client.get("/api/jobs/j/label-issues", headers=bearer(admin)).json()
    assert listed["flagged"] == run["result"]["flagged"] > 0
    assert client.get("/api/jobs/j/label-issues", headers=bearer(worker)).status_code == 403

    from truthset.cli.main import app

    out = CliRunner().invoke(
        app,
        ["job", "label-issues", "j", "--folds", "3", "--data-dir", str(ws.settings.data_dir)],
        env={"TRUTHSET_DATABASE_URL": ws.settings.database_url},
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output[out.output.index("{") :])["checked"] == 120


def test_an_image_job_is_checked_on_its_image_features(ws):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = ws.settings.media_dir / "imgs"
    folder.mkdir(parents=True)
    items = []
    stripes = np.tile((np.arange(20) // 2 % 2 * 160)[:, None], (1, 20))
    for i in range(120):
        # Class 0: horizontal stripes, class 1: vertical ones, both under noise.
        base = stripes if i % 2 == 0 else stripes.T
        pixels = base + rng.integers(0, 90, size=(20, 20))
        Image.fromarray(pixels.astype(np.uint8), "L").save(folder / f"{i}.png")
        items.append({"id": f"p{i}", "source-ref": str(folder / f"{i}.png")})
    wrong = {"p5", "p22", "p47", "p90"}
    with ws.db.session_scope() as s:
        create_user(s, "w", role="worker", teams=["t"])
    classes = ["horizontal", "vertical"]
    job_over_items(ws, "j", items, classes, task_type="image-classification")

    def answer(item: str) -> dict[str, str]:
        n = int(item[1:])
        return {"label": classes[(n + (item in wrong)) % 2]}

    assert len(answer_tasks(ws, "j", "w", answer)) == 120
    report = check(ws)
    flagged = {d["item"] for d in report["items"]}
    assert report["checked"] == 120 and flagged == wrong, report
    # The image features are cached for the job, as auto-labeling does.
    assert list((ws.settings.data_dir / "autolabel").glob("job-1-image-features-*.npz"))
