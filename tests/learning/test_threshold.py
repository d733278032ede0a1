import numpy as np
import pytest

from truthset.learning.threshold import (
    ConfidenceThreshold,
    choose_iou_threshold,
    choose_threshold,
    choose_threshold_naive,
    clopper_pearson_lower,
)


def _draw(rng, n):
    # P(correct | c) = 0.7 + 0.3 c, c uniform: accuracy of {c >= t} is 0.85 + 0.15 t,
    # so the target 0.95 holds exactly for t >= 2/3.
    c = rng.uniform(size=n)
    correct = rng.uniform(size=n) < 0.7 + 0.3 * c
    return c, correct


def true_accuracy(t):
    return 0.85 + 0.15 * t


def test_clopper_pearson_known_values():
    # All n right: the bound is alpha ** (1 / n).
    assert clopper_pearson_lower(59, 59, 0.95) == pytest.approx(0.05 ** (1 / 59))
    assert clopper_pearson_lower(0, 10, 0.95) == 0.0
    # 95 of 100: one-sided 95% bound from the beta quantile (about 0.898).
    assert clopper_pearson_lower(95, 100, 0.95) == pytest.approx(0.8979, abs=1e-3)


def test_guarantee_holds_where_naive_rule_fails():
    rng = np.random.default_rng(0)
    draws = 200
    fails_guarded = fails_naive = feasible = 0
    for _ in range(draws):
        c, correct = _draw(rng, 2000)
        guarded = choose_threshold(c, correct)
        naive = choose_threshold_naive(c, correct)
        if guarded.feasible:
            feasible += 1
            fails_guarded += true_accuracy(guarded.threshold) < 0.95
        fails_naive += naive.feasible and true_accuracy(naive.threshold) < 0.95
    # Promised: at most 5% of validation draws give a threshold below the target.
    assert fails_guarded / draws <= 0.05
    # The point-estimate rule misses the target about half the time.
    assert fails_naive / draws > 0.3
    # And the guarded rule is not vacuous: it usually finds a threshold.
    assert feasible / draws > 0.5


def test_result_fields_are_consistent():
    rng = np.random.default_rng(1)
    c, correct = _draw(rng, 2000)
    r = choose_threshold(c, correct)
    sel = c >= r.threshold
    assert r.n_selected == sel.sum()
    assert r.coverage == pytest.approx(sel.mean())
    assert r.accuracy == pytest.approx(correct[sel].mean())
    assert r.lower_bound >= 0.95 and r.lower_bound <= r.accuracy
    assert np.array_equal(r.select(c), sel)
    est = ConfidenceThreshold().fit(c, correct)
    assert est.threshold_ == r.threshold
    assert np.array_equal(est.predict(c), sel)


def test_no_feasible_threshold_gives_none():
    rng = np.random.default_rng(2)
    c = rng.uniform(size=500)
    correct = rng.uniform(size=500) < 0.8  # 80% everywhere
    r = choose_threshold(c, correct)
    assert r.threshold is None and not r.feasible
    assert not r.select(c).any()
    # Too few items to prove 95% at all, even when every one is right.
    small = choose_threshold(np.linspace(0, 1, 30), np.ones(30))
    assert small.threshold is None
    assert choose_threshold([], []).threshold is None


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="0/1"):
        choose_threshold([0.5, 0.6], [0, 2])
    with pytest.raises(ValueError, match="values"):
        choose_threshold([0.5], [1, 0])
    with pytest.raises(ValueError, match="target"):
        choose_threshold([0.5], [1], target_accuracy=1.5)


def test_prior_auto_labels_count_against_the_target():
    rng = np.random.default_rng(3)
    c, correct = _draw(rng, 3000)
    alone = choose_threshold(c, correct)
    # 500 earlier automatic labels of which only 80% were right drag the bound down.
    weighed = choose_threshold(c, correct, prior_count=500, prior_correct=400)
    assert not weighed.feasible or weighed.threshold > alone.threshold


def test_iou_threshold_guarantee():
    rng = np.random.default_rng(4)
    fails = 0
    for _ in range(100):
        s = rng.uniform(size=800)
        iou = np.clip(0.35 + 0.5 * s + rng.normal(0, 0.1, s.size), 0, 1)
        r = choose_iou_threshold(s, iou)
        assert r.feasible
        # E[iou | s >= t] = 0.35 + 0.5 (1 + t) / 2 (clipping aside); 0.6 needs t >= 0.
        fails += 0.35 + 0.25 * (1 + r.threshold) < 0.6 - 0.01
    assert fails <= 5
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        choose_iou_threshold([0.5], [1.5])
