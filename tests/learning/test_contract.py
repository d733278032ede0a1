"""Contracts shared by every estimator and registry entry of truthset.autolabel."""

from pathlib import Path

import numpy as np
import pytest

from truthset.learning import STRATEGIES, ConfidenceThreshold, ModelAssistedConsensus
from truthset.learning.models import BUILTIN_MODELS, LinearClassifier, MLPProbe

DOC = Path(__file__).resolve().parents[2] / "docs" / "autolabel.md"


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    return X, y


@pytest.mark.parametrize("make", [LinearClassifier, lambda: MLPProbe(hidden=16, max_iter=20)])
def test_classifiers_follow_the_contract(make):
    X, y = _data()
    X_before = X.copy()
    m = make()
    assert m.fit(X, y) is m
    assert np.array_equal(X, X_before)  # inputs are never mutated
    p1 = m.predict_proba(X)
    assert np.allclose(p1.sum(axis=1), 1)
    assert list(m.classes_) == [0, 1, 2]
    # Refit equals a fresh fit (deterministic under the default seed).
    assert np.allclose(m.fit(X, y).predict_proba(X), make().fit(X, y).predict_proba(X))
    with pytest.raises(Exception, match="empty"):
        make().fit(X[:0], y[:0])


def test_threshold_and_consensus_return_self_and_are_deterministic():
    rng = np.random.default_rng(1)
    c = rng.uniform(size=500)
    ok = rng.uniform(size=500) < 0.5 + 0.5 * c
    t = ConfidenceThreshold()
    assert t.fit(c, ok) is t
    assert t.threshold_ == ConfidenceThreshold().fit(c, ok).threshold_
    proba = rng.dirichlet(np.ones(3), size=50)
    items = np.repeat(np.arange(50), 2)
    workers = np.tile([0, 1], 50)
    labels = rng.integers(0, 3, 100)
    cons = ModelAssistedConsensus()
    assert cons.fit(proba, items, workers, labels) is cons
    again = ModelAssistedConsensus().fit(proba, items, workers, labels)
    assert np.array_equal(cons.labels_, again.labels_)


def test_every_model_and_strategy_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for name in list(BUILTIN_MODELS) + list(STRATEGIES) + ["activelab"]:
        assert f"`{name}`" in text, f"{name} is not documented in docs/autolabel.md"
