"""Multi-label consolidation: Ground Truth's output, per-class worker reliability."""

from __future__ import annotations

import numpy as np
import pytest

from truthset.consensus.aggregation import MultiLabelAggregator
from truthset.consensus.aggregation.multilabel import MultiLabelAnswers


@pytest.fixture(scope="module")
def simulated():
    rng = np.random.default_rng(9)
    n_tasks, n_workers, k = 200, 12, 4
    truth = rng.random((n_tasks, k)) < 0.3
    tasks, workers, sets = [], [], []
    for t in range(n_tasks):
        for w in rng.choice(n_workers, 5, replace=False):
            if w == 0:  # ticks every class
                chosen = np.ones(k, dtype=bool)
            else:
                flip = rng.random(k) < 0.1
                chosen = truth[t] ^ flip
            tasks.append(t)
            workers.append(int(w))
            sets.append(np.flatnonzero(chosen).tolist())
    answers = MultiLabelAnswers.from_sets(tasks, workers, sets, n_tasks, n_workers, k)
    return answers, truth


def test_label_set_is_every_class_chosen_by_at_least_one_worker():
    answers = MultiLabelAnswers.from_sets([0, 0, 1], [0, 1, 0], [[1], [1, 3], []], n_classes=4)
    fitted = MultiLabelAggregator().fit(answers)
    assert fitted.predict() == [[1, 3], []]
    assert set(fitted.confidence_maps_[0]) == {1, 3}
    assert fitted.confidence_maps_[1] == {}
    assert fitted.confidence_maps_[0][1] > fitted.confidence_maps_[0][3]


def test_posteriors_recover_the_truth_and_discount_a_tick_everything_worker(simulated):
    answers, truth = simulated
    fitted = MultiLabelAggregator().fit(answers)
    assert fitted.posteriors_.shape == truth.shape
    assert np.all((fitted.posteriors_ >= 0) & (fitted.posteriors_ <= 1))
    thresholded = fitted.posteriors_ >= 0.5
    assert np.mean(thresholded == truth) > 0.97
    assert np.all(fitted.skills_[0] < fitted.skills_[1:].min(axis=0))
    sets = fitted.predict(threshold=0.5)
    assert sets[0] == np.flatnonzero(thresholded[0]).tolist()


def test_empty_input_is_a_clear_error():
    empty = MultiLabelAnswers.from_sets([], [], [], 0, 0, 3)
    with pytest.raises(ValueError, match="empty"):
        MultiLabelAggregator().fit(empty)
