"""Review like an editor: the reviewer's decision recorded (who, accepted or corrected,
from where, the label before), an item rejected and returned to its workers with a
comment they see, the item's thread and who may read it; on both stores and over HTTP."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from quality.test_review import T0, answer_all, lease, make_job, reviewers, user
from support import bearer
from truthset.errors import BadInput, Conflict, NotFound
from truthset.exports.groundtruth import export_groundtruth
from truthset.jobs.service import get_job
from truthset.quality import comments, review, review_accept, review_return
from truthset.work.leases import lease_next_task
from truthset.workforce.service import create_user


def label_of(ws, item: str):
    with ws.db.session_scope() as s:
        return s.execute(
            text(
                "SELECT l.value, l.meta, l.reviewed FROM labels l JOIN tasks t ON t.id = l.task_id "
                "JOIN items i ON i.id = t.item_id WHERE i.external_id = :i"
            ),
            {"i": item},
        ).first()


def thread(ws, item: str, name: str) -> list[dict]:
    with ws.db.session_scope() as s:
        return comments.thread(s, get_job(s, "j"), item, user(s, name))["comments"]


def test_the_label_and_the_thread_say_who_reviewed_and_what_changed(any_ws):
    make_job(any_ws)
    reviewers(any_ws, "r1")
    assert lease(any_ws, "j", "r1")["item"] == "item-00000"
    with any_ws.db.session_scope() as s:
        review.review_item(
            s, get_job(s, "j"), "item-00000", {"label": "pos"}, user(s, "r1"), now=T0
        )
    value, meta, reviewed = label_of(any_ws, "item-00000")
    meta = meta if isinstance(meta, dict) else json.loads(meta)
    assert meta["reviewed-by"] == "r1" and meta["adjustment-status"] == "unadjusted"
    [entry] = thread(any_ws, "item-00000", "r1")
    assert entry["kind"] == "accepted" and entry["author"] == "r1"
    assert entry["detail"] == {"started_from": "consolidated", "changed": False, "before": 0}

    assert lease(any_ws, "j", "r1")["item"] == "item-00002"
    with any_ws.db.session_scope() as s:
        review.review_item(
            s,
            get_job(s, "j"),
            "item-00002",
            {"label": "neg"},
            user(s, "r1"),
            started_from="worker:w02",
            comment="  w02 was right: the second sentence is negative ",
            now=T0,
        )
    meta = label_of(any_ws, "item-00002")[1]
    meta = meta if isinstance(meta, dict) else json.loads(meta)
    assert meta["adjustment-status"] == "adjusted" and meta["class-name"] == "neg"
    [entry] = thread(any_ws, "item-00002", "r1")
    assert entry["kind"] == "corrected"
    assert entry["body"] == "w02 was right: the second sentence is negative"
    assert entry["detail"]["started_from"] == "worker:w02" and entry["detail"]["changed"]
    # The output manifest says who reviewed each label and whether it changed.
    out: list[bytes] = []
    with any_ws.db.session_scope(write=False) as s:
        export_groundtruth(s, get_job(s, "j"), lambda chunks: out.extend(chunks), now=0.0)
    rows = [json.loads(line) for line in b"".join(out).split(b"\n") if line]
    lines = {x["source"]: x["j-metadata"] for x in rows}
    assert lines
    reviewed = [m for m in lines.values() if m.get("reviewed") == "yes"]
    assert sorted(m["adjustment-status"] for m in reviewed) == ["adjusted", "unadjusted"]
    assert {m["reviewed-by"] for m in reviewed} == {"r1"}
    with any_ws.db.session_scope() as s, pytest.raises(BadInput, match="started_from"):
        review.review_item(
            s, get_job(s, "j"), "item-00002", {"label": "pos"}, user(s, "r1"), started_from="x"
        )


def test_a_returned_item_goes_back_to_its_workers_with_the_comment(any_ws):
    setup = make_job(any_ws, n_items=2)
    reviewers(any_ws, "r1")
    with any_ws.db.session_scope() as s:
        assert get_job(s, "j").state == "completed"
    assert lease(any_ws, "j", "r1")["item"] == "item-00000"
    with any_ws.db.session_scope() as s:
        got = review_return.return_item(
            s, get_job(s, "j"), "item-00000", user(s, "r1"), "Look at the last word.", now=T0
        )
    assert got["workers"] == ["w00", "w01", "w02"] and got["was"] == "complete"
    assert label_of(any_ws, "item-00000") is None  # no label until it is answered again
    with any_ws.db.session_scope() as s:
        job = get_job(s, "j")
        assert job.state == "in_progress" and job.in_flight == 1
        status, answers = s.execute(
            text(
                "SELECT t.status, t.answers FROM tasks t JOIN items i ON i.id = t.item_id "
                "WHERE i.external_id = 'item-00000'"
            )
        ).one()
        assert (status, answers) == ("open", 0)
    # Every worker sees the comment in the thread and in their list of returned items.
    [entry] = thread(any_ws, "item-00000", "w01")
    assert entry["kind"] == "returned" and entry["body"] == "Look at the last word."
    assert entry["detail"]["workers"] == ["w00", "w01", "w02"]
    # A worker sees their own answer as it was, not the others'; the reviewer sees all.
    assert entry["detail"]["answers"] == {"w01": {"label": "pos"}}
    [entry] = thread(any_ws, "item-00000", "r1")
    assert entry["detail"]["answers"]["w02"] == {"label": "neg"}
    with any_ws.db.session_scope() as s:
        mine = comments.returned_to_me(s, user(s, "w01"))
    assert [(m["item"], m["reviewer"], m["answered_again"]) for m in mine] == [
        ("item-00000", "r1", False)
    ]
    # The same workers take the item again, and it is labelled once all three answered.
    with any_ws.db.session_scope() as s:
        task = lease_next_task(s, get_job(s, "j"), user(s, "w00"))
        assert task is not None and task.item_external_id == "item-00000"
        s.rollback()
    answer_all(any_ws, "j", setup.worker_names, lambda w, item: "pos")
    assert label_of(any_ws, "item-00000")[0] == 0
    with any_ws.db.session_scope() as s:
        assert get_job(s, "j").state == "completed"
        assert comments.returned_to_me(s, user(s, "w01"))[0]["answered_again"]


def test_returning_and_commenting_are_refused_with_reasons(any_ws):
    make_job(any_ws, n_items=2)
    reviewers(any_ws, "r1", "r2")
    with any_ws.db.session_scope() as s:
        create_user(s, "outsider", role="worker", teams=[])
    assert lease(any_ws, "j", "r1")["item"] == "item-00000"
    with any_ws.db.session_scope() as s:
        job, r1, r2 = get_job(s, "j"), user(s, "r1"), user(s, "r2")
        with pytest.raises(BadInput, match="empty comment"):
            review_return.return_item(s, job, "item-00000", r1, "  ", now=T0)
        with pytest.raises(Conflict, match="leased to reviewer 'r1'"):
            review_return.return_item(s, job, "item-00000", r2, "redo", now=T0)
        with pytest.raises(BadInput, match="'w09' has no counted answer"):
            review_return.return_item(s, job, "item-00000", r1, "redo", workers=["w09"], now=T0)
        with pytest.raises(BadInput, match="at most 5000"):
            comments.add_comment(s, job, "item-00000", r1, "x" * 5001)
    # Nothing was written by the refused calls.
    assert thread(any_ws, "item-00000", "r1") == []
    with any_ws.db.session_scope() as s, pytest.raises(NotFound):
        comments.thread(s, get_job(s, "j"), "item-00000", user(s, "outsider"))
    # Only w02's answer goes back; w00 keeps theirs and sees nothing of this item's thread.
    with any_ws.db.session_scope() as s:
        review_return.return_item(
            s, get_job(s, "j"), "item-00000", user(s, "r1"), "redo", workers=["w02"], now=T0
        )
        assert s.execute(text("SELECT answers FROM tasks ORDER BY id LIMIT 1")).scalar() == 2
    with any_ws.db.session_scope() as s:
        comments.add_comment(s, get_job(s, "j"), "item-00000", user(s, "w02"), "Fixed, sorry")
    assert [e["author"] for e in thread(any_ws, "item-00000", "w02")] == ["r1", "w02"]


def test_thread_routes_over_http(ws, client):
    setup = make_job(ws, n_items=2)
    tokens = reviewers(ws, "r1")
    r1, w00 = bearer(tokens["r1"]), bearer(setup.worker_tokens["w00"])
    assert client.post("/api/jobs/j/review/next", headers=r1).json()["item"] == "item-00000"
    url = "/api/jobs/j/review/items/item-00000"
    r = client.post(url + "/return", headers=w00, json={"comment": "redo"})
    assert r.status_code == 403
    r = client.post(url + "/return", headers=r1, json={"comment": ""})
    assert r.status_code == 400 and "comment" in r.json()["detail"]
    r = client.post(url + "/return", headers=r1, json={"comment": "Check the spelling."})
    assert r.status_code == 200 and r.json()["returned"] is True
    r = client.get("/api/jobs/j/items/item-00000/comments", headers=w00)
    assert r.status_code == 200
    assert [c["kind"] for c in r.json()["comments"]] == ["returned"]
    r = client.post("/api/jobs/j/items/item-00000/comments", headers=w00, json={"body": "Done"})
    assert r.status_code == 201 and r.json()["comments"][-1]["author"] == "w00"
    assert client.get("/api/me/returned", headers=w00).json()[0]["comment"] == (
        "Check the spelling."
    )
    r = client.get("/api/jobs/j/items/nope/comments", headers=w00)
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_accepting_keeps_the_label_and_marks_it_reviewed(any_ws):
    make_job(any_ws)
    reviewers(any_ws, "r1", "r2")
    assert lease(any_ws, "j", "r1")["item"] == "item-00000"
    with any_ws.db.session_scope() as s:
        job, r1, r2 = get_job(s, "j"), user(s, "r1"), user(s, "r2")
        with pytest.raises(Conflict, match="leased to reviewer 'r1'"):
            review_accept.accept_item(s, job, "item-00000", r2, now=T0)
        got = review_accept.accept_item(s, job, "item-00000", r1, comment="Fine.", now=T0)
        assert got == {"item": "item-00000", "reviewed": True, "accepted": True}
        # Asked again, answered the same, and nothing more is written.
        assert review_accept.accept_item(s, job, "item-00000", r1, now=T0 + 1) == got
    value, meta, reviewed = label_of(any_ws, "item-00000")
    meta = meta if isinstance(meta, dict) else json.loads(meta)
    assert value == 0 and reviewed
    assert meta["class-name"] == "pos" and meta["confidence"] == 1.0
    assert meta["reviewed-by"] == "r1" and meta["adjustment-status"] == "unadjusted"
    [entry] = thread(any_ws, "item-00000", "r1")
    assert (entry["kind"], entry["body"]) == ("accepted", "Fine.")
    with any_ws.db.session_scope() as s:
        assert review.review_queue(s, get_job(s, "j"), now=T0)["reviewed"] == 1
        # The next item is item 2: item 0 left the queue.
    assert lease(any_ws, "j", "r2")["item"] == "item-00002"


def test_an_excluded_answer_is_not_returned(ws):
    """An admin returns an item without a lease; an excluded worker's answer stays."""
    from truthset.quality.service import exclude_worker_answers

    make_job(ws, n_items=2)
    with ws.db.session_scope() as s:
        exclude_worker_answers(s, get_job(s, "j"), user(s, "w02").id)
    with ws.db.session_scope() as s:
        got = review_return.return_item(
            s, get_job(s, "j"), "item-00000", user(s, "boss"), "Look again.", now=T0
        )
        assert got["workers"] == ["w00", "w01"]
        answers = s.execute(
            text(
                "SELECT t.answers FROM tasks t JOIN items i ON i.id = t.item_id "
                "WHERE i.external_id = 'item-00000'"
            )
        ).scalar_one()
        assert answers == 0
        with pytest.raises(BadInput, match="'w02' has no counted answer"):
            review_return.return_item(
                s, get_job(s, "j"), "item-00001", user(s, "boss"), "x", workers=["w02"], now=T0
            )


def test_a_returned_item_answered_again_is_queued_as_a_new_one(any_ws):
    make_job(any_ws, n_items=4)  # items 0 and 2 are queued (w02 disagrees)
    reviewers(any_ws, "r1")
    assert lease(any_ws, "j", "r1")["item"] == "item-00000"
    with any_ws.db.session_scope() as s:
        review_return.return_item(
            s, get_job(s, "j"), "item-00000", user(s, "r1"), "Sure?", workers=["w02"], now=T0
        )
    answer_all(any_ws, "j", ["w02"], lambda w, item: "neg")  # still disagrees
    # Queued again in its place (import order), not last as an item r1 had skipped.
    again = lease(any_ws, "j", "r1")
    assert again is not None and again["item"] == "item-00000"
    assert [a["worker"] for a in again["answers"]] == ["w00", "w01", "w02"]


def test_returned_to_me_lists_only_the_items_returned_to_the_caller(ws):
    from truthset.quality import review_repository

    make_job(ws, n_items=2)
    reviewers(ws, "r1")
    with ws.db.session_scope() as s:
        w00, w01 = user(s, "w00"), user(s, "w01")
        task_id = s.execute(text("SELECT min(id) FROM tasks")).scalar_one()
        # Returned to w00 only, with an answer whose own "id" is w01's id.
        review_repository.insert_comment(
            s,
            task_id=task_id,
            job_id=get_job(s, "j").id,
            author_id=user(s, "r1").id,
            kind="returned",
            body="Only for w00.",
            detail={
                "workers": [{"id": w00.id, "name": "w00"}],
                "answers": {"w00": {"id": w01.id, "n": 1}},
            },
            now=T0,
        )
    with ws.db.session_scope() as s:
        assert [r["comment"] for r in comments.returned_to_me(s, user(s, "w00"))] == [
            "Only for w00."
        ]
        assert comments.returned_to_me(s, user(s, "w01")) == []
