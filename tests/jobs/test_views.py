"""Browsing a job's labels: filters apply before paging, on both stores."""

from __future__ import annotations

from sqlalchemy import select

from truthset.jobs.service import get_job
from truthset.jobs.views import list_labels
from truthset.store.models import User
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task


def test_label_filter_pages_through_matching_labels(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=10, n_workers=1)
    setup.job("j", workers_per_item=1, label_config=["pos", "neg_50%"])
    for i in range(10):
        with any_ws.db.session_scope() as s:
            job = get_job(s, "j")
            user = s.scalar(select(User).where(User.name == "w00"))
            t = lease_next_task(s, job, user)
            submit_answer(s, t.assignment_id, user, {"label": "neg_50%" if i % 3 else "pos"})
    with any_ws.db.session_scope(write=False) as s:
        job = get_job(s, "j")
        first = list_labels(s, job, offset=0, limit=4, label="neg_50%")
        rest = list_labels(s, job, offset=4, limit=4, label="neg_50%")
        pos = list_labels(s, job, offset=0, limit=100, label="pos")
        none = list_labels(s, job, offset=0, limit=100, label="neg")
    assert len(first) == 4 and len(rest) == 2
    assert {x["meta"]["class-name"] for x in first + rest} == {"neg_50%"}
    assert [x["item"] for x in pos] == ["item-00000", "item-00003", "item-00006", "item-00009"]
    assert none == []


def test_prelabeling_report_compares_time_with_and_without_predictions(ws, client):
    from support import Setup, bearer, write_manifest
    from truthset.datasets.importer import import_source

    setup = Setup(ws, n_items=0, n_workers=1)
    rows = [
        {"id": f"p{i}", "source": f"text {i}", "j-prediction": {"label": "pos"}} for i in range(4)
    ] + [{"id": f"n{i}", "source": f"plain {i}"} for i in range(2)]
    manifest = write_manifest(ws.settings.media_dir / "pre.manifest", rows)
    with ws.db.session_scope() as s:
        import_source(s, "pre", str(manifest), allowed_roots=ws.allowed_roots)
    setup.job("j", dataset="pre", workers_per_item=1)
    # Predicted items: 3 of 4 kept as predicted, answered fast; plain items slower.
    answers = {"p0": "pos", "p1": "pos", "p2": "neg", "p3": "pos", "n0": "pos", "n1": "neg"}
    times = {"p0": 2.0, "p1": 3.0, "p2": 9.0, "p3": 4.0, "n0": 10.0, "n1": 12.0}
    for _ in range(6):
        with ws.db.session_scope() as s:
            job = get_job(s, "j")
            user = s.scalar(select(User).where(User.name == "w00"))
            t = lease_next_task(s, job, user)
            item = t.item_external_id
            submit_answer(
                s, t.assignment_id, user, {"label": answers[item]}, time_spent=times[item]
            )
    r = client.get("/api/jobs/j/prelabeling", headers=bearer(setup.admin_token))
    assert r.status_code == 200
    assert r.json() == {
        "with_prediction": {
            "answers": 4,
            "mean_time": 4.5,
            "median_time": 3.5,
            "kept_unchanged": 3,
            "kept_unchanged_share": 0.75,
        },
        "without_prediction": {"answers": 2, "mean_time": 11.0, "median_time": 11.0},
        "median_time_saved": 7.5,
    }
    worker = bearer(setup.worker_tokens["w00"])
    assert client.get("/api/jobs/j/prelabeling", headers=worker).status_code == 403
