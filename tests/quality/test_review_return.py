"""A returned item waits for the workers it went back to (quality/review_return.py, the
work engine's pick): nobody else gets it while their places are held, each finds their
own earlier answer in their tool, and a place past its time (or given back) is open to
any worker; on both stores (PostgreSQL takes the one-statement lease)."""

from __future__ import annotations

from sqlalchemy import text

from quality.test_review import T0, lease, make_job, reviewers, user
from support import bearer
from truthset.api.tokens import issue_token
from truthset.jobs.service import get_job
from truthset.quality import review_return
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task, release
from truthset.workforce.service import create_user

HOUR = 3600.0


def newcomer(ws, name: str = "w09") -> None:
    """A worker of the job's team who never answered its items."""
    with ws.db.session_scope() as s:
        create_user(s, name, teams=["crew"])


def return_to(ws, workers, *, hold_hours=review_return.DEFAULT_HOLD_HOURS, now=T0):
    reviewers(ws, "r1")
    assert lease(ws, "j", "r1", now=now)["item"] == "item-00000"
    with ws.db.session_scope() as s:
        return review_return.return_item(
            s,
            get_job(s, "j"),
            "item-00000",
            user(s, "r1"),
            "The last word says it.",
            workers=workers,
            hold_hours=hold_hours,
            now=now,
        )


def next_for(ws, name: str, now: float):
    with ws.db.session_scope() as s:
        return lease_next_task(s, get_job(s, "j"), user(s, name), now=now)


def reserved(ws) -> int:
    with ws.db.session_scope() as s:
        return int(
            s.execute(
                text(
                    "SELECT t.reserved FROM tasks t JOIN items i ON i.id = t.item_id "
                    "WHERE i.external_id = 'item-00000'"
                )
            ).scalar_one()
        )


def test_the_place_is_held_for_the_returned_worker_with_their_answer(any_ws):
    make_job(any_ws, n_items=1)
    newcomer(any_ws)
    got = return_to(any_ws, ["w02"])
    assert got["workers"] == ["w02"] and got["held_until"] == T0 + 72 * HOUR
    assert reserved(any_ws) == 1
    # Another worker of the team is not given the item while the place is held ...
    assert next_for(any_ws, "w09", T0 + 1) is None
    # ... the worker it went back to is, and finds their own answer then in their tool.
    task = next_for(any_ws, "w02", T0 + 2)
    assert task is not None and task.item_external_id == "item-00000"
    assert task.returned_answer == {"label": "neg"}
    assert reserved(any_ws) == 0  # their place is taken: nothing held any more
    with any_ws.db.session_scope() as s:
        submit_answer(s, task.assignment_id, user(s, "w02"), {"label": "pos"})
        assert get_job(s, "j").state == "completed"


def test_a_place_past_its_time_or_given_back_is_open_to_anyone(any_ws):
    make_job(any_ws, n_items=1)
    newcomer(any_ws)
    newcomer(any_ws, "w08")
    return_to(any_ws, ["w00", "w01"], hold_hours=1)
    assert next_for(any_ws, "w09", T0 + 10) is None
    # w00 takes their place and gives it back: that place is anyone's now, w01's is held.
    task = next_for(any_ws, "w00", T0 + 20)
    assert task is not None and task.returned_answer == {"label": "pos"}
    with any_ws.db.session_scope() as s:
        release(s, task.assignment_id, user(s, "w00"), now=T0 + 21)
    assert reserved(any_ws) == 1  # w01's place is still held ...
    assert next_for(any_ws, "w09", T0 + 30) is None  # ... and the task is still reserved
    # Past the hold, the other place is open too: a newcomer gets the item, with no answer.
    late = next_for(any_ws, "w08", T0 + 2 * HOUR)
    assert late is not None and late.item_external_id == "item-00000"
    assert late.returned_answer is None
    assert reserved(any_ws) == 0


def test_hold_zero_opens_the_item_to_any_worker_at_once(any_ws):
    make_job(any_ws, n_items=1)
    newcomer(any_ws)
    got = return_to(any_ws, ["w01"], hold_hours=0)
    assert got["held_until"] is None and reserved(any_ws) == 0
    task = next_for(any_ws, "w09", T0 + 1)
    assert task is not None and task.returned_answer is None


def test_the_next_body_hands_the_returned_answer_to_the_tool(ws, client):
    make_job(ws, n_items=1)
    reviewers(ws, "r1")
    with ws.db.session_scope() as s:
        token = issue_token(s, user(s, "r1"))
        worker = issue_token(s, user(s, "w01"))
    assert client.post("/api/jobs/j/review/next", headers=bearer(token)).status_code == 200
    res = client.post(
        "/api/jobs/j/review/items/item-00000/return",
        headers=bearer(token),
        json={"comment": "Read it again.", "workers": ["w01"], "hold_hours": 2},
    )
    assert res.status_code == 200, res.text
    assert res.json()["held_until"] is not None
    bad = client.post(
        "/api/jobs/j/review/items/item-00000/return",
        headers=bearer(token),
        json={"comment": "x", "hold_hours": -1},
    )
    assert bad.status_code in (400, 422) and "hold_hours" in bad.text
    body = client.post("/api/jobs/j/next", headers=bearer(worker)).json()
    assert body["returned"] is True and body["prediction"] == {"label": "pos"}
