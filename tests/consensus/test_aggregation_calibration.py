"""Expected calibration error, temperatures, and held-out answer likelihood."""

from __future__ import annotations

import numpy as np
import pytest

from truthset.consensus.aggregation import DawidSkene, OneCoinDawidSkene
from truthset.consensus.aggregation.calibration import (
    expected_calibration_error,
    temperature_from_answers,
    temperature_from_gold,
    tempered,
)
from truthset.consensus.aggregation.families import simulate_family
from truthset.consensus.aggregation.selection import (
    answer_likelihoods,
    fold_assignment,
    folds_to_run,
    held_out,
)


def test_ece_by_hand():
    # Bin 0.9: 2 tasks, 1 right (gap 0.4); bin 0.6: 2 tasks, 2 right (gap 0.4).
    conf = np.array([0.9, 0.9, 0.6, 0.6])
    right = np.array([1, 0, 1, 1])
    assert expected_calibration_error(conf, right) == pytest.approx((0.8 + 0.8) / 4)
    assert expected_calibration_error(np.array([1.0, 0.5]), np.array([1, 0])) == pytest.approx(0.25)


def test_temperature_keeps_labels_and_sums():
    post = np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]])
    for t in (0.5, 1.0, 3.0):
        p = tempered(post, t)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        np.testing.assert_array_equal(p.argmax(axis=1), post.argmax(axis=1))
    assert tempered(post, 3.0)[0, 0] < 0.7 < tempered(post, 0.5)[0, 0]


def test_gold_temperature_softens_over_confident_posteriors():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 500)
    # Claims 0.99 but is right 80% of the time.
    guess = np.where(rng.random(500) < 0.8, truth, 1 - truth)
    post = np.full((500, 2), 0.01)
    post[np.arange(500), guess] = 0.99
    t = temperature_from_gold(post, np.arange(500), truth)
    assert t > 1.5
    calibrated = tempered(post, t)
    right = guess == truth
    raw_ece = expected_calibration_error(post.max(axis=1), right)
    assert expected_calibration_error(calibrated.max(axis=1), right) < 0.05 < raw_ece
    assert temperature_from_gold(post, np.arange(10), truth[:10]) == 1.0  # too few gold


def test_answer_temperature_is_near_one_for_the_right_model():
    crowd = simulate_family("one-coin", n_tasks=1500, random_state=2)
    folds = fold_assignment(crowd.answers.n_answers, 5, 0)
    score = held_out(lambda: OneCoinDawidSkene(), crowd.answers, folds, 5)
    assert 0.8 < temperature_from_answers(score.posteriors, score.likelihoods) < 1.3


def test_held_out_scores_every_answer_once_and_likelihood_rows_are_probabilities():
    crowd = simulate_family("confusion", n_tasks=300, random_state=1)
    a = crowd.answers
    folds = fold_assignment(a.n_answers, 5, 0)
    assert np.bincount(folds).max() - np.bincount(folds).min() <= 1
    assert folds_to_run(a.n_answers, 5, 10**9) == 5 and folds_to_run(10**6, 5, 10**5) == 1
    score = held_out(lambda: DawidSkene(), a, folds, 5)
    assert score.log_likelihood.shape == (a.n_answers,)
    assert np.all(score.log_likelihood <= 0)
    lik = answer_likelihoods(DawidSkene().fit(a), a)
    # P(label | t) summed over the labels a worker can give is 1 for each true class t.
    full = DawidSkene().fit(a).answer_model(a)
    np.testing.assert_allclose(full.sum(axis=2), 1.0)
    np.testing.assert_allclose(lik, full[np.arange(a.n_answers), :, a.labels])


def test_answer_temperature_stays_one_without_clear_evidence():
    rng = np.random.default_rng(5)
    post = rng.dirichlet([1.0, 1.0], 20)
    lik = rng.uniform(0.2, 0.8, (20, 2))
    assert temperature_from_answers(post, lik) == 1.0
    # Far too sure, on many answers: a clear gain, so the temperature moves.
    sure = np.tile([[0.999, 0.001]], (4000, 1))
    lik = np.where(rng.random((4000, 1)) < 0.7, [[0.8, 0.2]], [[0.2, 0.8]])
    assert temperature_from_answers(sure, lik) > 2.0
