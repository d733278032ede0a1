import numpy as np
import pytest

from truthset.learning.consensus import (
    ModelAssistedConsensus,
    find_label_issues,
    majority_vote,
    out_of_sample_proba,
)
from truthset.learning.models import LinearClassifier


def _crowd(rng, n=600, k=3, per_item=2, acc=0.7, model_acc=0.85):
    y = rng.integers(0, k, n)
    items = np.repeat(np.arange(n), per_item)
    workers = rng.integers(0, 30, items.size)
    right = rng.uniform(size=items.size) < acc
    labels = np.where(right, y[items], (y[items] + rng.integers(1, k, items.size)) % k)
    # A model right 85% of the time, confident when right.
    proba = np.full((n, k), 0.1)
    guess = np.where(rng.uniform(size=n) < model_acc, y, (y + 1) % k)
    proba[np.arange(n), guess] = 0.8
    proba /= proba.sum(axis=1, keepdims=True)
    return y, items, workers, labels, proba


def test_model_assisted_consensus_beats_majority_vote_with_few_answers():
    rng = np.random.default_rng(0)
    y, items, workers, labels, proba = _crowd(rng)
    mv = majority_vote(items, labels, y.size, 3, random_state=0)
    cl = ModelAssistedConsensus().fit(proba, items, workers, labels)
    assert (cl.labels_ == y).mean() > (mv == y).mean() + 0.05
    assert np.allclose(cl.proba_.sum(axis=1), 1)
    assert cl.model_weight_ > 0 and cl.worker_weights_.shape == (cl.workers_.size,)
    # Without the model it is a weighted vote.
    no_model = ModelAssistedConsensus(use_model=False).fit(proba, items, workers, labels)
    assert (no_model.labels_ == y).mean() < (cl.labels_ == y).mean()


def test_consensus_input_errors():
    with pytest.raises(ValueError, match="same length"):
        ModelAssistedConsensus().fit(np.ones((2, 2)) / 2, [0, 1], [0], [0, 1])
    with pytest.raises(ValueError, match="item indices"):
        ModelAssistedConsensus().fit(np.ones((2, 2)) / 2, [5], [0], [0])


def test_label_issues_find_flipped_labels():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(0)
    noisy = y.copy()
    flipped = rng.choice(y.size, 60, replace=False)
    noisy[flipped] = (noisy[flipped] + rng.integers(1, 10, 60)) % 10
    proba = out_of_sample_proba(LinearClassifier(), X, noisy, n_classes=10, random_state=0)
    issues = find_label_issues(proba, noisy)
    found = set(np.flatnonzero(issues.is_issue))
    recall = len(found & set(flipped)) / 60
    precision = len(found & set(flipped)) / max(len(found), 1)
    assert recall > 0.7 and precision > 0.5
    assert issues.ranking.size == len(found)
    hits = np.array(sorted(found & set(flipped)))
    assert (issues.suggested[hits] == y[hits]).mean() > 0.8
