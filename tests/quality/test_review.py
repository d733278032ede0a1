"""The review queue: leases on both stores, expiry, release, idempotent submit, disputed
items, the HTTP routes' errors, and the export of a reviewed item."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import select, text

from support import Setup, bearer
from truthset.api.tokens import issue_token
from truthset.errors import Conflict, Gone, NotFound
from truthset.exports.groundtruth import export_groundtruth
from truthset.jobs.service import get_job, stop_job
from truthset.quality import review
from truthset.store.models import User
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task
from truthset.workforce.service import create_user

T0 = 1_000_000_000.0  # leases in these tests are taken at fixed times


def answer_all(ws, job: str, workers: list[str], label) -> None:
    """Each worker answers every item it can: label(worker, item id) -> class name."""
    for w in workers:
        while True:
            with ws.db.session_scope() as s:
                j = get_job(s, job)
                u = s.scalar(select(User).where(User.name == w))
                t = lease_next_task(s, j, u)
                if t is None:
                    break
                submit_answer(s, t.assignment_id, u, {"label": label(w, t.item_external_id)})


def split_on_even_items(w: str, item: str) -> str:
    """w02 disagrees on the even items: their labels have confidence 2/3, the others 1."""
    return "neg" if w == "w02" and int(item[-1]) % 2 == 0 else "pos"


def reviewers(ws, *names: str, teams: tuple[str, ...] = ("crew",)) -> dict[str, str]:
    """Reviewers in the job's team (a reviewer reviews only the jobs of their teams)."""
    with ws.db.session_scope() as s:
        return {
            n: issue_token(s, create_user(s, n, role="reviewer", teams=list(teams))) for n in names
        }


def user(s, name: str) -> User:
    u = s.scalar(select(User).where(User.name == name))
    assert u is not None
    return u


def lease(ws, job: str, name: str, now: float = T0, **kw) -> dict | None:
    with ws.db.session_scope() as s:
        return review.lease_next_review(s, get_job(s, job), user(s, name), now=now, **kw)


def submit(ws, job: str, name: str, item: str, label: str, now: float = T0) -> dict:
    with ws.db.session_scope() as s:
        return review.review_item(
            s, get_job(s, job), item, {"label": label}, user(s, name), now=now
        )


def release(ws, job: str, name: str, item: str, now: float = T0) -> dict:
    with ws.db.session_scope() as s:
        return review.release_review(s, get_job(s, job), item, user(s, name), now=now)


def make_job(ws, n_items: int = 4, review: dict | None = None) -> Setup:
    setup = Setup(ws, n_items=n_items, n_workers=3)
    settings = {"quality": {"review": review}} if review else {}
    setup.job("j", workers_per_item=3, task_time_limit=300, settings=settings)
    answer_all(ws, "j", setup.worker_names, split_on_even_items)
    return setup


def test_two_reviewers_never_get_the_same_item(any_ws):
    make_job(any_ws)
    reviewers(any_ws, "r1", "r2", "r3")
    first = lease(any_ws, "j", "r1")
    assert first is not None and first["item"] == "item-00000"
    assert len(first["answers"]) == 3  # the reviewer sees every answer
    assert first["review"] == {
        "deadline": T0 + 300,
        "reason": "low_confidence",
        "confidence": pytest.approx(0.67, abs=0.01),
    }
    second = lease(any_ws, "j", "r2")
    assert second is not None and second["item"] == "item-00002"
    assert lease(any_ws, "j", "r3") is None  # items 1 and 3 are unanimous
    # A reviewer who holds a lease gets that item again, not a second one.
    again = lease(any_ws, "j", "r1", now=T0 + 10)
    assert again is not None and again["item"] == "item-00000"
    assert again["review"]["deadline"] == T0 + 300


def test_an_expired_review_lease_returns_the_item(any_ws):
    make_job(any_ws, n_items=1)
    reviewers(any_ws, "r1", "r2")
    assert lease(any_ws, "j", "r1")["item"] == "item-00000"
    assert lease(any_ws, "j", "r2", now=T0 + 299) is None
    taken = lease(any_ws, "j", "r2", now=T0 + 301)
    assert taken is not None and taken["item"] == "item-00000"
    assert taken["review"]["deadline"] == T0 + 601
    # r1's lease ended; r2 holds the item now.
    with pytest.raises(Conflict, match="leased to reviewer 'r2'"):
        submit(any_ws, "j", "r1", "item-00000", "neg", now=T0 + 302)
    # r2 lets its own lease lapse: its submit is refused as gone.
    with pytest.raises(Gone, match="expired"):
        submit(any_ws, "j", "r2", "item-00000", "neg", now=T0 + 700)
    with pytest.raises(Gone):
        release(any_ws, "j", "r2", "item-00000", now=T0 + 700)


def test_release_puts_the_item_back(any_ws):
    make_job(any_ws, n_items=1)
    reviewers(any_ws, "r1", "r2")
    lease(any_ws, "j", "r1")
    assert lease(any_ws, "j", "r2") is None
    with pytest.raises(Conflict, match="leased to reviewer 'r1'"):
        release(any_ws, "j", "r2", "item-00000")
    assert release(any_ws, "j", "r1", "item-00000") == {"item": "item-00000", "released": True}
    assert release(any_ws, "j", "r1", "item-00000")["released"]  # said twice: the same
    with pytest.raises(Conflict, match="not leased to you"):
        submit(any_ws, "j", "r1", "item-00000", "neg")
    taken = lease(any_ws, "j", "r2", now=T0 + 1)
    assert taken is not None and taken["item"] == "item-00000"
    with pytest.raises(NotFound):
        release(any_ws, "j", "r2", "nope")


def test_submit_ends_the_lease_and_is_idempotent(any_ws):
    make_job(any_ws, n_items=1)
    reviewers(any_ws, "r1", "r2")
    lease(any_ws, "j", "r1")
    assert submit(any_ws, "j", "r1", "item-00000", "neg") == {
        "item": "item-00000",
        "reviewed": True,
    }
    # The same answer again (a retried request), even after the deadline: the same reply.
    assert submit(any_ws, "j", "r1", "item-00000", "neg", now=T0 + 1000)["reviewed"]
    with pytest.raises(Conflict, match="already reviewed by 'r1'"):
        submit(any_ws, "j", "r1", "item-00000", "pos", now=T0 + 1)
    with pytest.raises(Conflict, match="already reviewed"):
        submit(any_ws, "j", "r2", "item-00000", "neg", now=T0 + 1)
    # Reviewed items never come back, not even once the lease would have expired.
    assert lease(any_ws, "j", "r2", now=T0 + 10_000) is None
    with any_ws.db.session_scope(write=False) as s:
        row = s.execute(text("SELECT reviewed, confidence, meta FROM labels")).one()
        status = s.execute(text("SELECT status FROM review_leases")).scalar_one()
    assert bool(row[0]) and row[1] == 1.0 and status == "submitted"
    meta = row[2] if isinstance(row[2], dict) else json.loads(row[2])
    assert meta["class-name"] == "neg"


def test_an_admin_reviews_without_a_lease(any_ws):
    make_job(any_ws, n_items=1)
    reviewers(any_ws, "r1")
    with any_ws.db.session_scope() as s:
        create_user(s, "root", role="admin")
    lease(any_ws, "j", "r1")
    assert submit(any_ws, "j", "root", "item-00000", "pos")["reviewed"]
    with pytest.raises(Conflict, match="already reviewed by 'root'"):
        submit(any_ws, "j", "r1", "item-00000", "pos")


def test_reconsolidation_keeps_a_reviewed_label(ws):
    from truthset.quality.service import reconsolidate_job

    make_job(ws, n_items=1)
    reviewers(ws, "r1")
    lease(ws, "j", "r1")
    submit(ws, "j", "r1", "item-00000", "neg")  # the workers said pos, pos, neg
    with ws.db.session_scope() as s:
        reconsolidate_job(s, get_job(s, "j"), method="mv")
    with ws.db.session_scope(write=False) as s:
        row = s.execute(text("SELECT reviewed, method FROM labels")).one()
    assert bool(row[0]) and row[1] == "review"


def test_racing_reviewers_get_distinct_items(any_ws):
    """Eight reviewers in threads, each with its own transaction: on PostgreSQL they race
    for real (SKIP LOCKED and the guarded upsert); on SQLite writes are serialised."""
    make_job(any_ws, n_items=12)  # six items queued: the even ones
    names = [f"r{i}" for i in range(8)]
    reviewers(any_ws, *names)
    barrier = threading.Barrier(len(names))
    got: dict[str, str | None] = {}
    errors: list[BaseException] = []

    def take(name: str) -> None:
        try:
            barrier.wait()
            item = lease(any_ws, "j", name, now=time.time())
            got[name] = None if item is None else item["item"]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=take, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    items = [v for v in got.values() if v is not None]
    assert len(items) == len(set(items)) == 6
    assert sorted(items) == [f"item-{i:05d}" for i in range(0, 12, 2)]
    with any_ws.db.session_scope(write=False) as s:
        assert s.execute(text("SELECT count(*) FROM review_leases")).scalar_one() == 6


# -- which items are queued ------------------------------------------------------------------


def test_disputed_classification_items_are_queued_above_the_bar(any_ws):
    make_job(any_ws, review={"max_confidence": 0.0, "disputed": True})
    reviewers(any_ws, "r1", "r2", "r3")
    first = lease(any_ws, "j", "r1")
    assert first["item"] == "item-00000" and first["review"]["reason"] == "disputed"
    assert lease(any_ws, "j", "r2")["item"] == "item-00002"
    assert lease(any_ws, "j", "r3") is None


def test_the_query_parameter_overrides_the_setting(any_ws):
    make_job(any_ws, review={"max_confidence": 0.0})
    reviewers(any_ws, "r1", "r2", "r3")
    assert lease(any_ws, "j", "r1") is None
    # Every label at most 1.0: lowest confidence first, then import order.
    order = [lease(any_ws, "j", n, max_confidence=1.0)["item"] for n in ("r1", "r2", "r3")]
    assert order == ["item-00000", "item-00002", "item-00001"]


def _box_job(
    ws, min_agreement: float | None, workers_per_item: int = 2, review: dict | None = None
) -> None:
    from PIL import Image

    from support import write_manifest
    from truthset.datasets.importer import import_source
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job

    rows = []
    for i in range(2):
        img = ws.settings.media_dir / f"im{i}.png"
        Image.new("RGB", (100, 80)).save(img)
        rows.append({"source-ref": str(img)})
    path = write_manifest(ws.settings.media_dir / "b.manifest", rows)
    settings: dict = {"quality": {"review": review or {"max_confidence": 0.0, "disputed": True}}}
    if min_agreement is not None:
        settings["quality"]["review"]["min_agreement"] = min_agreement
    with ws.db.session_scope() as s:
        import_source(s, "imgs", str(path), allowed_roots=ws.allowed_roots)
        for w in ("w1", "w2", "r1"):
            create_user(s, w, role="reviewer" if w == "r1" else "worker", teams=["t"])
        create_job(
            s,
            JobCreate(
                name="boxes",
                task_type="bounding-box",
                label_config=["car", "person"],
                dataset="imgs",
                workers_per_item=workers_per_item,
                teams=["t"],
                settings=settings,
            ),
        )


def box(label: str, left: int, top: int, width: int, height: int) -> dict:
    return {"label": label, "left": left, "top": top, "width": width, "height": height}


# Item 1: the same car (IoU 60/100) and a person only w1 drew; item 2: one person each
# (IoU 80/120). Per pair, soft F1: item 1 = 0.6 / 1.5 = 0.4, item 2 = 2/3.
BOXES = {
    "w1": [
        [box("car", 0, 0, 10, 10), box("person", 50, 50, 10, 10)],
        [box("person", 20, 20, 10, 10)],
    ],
    "w2": [[box("car", 0, 0, 10, 6)], [box("person", 22, 20, 10, 10)]],
}


def _answer_boxes(ws) -> None:
    size = {"width": 100, "height": 80}
    for w, answers in BOXES.items():
        for objects in answers:
            with ws.db.session_scope() as s:
                j = get_job(s, "boxes")
                u = user(s, w)
                t = lease_next_task(s, j, u)
                submit_answer(
                    s,
                    t.assignment_id,
                    u,
                    {"boundingBoxes": objects, "inputImageProperties": size},
                )


def test_disputed_boxes_are_those_below_the_agreement_bar(ws):
    _box_job(ws, min_agreement=0.5)
    _answer_boxes(ws)
    first = lease(ws, "boxes", "r1")
    assert first is not None and first["review"]["reason"] == "disputed"
    assert first["answers"][0]["answer"]["boundingBoxes"][0]["label"] == "car"  # item 1: 0.4
    assert lease(ws, "boxes", "r1", now=T0 + 10_000) is not None  # its own, expired: again
    with ws.db.session_scope(write=False) as s:
        job = get_job(s, "boxes")
        tasks = [r[0] for r in s.execute(text("SELECT id FROM tasks ORDER BY position"))]
        assert review.disputed_tasks(s, job, tasks, min_agreement=0.5) == {tasks[0]}
        assert review.disputed_tasks(s, job, tasks, min_agreement=0.7) == set(tasks)
        assert review.disputed_tasks(s, job, tasks, min_agreement=0.3) == set()


def test_per_label_agreement_of_boxes_by_hand(ws):
    from truthset.quality.service import agreement_report

    _box_job(ws, min_agreement=None)
    _answer_boxes(ws)
    with ws.db.session_scope(write=False) as s:
        report = agreement_report(s, get_job(s, "boxes"))
    assert report["pairs"] == 2
    assert report["mean_pairwise_agreement"] == pytest.approx((0.4 + 2 / 3) / 2, abs=1e-4)
    # car: one pair uses it (IoU 0.6); person: both pairs (0 missed, then IoU 2/3).
    assert report["per_label"] == {
        "car": pytest.approx(0.6, abs=1e-4),
        "person": pytest.approx((0.0 + 2 / 3) / 2, abs=1e-4),
    }


def test_per_label_agreement_of_spans_and_labels_nobody_used():
    from truthset.quality.label_agreement import per_label_pairwise_agreement
    from truthset.tasktypes import get_task_type

    ner = get_task_type("named-entity-recognition")
    config = ner.parse_label_config(
        {"labels": [{"label": "PER"}, {"label": "LOC"}, {"label": "ORG"}]}
    )

    def entities(*spans):
        return {
            "entities": [{"label": lab, "startOffset": a, "endOffset": b} for lab, a, b in spans]
        }

    items = [
        # PER: Jaccard 4/5; LOC: no overlap.
        [entities(("PER", 0, 5), ("LOC", 10, 20)), entities(("PER", 0, 4), ("LOC", 30, 40))],
        # Three workers, three pairs on PER: 1, 1/2, 1/2 (Jaccard [0,10) vs [0,5) = 0.5).
        [entities(("PER", 0, 10)), entities(("PER", 0, 10)), entities(("PER", 0, 5))],
    ]
    per_label = per_label_pairwise_agreement(items, ner.agreement, config)
    assert per_label == {
        "PER": pytest.approx((0.8 + 1 + 0.5 + 0.5) / 4),
        "LOC": 0.0,
        "ORG": None,
    }


def test_per_label_agreement_of_semantic_masks():
    import base64
    import io

    import numpy as np
    from PIL import Image

    from truthset.quality.label_agreement import per_label_pairwise_agreement
    from truthset.tasktypes import get_task_type

    seg = get_task_type("semantic-segmentation")
    config = seg.parse_label_config(["sky", "road"])
    colors = {"sky": (0, 0, 255), "road": (255, 0, 0)}
    hexes = {"sky": "#0000ff", "road": "#ff0000"}

    def answer(sky_rows: int, road_rows: int) -> dict:
        pixels = np.full((10, 10, 3), 255, dtype=np.uint8)
        pixels[:sky_rows] = colors["sky"]
        pixels[10 - road_rows :] = colors["road"]
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="PNG")
        return {
            "labeledImage": {"pngImageData": base64.b64encode(buf.getvalue()).decode()},
            "labelMappings": {k: {"color": c} for k, c in hexes.items()},
        }

    # sky: 3 rows vs 4 rows = 30/40; road: 2 rows vs 0 rows = 0.
    per_label = per_label_pairwise_agreement([[answer(3, 2), answer(4, 0)]], seg.agreement, config)
    assert per_label == {"sky": 0.75, "road": 0.0}


def test_per_label_is_empty_for_transcripts():
    from truthset.quality.label_agreement import per_label_pairwise_agreement

    def agree(a, b, config):
        return 1.0

    items = [[{"transcription": "a b"}, {"transcription": "a c"}]]
    assert per_label_pairwise_agreement(items, agree, type("C", (), {"labels": []})()) == {}


# -- HTTP ------------------------------------------------------------------------------------


def test_review_routes_over_http(ws, client):
    setup = make_job(ws, n_items=2)
    tokens = reviewers(ws, "r1", "r2")
    r1, r2 = bearer(tokens["r1"]), bearer(tokens["r2"])
    admin = bearer(setup.admin_token)
    worker = bearer(setup.worker_tokens["w00"])

    assert client.post("/api/jobs/j/review/next", headers=worker).status_code == 403
    got = client.post("/api/jobs/j/review/next", headers=r1)
    assert got.status_code == 200 and got.json()["item"] == "item-00000"
    assert got.json()["review"]["reason"] == "low_confidence"
    assert client.post("/api/jobs/j/review/next", headers=r2).status_code == 204

    url = "/api/jobs/j/review/items/item-00000"
    r = client.post(url, headers=r2, json={"answer": {"label": "neg"}})
    assert r.status_code == 409
    assert r.json() == {
        "error": "conflict",
        "detail": "item 'item-00000' is leased to reviewer 'r1'",
    }
    r = client.post(url + "/release", headers=r2)
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    r = client.post("/api/jobs/j/review/items/nope", headers=r1, json={"answer": {"label": "neg"}})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert client.post("/api/jobs/j/review/items/nope/release", headers=r1).status_code == 404
    r = client.post(url, headers=r1, json={"answer": {"label": "maybe"}})
    assert r.status_code == 400  # not a class of the job

    # An expired lease: 410 for its holder (the deadline moved into the past).
    with ws.db.session_scope() as s:
        s.execute(text("UPDATE review_leases SET deadline = 1"))
    r = client.post(url, headers=r1, json={"answer": {"label": "neg"}})
    assert r.status_code == 410 and r.json()["error"] == "gone"
    # ... and the item is back in the queue: r2 takes it, r1 is now refused with 409.
    assert client.post("/api/jobs/j/review/next", headers=r2).json()["item"] == "item-00000"
    r = client.post(url, headers=r1, json={"answer": {"label": "neg"}})
    assert r.status_code == 409

    assert client.post(url + "/release", headers=r2).json() == {
        "item": "item-00000",
        "released": True,
    }
    assert client.post("/api/jobs/j/review/next", headers=r1).json()["item"] == "item-00000"
    for _ in range(2):  # the second submit (a retry) is answered as the first
        r = client.post(url, headers=r1, json={"answer": {"label": "neg"}})
        assert r.status_code == 200 and r.json() == {"item": "item-00000", "reviewed": True}
    assert client.post("/api/jobs/j/review/next", headers=r1).status_code == 204
    # max_confidence=1 also queues the unanimous item.
    r = client.post("/api/jobs/j/review/next?max_confidence=1", headers=r2)
    assert r.json()["item"] == "item-00001"
    assert client.post("/api/jobs/j/review/next?max_confidence=2", headers=r2).status_code == 422

    # An admin overrides without a lease.
    r = client.post(url, headers=admin, json={"answer": {"label": "pos"}})
    assert r.status_code == 200

    out: list[bytes] = []
    with ws.db.session_scope(write=False) as s:
        export_groundtruth(s, get_job(s, "j"), lambda chunks: out.extend(chunks), now=0.0)
    first = json.loads(out[0].split(b"\n")[0])
    assert first["j-metadata"]["reviewed"] == "yes"
    assert first["j-metadata"]["class-name"] == "pos"
    assert first["j-metadata"]["confidence"] == 1.0


def test_excluding_a_workers_answers_keeps_a_reviewed_label(ws):
    """A blocked worker's answers are excluded and their items re-queued, except the items
    a reviewer has labeled: that label stands and the item is not worked again."""
    from truthset.quality.service import exclude_worker_answers

    make_job(ws, n_items=4)
    reviewers(ws, "r1")
    got = lease(ws, "j", "r1", max_confidence=0.9)
    assert got is not None and got["item"] == "item-00000"
    submit(ws, "j", "r1", "item-00000", "neg")
    with ws.db.session_scope() as s:
        w02 = user(s, "w02").id
        reopened = exclude_worker_answers(s, get_job(s, "j"), w02)
    assert reopened == 3  # items 1-3; item 0 was reviewed
    with ws.db.session_scope(write=False) as s:
        rows = s.execute(
            text(
                "SELECT i.external_id, t.status, t.answers, l.reviewed FROM tasks t "
                "JOIN items i ON i.id = t.item_id LEFT JOIN labels l ON l.task_id = t.id "
                "ORDER BY t.position"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("item-00000", "complete", 2, True),
        ("item-00001", "open", 2, None),
        ("item-00002", "open", 2, None),
        ("item-00003", "open", 2, None),
    ]


def test_a_reviewer_reviews_only_the_jobs_of_their_teams(ws, client):
    make_job(ws, n_items=2)
    out = bearer(reviewers(ws, "outsider", teams=())["outsider"])
    insider = reviewers(ws, "insider")["insider"]
    url = "/api/jobs/j/review"
    for r in (
        client.post(f"{url}/next", headers=out),
        client.post(f"{url}/items/item-00000", headers=out, json={"answer": {"label": "neg"}}),
        client.post(f"{url}/items/item-00000/release", headers=out),
    ):
        assert r.status_code == 404 and r.json() == {
            "error": "not_found",
            "detail": "job 'j' not found",
        }
    got = client.post(f"{url}/next", headers=bearer(insider))
    assert got.status_code == 200 and got.json()["item"] == "item-00000"


def test_an_item_a_reviewer_gave_back_comes_after_the_others_for_them(any_ws):
    """Release is how a reviewer skips: their next item is another one while there is one;
    other reviewers still get the released item in its usual place."""
    make_job(any_ws, n_items=4)  # items 0 and 2 have confidence 2/3
    reviewers(any_ws, "r1", "r2")
    assert lease(any_ws, "j", "r1", max_confidence=0.9)["item"] == "item-00000"
    release(any_ws, "j", "r1", "item-00000")
    assert lease(any_ws, "j", "r1", max_confidence=0.9)["item"] == "item-00002"
    assert lease(any_ws, "j", "r2", max_confidence=0.9)["item"] == "item-00000"
    release(any_ws, "j", "r2", "item-00000")
    release(any_ws, "j", "r1", "item-00002")
    # Both given back by r1 now... item 0 was last released by r2, so it comes first.
    assert lease(any_ws, "j", "r1", max_confidence=0.9)["item"] == "item-00000"


def test_queue_counts_over_http(ws, client):
    """4 items: 0 and 2 at confidence 2/3 (low), all four disputed when the job says so."""
    setup = make_job(ws, n_items=4, review={"max_confidence": 0.9})
    r1 = bearer(reviewers(ws, "r1")["r1"])
    url = "/api/jobs/j/review/queue"
    assert client.get(url, headers=r1).json() == {
        "max_confidence": 0.9,
        "suspected_error": 0,
        "low_confidence": 2,
        "disputed": None,
        "queued": 2,
        "leased": 0,
        "reviewed": 0,
    }
    assert client.post("/api/jobs/j/review/next", headers=r1).json()["item"] == "item-00000"
    q = client.get(url, headers=r1).json()
    assert (q["low_confidence"], q["leased"]) == (1, 1)
    client.post(
        "/api/jobs/j/review/items/item-00000", headers=r1, json={"answer": {"label": "neg"}}
    )
    q = client.get(url, headers=r1).json()
    assert (q["queued"], q["leased"], q["reviewed"]) == (1, 0, 1)
    # Disputed items above the bar (none here: items 1 and 3 were answered unanimously).
    with ws.db.session_scope() as s:
        job = get_job(s, "j")
        job.settings = {"quality": {"review": {"max_confidence": 0.5, "disputed": True}}}
    q = client.get(url, headers=r1).json()
    assert (q["low_confidence"], q["disputed"], q["queued"]) == (0, 1, 1)
    worker = bearer(setup.worker_tokens["w00"])
    assert client.get(url, headers=worker).status_code == 403


def job_state(ws, job: str) -> tuple[str, int]:
    with ws.db.session_scope(write=False) as s:
        j = get_job(s, job)
        return j.state, j.in_flight


def lease_one(ws, job: str, worker: str) -> None:
    with ws.db.session_scope() as s:
        assert lease_next_task(s, get_job(s, job), user(s, worker)) is not None


def one_worker_job(ws, n_items: int) -> Setup:
    setup = Setup(ws, n_items=n_items, n_workers=2)
    setup.job("j", workers_per_item=1, task_time_limit=300)
    return setup


def test_a_job_whose_last_items_are_labeled_in_review_completes(any_ws):
    """A worker answers one item; an admin labels the other two through review, one of
    them while a worker holds its lease: nothing is left to work, so the job is completed
    (as when a worker's answer finishes the last task) and no task is counted in flight."""
    one_worker_job(any_ws, n_items=3)
    with any_ws.db.session_scope() as s:
        j, w00 = get_job(s, "j"), user(s, "w00")
        t = lease_next_task(s, j, w00)
        submit_answer(s, t.assignment_id, w00, {"label": "pos"})
    lease_one(any_ws, "j", "w01")  # item 1: started, in flight, leased to w01
    assert job_state(any_ws, "j") == ("in_progress", 1)
    submit(any_ws, "j", "boss", "item-00002", "neg")  # never leased
    assert job_state(any_ws, "j") == ("in_progress", 1)
    submit(any_ws, "j", "boss", "item-00001", "neg")
    assert job_state(any_ws, "j") == ("completed", 0)
    with any_ws.db.session_scope(write=False) as s:
        statuses = s.execute(text("SELECT status FROM tasks ORDER BY position")).scalars().all()
    assert statuses == ["complete", "complete", "complete"]


def test_a_stopping_job_stops_when_review_finishes_its_last_leased_task(any_ws):
    """A stopping job waits for its tasks in flight; a reviewer's label finishes one."""
    one_worker_job(any_ws, n_items=2)
    lease_one(any_ws, "j", "w00")
    with any_ws.db.session_scope() as s:
        stop_job(s, get_job(s, "j"), now=T0)
    assert job_state(any_ws, "j") == ("stopping", 1)
    submit(any_ws, "j", "boss", "item-00000", "pos")
    assert job_state(any_ws, "j") == ("stopped", 0)


def test_a_single_workers_box_is_queued_at_the_prior_and_a_reviewed_box_exports_certain(ws):
    """One worker per item, skill unknown: the label's confidence is the job's prior (0.5),
    under the default bar (0.7), so it is queued; once a reviewer sets it, the export's
    object confidences say 1.0, as the console does."""
    _box_job(ws, None, workers_per_item=1, review={"max_confidence": 0.7})
    size = {"width": 100, "height": 80}
    for objects in BOXES["w1"]:
        with ws.db.session_scope() as s:
            j = get_job(s, "boxes")
            u = user(s, "w1")
            t = lease_next_task(s, j, u)
            submit_answer(
                s, t.assignment_id, u, {"boundingBoxes": objects, "inputImageProperties": size}
            )
    with ws.db.session_scope() as s:
        confidences = s.execute(text("SELECT confidence FROM labels")).scalars().all()
    assert confidences == [0.5, 0.5]
    got = lease(ws, "boxes", "r1")
    assert got is not None and got["review"]["reason"] == "low_confidence"
    assert got["review"]["confidence"] == 0.5
    with ws.db.session_scope() as s:
        review.review_item(
            s,
            get_job(s, "boxes"),
            got["item"],
            {"boundingBoxes": [box("car", 1, 1, 20, 20)], "inputImageProperties": size},
            user(s, "r1"),
            now=T0,
        )
    out: list[bytes] = []
    with ws.db.session_scope(write=False) as s:
        export_groundtruth(s, get_job(s, "boxes"), lambda chunks: out.extend(chunks), now=0.0)
    lines = [json.loads(line) for line in b"".join(out).split(b"\n") if line]
    reviewed = [x["boxes-metadata"] for x in lines if x["boxes-metadata"].get("reviewed")]
    assert len(reviewed) == 1
    assert [o["confidence"] for o in reviewed[0]["objects"]] == [1.0]


def test_reviewed_meta_makes_every_confidence_certain():
    meta = {
        "confidence": 0.2,
        "objects": [{"confidence": 0.0}, {"confidence": 0.5, "label": "x"}],
        "internal-color-map": {"0": {"class-name": "bg", "confidence": 0.0}},
        "class-name": "confidence",
    }
    out = review.reviewed_meta(meta)
    assert out["confidence"] == 1.0
    assert [o["confidence"] for o in out["objects"]] == [1.0, 1.0]
    assert out["internal-color-map"]["0"] == {"class-name": "bg", "confidence": 1.0}
    assert out["class-name"] == "confidence" and meta["objects"][0]["confidence"] == 0.0
