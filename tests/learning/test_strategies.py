import numpy as np
import pytest

from truthset.learning.strategies import (
    STRATEGIES,
    activelab_scores,
    entropy,
    k_center_greedy,
    least_confidence,
    margin,
    priority_scores,
    select_batch,
)

PROBA = np.array(
    [
        [0.98, 0.01, 0.01],  # sure
        [0.50, 0.49, 0.01],  # two-way tie: highest margin priority
        [0.34, 0.33, 0.33],  # uniform: highest entropy / least confidence
        [0.70, 0.20, 0.10],
    ]
)


def test_uncertainty_scores_pick_expected_items():
    assert np.argmax(margin(PROBA)) == 1
    assert np.argmax(entropy(PROBA)) == 2
    assert np.argmax(least_confidence(PROBA)) == 2
    assert np.argmin(margin(PROBA)) == 0
    assert list(select_batch(margin(PROBA), 2)) == [1, 2]


def test_every_strategy_returns_one_priority_per_item():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=50)
    emb = rng.normal(size=(50, 3))
    for name in STRATEGIES:
        pr = priority_scores(name, p, batch_size=5, embedding=emb, random_state=0)
        assert pr.shape == (50,) and np.all(np.isfinite(pr)), name
    with pytest.raises(ValueError, match="unknown strategy"):
        priority_scores("nope", p, batch_size=5)
    with pytest.raises(ValueError, match="embedding"):
        priority_scores("k-center", p, batch_size=5)


def test_k_center_covers_every_cluster():
    rng = np.random.default_rng(1)
    centers = np.array([[0, 0], [10, 0], [0, 10], [10, 10], [5, 20]])
    sizes = [200, 5, 5, 5, 5]  # one big cluster, four small ones
    pts = np.concatenate(
        [c + rng.normal(0, 0.3, (s, 2)) for c, s in zip(centers, sizes, strict=True)]
    )
    cluster = np.repeat(np.arange(5), sizes)
    picks = k_center_greedy(pts, 5, random_state=0)
    assert set(cluster[picks]) == {0, 1, 2, 3, 4}
    # Random picks would mostly land in the big cluster.
    # Seeded with labelled points in clusters 0-3, the first pick is cluster 4.
    first = k_center_greedy(pts, 1, centers=centers[:4])
    assert cluster[first[0]] == 4


def test_mix_prefers_uncertain_and_diverse():
    rng = np.random.default_rng(2)
    # 40 uncertain items: 20 copies of one point, 20 spread out; 60 sure items.
    uncertain = np.full((40, 2), [0.5, 0.5])
    sure = np.tile([0.99, 0.01], (60, 1))
    p = np.vstack([uncertain, sure])
    emb = np.vstack([np.zeros((20, 2)), rng.normal(0, 5, (20, 2)), rng.normal(0, 5, (60, 2))])
    pr = priority_scores("margin-diversity", p, batch_size=8, embedding=emb, random_state=0)
    batch = select_batch(pr, 8)
    assert np.all(batch < 40)  # all uncertain
    assert np.sum(batch < 20) <= 1  # not many copies of the same point


def test_activelab_ranks_conflicting_answers_and_uncertain_new_items():
    # items 0-3 answered by three workers; items 4-5 unanswered.
    proba = np.array([[0.95, 0.05], [0.95, 0.05], [0.5, 0.5], [0.9, 0.1], [0.99, 0.01], [0.5, 0.5]])
    items = np.repeat([0, 1, 2, 3], 3)
    workers = np.tile([0, 1, 2], 4)
    labels = np.array([0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0])
    s = activelab_scores(proba, items, workers, labels)
    assert s.labeled.tolist() == [True] * 4 + [False] * 2
    # Unanimous and agreeing with the model: lowest priority among labelled items.
    assert s.priority[0] < s.priority[2] and s.priority[0] < s.priority[3]
    # Answers split 2-1 against the model: worth another answer.
    assert s.priority[3] > s.priority[1]
    # An unlabelled item the model is unsure of outranks one it is sure of.
    assert s.priority[5] > s.priority[4]
