"""Browsing a job's labels: filters apply before paging, on both stores."""

from __future__ import annotations

from sqlalchemy import select

from truthset.jobs.service import get_job
from truthset.jobs.views import list_labels
from truthset.store.models import User
from truthset.work import service as work


def test_label_filter_pages_through_matching_labels(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=10, n_workers=1)
    setup.job("j", workers_per_item=1, label_config=["pos", "neg_50%"])
    for i in range(10):
        with any_ws.db.session_scope() as s:
            job = get_job(s, "j")
            user = s.scalar(select(User).where(User.name == "w00"))
            t = work.lease_next_task(s, job, user)
            work.submit_answer(s, t.assignment_id, user, {"label": "neg_50%" if i % 3 else "pos"})
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
