"""Model-assisted consensus (CROWDLAB) for a job: the model breaks the ties of two answers."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from sqlalchemy import select, text

from support import answer_tasks, bearer, job_over_items
from truthset.api.tokens import issue_token
from truthset.errors import BadInput
from truthset.jobs.service import get_job
from truthset.quality.service import reconsolidate_job
from truthset.store.models import User
from truthset.workforce.service import create_user

from .test_job_autolabel import easy_items

# The careless worker's error rate; the two others are always right.
CARELESS = 0.5


def two_answer_job(ws, n: int = 150) -> dict[str, str]:
    """Each item answered by two of three workers; "c" answers wrongly half the time, so
    many items end in a 1-1 tie that majority vote cannot settle."""
    items, truth = easy_items(n, seed=3)
    with ws.db.session_scope() as s:
        for name in ("a", "b", "c"):
            create_user(s, name, role="worker", teams=["t"])
    job_over_items(
        ws, "j", items, ["sunny", "rainy"], workers_per_item=2, max_concurrent_tasks=10_000
    )
    rng = random.Random(0)

    def answer_of(name: str) -> Callable[[str], dict[str, str]]:
        def answer(item: str) -> dict[str, str]:
            label = truth[item]
            if name == "c" and rng.random() < CARELESS:
                label = "rainy" if label == "sunny" else "sunny"
            return {"label": label}

        return answer

    # An item started by one worker goes to the next one first: the pairs rotate through
    # (a, b), (c, a), (c, b), so a and b agree with each other and c with neither; c
    # answers first, and majority vote gives a tie to the first answer.
    order = ["a", "b", "c", "a", "c", "b"]
    for turn in range(2 * n):
        name = order[turn % 6]
        answer_tasks(ws, "j", name, answer_of(name), limit=1)
    return truth


def label_accuracy(ws, truth: dict[str, str]) -> tuple[float, int]:
    with ws.db.session_scope(write=False) as s:
        rows = s.execute(
            text(
                "SELECT i.external_id, l.meta FROM labels l JOIN tasks t ON t.id = l.task_id "
                "JOIN items i ON i.id = t.item_id WHERE l.job_id = :j"
            ),
            {"j": get_job(s, "j").id},
        ).all()
    import orjson

    right = sum(
        (orjson.loads(m) if isinstance(m, str) else m)["class-name"] == truth[e] for e, m in rows
    )
    return right / len(rows), len(rows)


def test_the_model_settles_what_majority_vote_cannot(ws):
    truth = two_answer_job(ws)
    before, n = label_accuracy(ws, truth)
    assert n == 150 and before < 0.9  # ties go either way
    with ws.db.session_scope() as s:
        report = reconsolidate_job(
            s, get_job(s, "j"), method="crowdlab", cache_dir=ws.settings.data_dir / "autolabel"
        )
    after, n = label_accuracy(ws, truth)
    assert report["method"] == "crowdlab" and report["tasks"] == 150 and report["changed"] > 0
    assert after >= 0.97 and after > before + 0.05, (before, after)
    with ws.db.session_scope(write=False) as s:
        ids = {u.name: u.id for u in s.scalars(select(User))}
    weights = report["worker_weights"]
    assert weights[str(ids["c"])] < min(weights[str(ids["a"])], weights[str(ids["b"])])
    with ws.db.session_scope(write=False) as s:
        methods = set(
            s.execute(
                text("SELECT DISTINCT method FROM labels WHERE job_id = :j"),
                {"j": get_job(s, "j").id},
            ).scalars()
        )
    assert methods == {"crowdlab"}


def test_reviewed_labels_stay_and_other_types_are_refused(ws, setup_factory):
    truth = two_answer_job(ws)
    with ws.db.session_scope() as s:
        s.execute(
            text(
                "UPDATE labels SET reviewed = :t, meta = :m WHERE task_id = (SELECT t.id FROM "
                "tasks t JOIN items i ON i.id = t.item_id WHERE i.external_id = 'd0')"
            ),
            {"t": True, "m": '{"class-name": "reviewer-said", "confidence": 1.0}'},
        )
    with ws.db.session_scope() as s:
        report = reconsolidate_job(s, get_job(s, "j"), method="crowdlab")
    assert report["tasks"] == 149
    with ws.db.session_scope(write=False) as s:
        meta = s.execute(
            text(
                "SELECT l.meta FROM labels l JOIN tasks t ON t.id = l.task_id JOIN items i "
                "ON i.id = t.item_id WHERE i.external_id = 'd0'"
            )
        ).scalar_one()
    assert "reviewer-said" in str(meta)
    assert truth  # the job had answers
    setup_factory(ws, n_items=4, n_workers=1)
    # A boxes job needs images: one image item (the refusal is about the task type).
    cat = [{"source-ref": str(ws.settings.media_dir / "cat.jpg")}]
    job_over_items(ws, "boxes", cat, ["cat"], task_type="bounding-box", teams=("crew",))
    with ws.db.session_scope() as s, pytest.raises(BadInput, match="bounding-box"):
        reconsolidate_job(s, get_job(s, "boxes"), method="crowdlab")


def test_too_few_answers_is_a_clear_error_over_http(ws, client):
    items, _ = easy_items(6)
    with ws.db.session_scope() as s:
        admin = issue_token(s, create_user(s, "boss", role="admin"))
    job_over_items(ws, "tiny", items, ["sunny", "rainy"], teams=())
    r = client.post(
        "/api/jobs/tiny/consolidate",
        json={"method": "crowdlab", "wait": True},
        headers=bearer(admin),
    )
    assert r.status_code == 400 and "crowdlab" in r.json()["detail"], r.text
    r = client.post(
        "/api/jobs/tiny/consolidate", json={"method": "nope", "wait": True}, headers=bearer(admin)
    )
    assert r.status_code == 400 and "crowdlab" in r.json()["detail"]
