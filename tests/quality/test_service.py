"""Quality control inside jobs: gold items and qualification, job-level consolidation with
worker skills, the quality bar, dynamic redundancy, agreement and review."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from support import bearer
from truthset.errors import BadInput, Forbidden
from truthset.exports.groundtruth import export_groundtruth
from truthset.jobs.service import get_job
from truthset.quality import gold as gold_items
from truthset.quality import service
from truthset.store.models import User, WorkerStat
from truthset.work.answers import submit_answer
from truthset.work.leases import lease_next_task


def answer(ws, job, worker, label):
    with ws.db.session_scope() as s:
        j = get_job(s, job)
        u = s.scalar(select(User).where(User.name == worker))
        t = lease_next_task(s, j, u)
        if t is None:
            return None
        result = submit_answer(s, t.assignment_id, u, {"label": label(t.item_external_id)})
        return t.item_external_id, result


def test_gold_rows_are_all_checked_before_any_is_written(ws, setup_factory):
    setup = setup_factory(ws, n_items=4, n_workers=1)
    setup.job("j", workers_per_item=1)
    with ws.db.session_scope() as s, pytest.raises(BadInput) as info:
        gold_items.add_gold(
            s,
            get_job(s, "j"),
            [
                (2, "item-00000", {"label": "pos"}),
                (3, "nope", {"label": "pos"}),
                (4, "item-00001", {"label": "maybe"}),
            ],
        )
    errors = info.value.detail["errors"]
    assert [e["line"] for e in errors] == [3, 4]
    assert "'nope' is not in job" in errors[0]["reason"]
    with ws.db.session_scope(write=False) as s:
        assert s.execute(text("SELECT count(*) FROM gold_labels")).scalar_one() == 0


def test_qualification_blocks_a_worker_who_fails_the_gold_items(any_ws, setup_factory):
    # On PostgreSQL too: gold items and qualification take the general leasing path there.
    ws = any_ws
    setup = setup_factory(ws, n_items=6, n_workers=2)
    setup.job(
        "j",
        workers_per_item=1,
        settings={"qualification": {"gold_items": 2, "min_accuracy": 0.75}, "gold_feedback": True},
    )
    with ws.db.session_scope() as s:
        gold_items.add_gold(
            s,
            get_job(s, "j"),
            [(2, "item-00000", {"label": "pos"}), (3, "item-00001", {"label": "neg"})],
        )
    truth = {"item-00000": "pos", "item-00001": "neg"}
    # w00 answers the two gold items right, then gets real work.
    served = [answer(ws, "j", "w00", lambda i: truth.get(i, "pos")) for _ in range(3)]
    assert sorted(x[0] for x in served[:2]) == ["item-00000", "item-00001"]
    assert served[0][1].feedback["correct"] is True
    assert served[2][0] not in truth
    # w01 gets both wrong and is stopped.
    for _ in range(2):
        answer(ws, "j", "w01", lambda i: "neg" if truth.get(i) == "pos" else "pos")
    with pytest.raises(Forbidden, match="quality bar"):
        answer(ws, "j", "w01", lambda i: "pos")
    with ws.db.session_scope(write=False) as s:
        from truthset.jobs.service import counters

        # Gold items are not counted as the job's items.
        assert counters(s, get_job(s, "j").id)["total"] == 4


def test_job_consolidation_learns_skills_and_fixes_labels(ws, setup_factory):
    # Two careless workers agree on the wrong label where the careful one disagrees:
    # majority vote follows them; Dawid-Skene, having learnt who is careful from the
    # other items, follows the careful worker.
    setup = setup_factory(ws, n_items=100, n_workers=3)
    setup.job("j", workers_per_item=3, settings={"quality": {"method": "ds"}})
    truth = {f"item-{i:05d}": ("pos" if i % 2 else "neg") for i in range(100)}
    flip = {"pos": "neg", "neg": "pos"}
    careless = {
        "w00": {i for i in truth if int(i[-2:]) % 10 in (0, 1, 2, 3)},
        "w01": {i for i in truth if int(i[-2:]) % 10 in (0, 4, 5, 6)},
    }
    for w in ("w00", "w01", "w02"):
        while answer(
            ws, "j", w, lambda i, w=w: flip[truth[i]] if i in careless.get(w, ()) else truth[i]
        ):
            pass
    with ws.db.session_scope(write=False) as s:
        mv = {
            r[0]: json.loads(r[1])["class-name"]
            for r in s.execute(
                text(
                    "SELECT i.external_id, l.meta FROM labels l JOIN tasks t ON t.id = l.task_id "
                    "JOIN items i ON i.id = t.item_id"
                )
            )
        }
    mv_right = sum(mv[i] == truth[i] for i in truth)
    with ws.db.session_scope() as s:
        summary = service.reconsolidate_job(s, get_job(s, "j"))
    assert summary["method"] == "ds" and summary["changed"] > 0
    with ws.db.session_scope(write=False) as s:
        ds = {
            r[0]: json.loads(r[1])["class-name"]
            for r in s.execute(
                text(
                    "SELECT i.external_id, l.meta FROM labels l JOIN tasks t ON t.id = l.task_id "
                    "JOIN items i ON i.id = t.item_id"
                )
            )
        }
        skills = {s.get(User, st.worker_id).name: st.skill for st in s.scalars(select(WorkerStat))}
    assert sum(ds[i] == truth[i] for i in truth) > mv_right
    assert skills["w02"] > skills["w00"] and skills["w02"] > skills["w01"]


def test_quality_bar_excludes_answers_and_requeues_items(ws, setup_factory):
    setup = setup_factory(ws, n_items=12, n_workers=3)
    setup.job(
        "j",
        workers_per_item=3,
        settings={
            "quality": {
                "method": "wawa",
                "min_skill": 0.5,
                "min_answers_for_skill": 5,
                "exclude_blocked_answers": True,
            }
        },
    )
    truth = {f"item-{i:05d}": "pos" for i in range(12)}
    for w, wrong in (("w00", False), ("w01", False), ("w02", True)):
        for _ in range(8):
            answer(ws, "j", w, lambda i, wrong=wrong: "neg" if wrong else truth[i])
    with ws.db.session_scope() as s:
        summary = service.reconsolidate_job(s, get_job(s, "j"))
        w02 = s.scalar(select(User.id).where(User.name == "w02"))
    assert summary["blocked_workers"] == [w02]
    with ws.db.session_scope(write=False) as s:
        excluded = s.execute(
            text("SELECT count(*) FROM answers WHERE excluded = :t"), {"t": True}
        ).scalar_one()
        reopened = s.execute(
            text(
                "SELECT count(*) FROM tasks WHERE status = 'open' "
                "AND answers < target_answers AND started = 1"
            )
        ).scalar_one()
    assert excluded == 8 and reopened >= 1


def test_dynamic_redundancy_asks_for_more_workers(ws, setup_factory):
    setup = setup_factory(ws, n_items=1, n_workers=4)
    setup.job(
        "j",
        workers_per_item=2,
        settings={"quality": {"dynamic_redundancy": {"min_confidence": 0.7, "max_workers": 3}}},
    )
    answer(ws, "j", "w00", lambda i: "pos")
    answer(ws, "j", "w01", lambda i: "neg")  # a 50/50 split: not accepted yet
    with ws.db.session_scope(write=False) as s:
        row = s.execute(text("SELECT status, target_answers FROM tasks")).one()
    assert tuple(row) == ("open", 3)
    answer(ws, "j", "w02", lambda i: "pos")
    with ws.db.session_scope(write=False) as s:
        assert s.execute(text("SELECT status FROM tasks")).scalar_one() == "complete"
        assert s.execute(text("SELECT confidence FROM labels")).scalar_one() == 0.67
    assert answer(ws, "j", "w03", lambda i: "pos") is None  # capped at 3 workers


def test_agreement_with_one_answer_per_item_says_so(ws, setup_factory, client):
    setup = setup_factory(ws, n_items=3, n_workers=1)
    setup.job("one", workers_per_item=1)
    while answer(ws, "one", "w00", lambda _i: "pos"):
        pass
    r = client.get("/api/jobs/one/agreement", headers=bearer(setup.admin_token))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["answers"] == 3 and report["krippendorff_alpha"] is None
    assert "two answers" in report["note"]


def test_agreement_and_review_over_http(ws, setup_factory, client):
    setup = setup_factory(ws, n_items=6, n_workers=3)
    setup.job("j", workers_per_item=3)
    for w in ("w00", "w01", "w02"):
        while answer(
            ws, "j", w, lambda i, w=w: "neg" if (w == "w02" and i.endswith("0")) else "pos"
        ):
            pass
    a = bearer(setup.admin_token)
    report = client.get("/api/jobs/j/agreement", headers=a).json()
    assert report["answers"] == 18 and report["krippendorff_alpha"] is not None
    assert set(report["per_label"]) == {"pos", "neg"}
    item = client.post("/api/jobs/j/review/next", headers=a).json()
    assert item["item"] == "item-00000" and len(item["answers"]) == 3
    r = client.post(
        "/api/jobs/j/review/items/item-00000", headers=a, json={"answer": {"label": "neg"}}
    )
    assert r.status_code == 200
    w = bearer(setup.worker_tokens["w00"])
    assert client.post("/api/jobs/j/review/next", headers=w).status_code == 403
    out: list[bytes] = []
    with ws.db.session_scope(write=False) as s:
        export_groundtruth(s, get_job(s, "j"), lambda chunks: out.extend(chunks), now=0.0)
    first = json.loads(out[0].split(b"\n")[0])
    assert first["j-metadata"]["class-name"] == "neg" and first["j-metadata"]["reviewed"] == "yes"


def test_agreement_reads_the_newest_answers_with_their_tasks_whole(any_ws, setup_factory):
    setup = setup_factory(any_ws, n_items=6, n_workers=3)
    setup.job("j", workers_per_item=3)
    # Worker by worker: w02's answers are the newest, one per item, and it disagrees on
    # item 0 only.
    for w in ("w00", "w01", "w02"):
        while answer(
            any_ws, "j", w, lambda i, w=w: "neg" if (w == "w02" and i.endswith("0")) else "pos"
        ):
            pass
    with any_ws.db.session_scope(write=False) as s:
        job = get_job(s, "j")
        whole = service.agreement_report(s, job)
        window = service.agreement_report(s, job, window=2)
    assert whole["window"] == {"newest_answers": 5_000, "answers": 18, "whole_job": True}
    # The newest 2 answers are w02's on items 4 and 5: their tasks' 6 answers are read.
    assert window["window"] == {"newest_answers": 2, "answers": 6, "whole_job": False}
    assert window["answers"] == 6 and window["fleiss_kappa"] == 1.0
    assert whole["fleiss_kappa"] < 1.0


def test_gold_items_from_a_manifest_column(ws):
    from support import write_manifest
    from truthset.datasets.importer import import_source
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job

    rows = [
        {"id": "a", "source": "x", "gold": "pos"},
        {"id": "b", "source": "y"},
        {"id": "c", "source": "z", "gold": "neg"},
    ]
    path = write_manifest(ws.settings.media_dir / "g.manifest", rows)
    with ws.db.session_scope() as s:
        import_source(s, "g", str(path), allowed_roots=ws.allowed_roots)
        create_job(
            s,
            JobCreate(
                name="j",
                task_type="text-classification",
                label_config=["pos", "neg"],
                dataset="g",
                settings={"gold_key": "gold"},
            ),
        )
    with ws.db.session_scope(write=False) as s:
        gold = gold_items.gold_map(s, get_job(s, "j"))
    assert gold == {"a": {"label": "pos"}, "c": {"label": "neg"}}
    bad = write_manifest(
        ws.settings.media_dir / "b.manifest", [{"id": "d", "source": "w", "gold": "maybe"}]
    )
    with (
        pytest.raises(BadInput, match="'maybe' is not one of the job's labels"),
        ws.db.session_scope() as s,
    ):
        import_source(s, "b", str(bad), allowed_roots=ws.allowed_roots)
        create_job(
            s,
            JobCreate(
                name="k",
                task_type="text-classification",
                label_config=["pos", "neg"],
                dataset="b",
                settings={"gold_key": "gold"},
            ),
        )


def test_agreement_of_boxes_by_iou(ws, client):
    from PIL import Image

    from support import bearer, write_manifest
    from truthset.api.tokens import issue_token
    from truthset.datasets.importer import import_source
    from truthset.jobs.schemas import JobCreate
    from truthset.jobs.service import create_job
    from truthset.workforce.service import create_user

    img = ws.settings.media_dir / "im.png"
    Image.new("RGB", (100, 80)).save(img)
    path = write_manifest(ws.settings.media_dir / "b.manifest", [{"source-ref": str(img)}])
    with ws.db.session_scope() as s:
        import_source(s, "imgs", str(path), allowed_roots=ws.allowed_roots)
        admin = issue_token(s, create_user(s, "boss", role="admin"))
        for w in ("w1", "w2"):
            create_user(s, w, role="worker", teams=["t"])
        create_job(
            s,
            JobCreate(
                name="boxes",
                task_type="bounding-box",
                label_config=["cat"],
                dataset="imgs",
                workers_per_item=2,
                teams=["t"],
            ),
        )
    size = {"width": 100, "height": 80}
    for w, left in (("w1", 10), ("w2", 15)):
        with ws.db.session_scope() as s:
            j = get_job(s, "boxes")
            u = s.scalar(select(User).where(User.name == w))
            t = lease_next_task(s, j, u)
            submit_answer(
                s,
                t.assignment_id,
                u,
                {
                    "boundingBoxes": [
                        {"label": "cat", "left": left, "top": 10, "width": 40, "height": 40}
                    ],
                    "inputImageProperties": size,
                },
            )
    report = client.get("/api/jobs/boxes/agreement", headers=bearer(admin)).json()
    assert report["pairs"] == 1 and set(report["per_worker"]) == {"w1", "w2"}
    # Two 40x40 boxes 5 px apart: IoU = 1400 / 1800.
    assert report["mean_pairwise_agreement"] == pytest.approx(1400 / 1800, abs=0.01), report


@pytest.mark.parametrize("bad", [0, 1.5, -0.2, "0.5", True, float("nan")])
def test_a_prior_skill_outside_0_1_is_refused_naming_the_field(bad):
    from truthset.quality.methods import QUALITY_SECTION

    with pytest.raises(BadInput, match=r"settings.quality.prior_skill must be a number in"):
        QUALITY_SECTION.check(None, "image-classification", {"quality": {"prior_skill": bad}})
    QUALITY_SECTION.check(None, "image-classification", {"quality": {"prior_skill": 0.8}})


def test_the_consolidation_report_says_what_was_chosen_and_why(ws, setup_factory, client):
    setup = setup_factory(ws, n_items=12, n_workers=3)
    setup.job("j", workers_per_item=3)
    for w in ("w00", "w01", "w02"):
        while answer(
            ws, "j", w, lambda i, w=w: "neg" if (w == "w02" and i.endswith(("0", "5"))) else "pos"
        ):
            pass
    a = bearer(setup.admin_token)
    assert client.get("/api/jobs/j/consolidation", headers=a).json() == {
        "run": None,
        "report": None,
    }
    r = client.post("/api/jobs/j/consolidate", headers=a, json={"method": "auto", "wait": True})
    assert r.status_code == 202, r.text
    got = client.get("/api/jobs/j/consolidation", headers=a).json()
    assert got["run"] == r.json()["run"] and got["tasks"] == 12
    report = got["report"]
    assert report["requested"] == "auto" and report["method"] in report["candidates"]
    assert report["criterion"]["name"] == "held-out answer log-likelihood"
    candidates = report["candidates"]
    scores = {n: c["held_out_log_likelihood"] for n, c in candidates.items()}
    kept = [n for n in scores if candidates[n]["keeps_class_meaning"] is not False]
    chosen = report["no_gold_choice"]
    # The best that keeps its classes' meaning, or a simpler one tied with it.
    best = candidates[chosen].get("within_tie_of", chosen)
    assert scores[best] == max(scores[n] for n in kept)
    assert report["no_gold_choice"] in report["why"]
    assert report["calibration"]["source"] == "held-out answers"
    # Another method: the report says so; workers cannot read it.
    client.post("/api/jobs/j/consolidate", headers=a, json={"method": "mv", "wait": True})
    report = client.get("/api/jobs/j/consolidation", headers=a).json()["report"]
    assert report["method"] == "mv" and report["why"] == "the job's method is mv"
    w = bearer(setup.worker_tokens["w00"])
    assert client.get("/api/jobs/j/consolidation", headers=w).status_code == 403
    assert client.get("/api/jobs/nope/consolidation", headers=a).status_code == 404


def test_a_consolidation_without_a_report_still_names_its_method(ws, setup_factory):
    from truthset.runs import service as runs_service

    setup_factory(ws, n_items=1, n_workers=1).job("j", workers_per_item=1)
    with ws.db.session_scope() as s:
        job = get_job(s, "j")
        run = runs_service.enqueue(
            s, "consolidate", {"job": "j", "method": "crowdlab"}, job_id=job.id
        )
        runs_service.finish(s, run.id, result={"method": "crowdlab", "tasks": 1, "changed": 0})
    with ws.db.session_scope(write=False) as s:
        got = service.consolidation_report(s, get_job(s, "j"))
    assert got["run"] == run.id and got["tasks"] == 1
    assert got["report"]["method"] == "crowdlab" and got["report"]["requested"] == "crowdlab"
