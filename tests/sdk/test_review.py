"""The SDK's review calls against the real routes: next, release, submit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from support import Setup
from truthset.api.tokens import issue_token
from truthset.jobs.service import get_job
from truthset.sdk.client import Client, TruthsetError
from truthset.store.models import User
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task
from truthset.workforce.service import create_user


def test_review_through_the_sdk(ws, client):
    setup = Setup(ws, n_items=2, n_workers=3)
    setup.job("j", workers_per_item=3)
    for w in setup.worker_names:  # w02 disagrees on item 0: its label is disputed
        for _ in range(2):
            with ws.db.session_scope() as s:
                u = s.scalar(select(User).where(User.name == w))
                t = lease_next_task(s, get_job(s, "j"), u)
                label = "neg" if w == "w02" and t.item_external_id.endswith("0") else "pos"
                submit_answer(s, t.assignment_id, u, {"label": label})
    with ws.db.session_scope() as s:
        token = issue_token(s, create_user(s, "r1", role="reviewer", teams=["crew"]))
    client.headers["Authorization"] = f"Bearer {token}"
    r1 = Client("http://testserver", token, http=client)
    got = r1.review_next("j", max_confidence=0.9)
    assert got is not None and got["item"] == "item-00000" and len(got["answers"]) == 3
    assert r1.review_release("j", "item-00000") == {"item": "item-00000", "released": True}
    again = r1.review_next("j", max_confidence=0.9)
    assert again is not None and again["item"] == "item-00000"
    assert r1.review_submit("j", "item-00000", {"label": "neg"})["reviewed"] is True
    assert r1.review_next("j", max_confidence=0.9) is None
    with pytest.raises(TruthsetError) as raised:
        r1.review_submit("j", "nope", {"label": "neg"})
    assert raised.value.status == 404
