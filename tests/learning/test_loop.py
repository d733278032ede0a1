import numpy as np
import pytest
from sklearn.datasets import load_digits

from truthset.learning.loop import (
    AutolabelSettings,
    choose_validation_items,
    run_iteration,
    validation_share,
)
from truthset.learning.simulation import replayed_answers, simulate_autolabel


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def test_validation_share_rule():
    assert validation_share(4999) == 0.2
    assert validation_share(5000) == 0.1
    val = choose_validation_items(1000, random_state=0)
    assert val.size == 200 and np.unique(val).size == 200
    assert choose_validation_items(70000, random_state=0).size == 7000


def test_cold_start_sends_validation_items_first(digits):
    X, y = digits
    val = choose_validation_items(len(y), random_state=0)
    res = run_iteration(X, {}, val, n_classes=10, settings=AutolabelSettings(batch_size=50))
    assert res.threshold is None and res.n_auto_labeled == 0
    assert res.to_humans.size == 50 and np.isin(res.to_humans, val).all()


def test_iteration_labels_confident_items_and_ranks_the_rest(digits):
    X, y = digits
    s = AutolabelSettings(batch_size=100)
    val = choose_validation_items(len(y), s, random_state=0)
    rest = np.setdiff1d(np.arange(len(y)), val)
    labeled = np.r_[val, rest[:400]]
    res = run_iteration(X, (labeled, y[labeled]), val, n_classes=10, settings=s, random_state=0)
    assert res.threshold is not None and res.threshold.feasible
    assert res.n_auto_labeled > 300
    assert not np.isin(res.auto_items, labeled).any()
    assert (res.auto_labels == y[res.auto_items]).mean() >= 0.95
    assert res.to_humans.size == 100
    assert not np.isin(res.to_humans, res.auto_items).any()
    assert not np.isin(res.to_humans, labeled).any()
    # Priorities exist exactly for candidates; the batch holds the highest.
    cand = np.isfinite(res.priority)
    assert cand[res.to_humans].all() and not cand[labeled].any()
    assert res.priority[res.to_humans].min() >= np.nanmax(
        np.where(cand, res.priority, -1)[np.setdiff1d(np.flatnonzero(cand), res.to_humans)]
    )
    # Cost model: 0.08 + 3 x 0.012 per human item, 0.08 + 5 x 0.012 per validation item
    # (two more answers), 0.08 per automatic label.
    assert res.cost.human_cost == pytest.approx((labeled.size - val.size) * 0.116 + val.size * 0.14)
    assert res.cost.auto_cost == pytest.approx(res.n_auto_labeled * 0.08)
    lo, hi = res.accuracy_interval
    assert lo <= res.estimated_accuracy <= hi
    uncommitted = run_iteration(
        X, (labeled, y[labeled]), val, n_classes=10, settings=s, commit=False, random_state=0
    )
    assert uncommitted.n_auto_labeled == 0
    assert not np.isin(uncommitted.to_humans, res.auto_items).any()


@pytest.mark.parametrize("strategy", ["margin", "margin-diversity", "activelab"])
def test_simulated_run_on_digits_meets_target(digits, strategy):
    X, y = digits
    s = AutolabelSettings(batch_size=100, strategy=strategy)
    r = simulate_autolabel(X, y, worker_accuracy=0.95, settings=s, random_state=1)
    assert r.n_auto > 0.4 * len(y)
    assert r.auto_accuracy >= 0.95
    assert r.human_answers < r.human_answers_all_by_hand
    assert r.cost.saved > 0


def test_replayed_answers_take_the_first_k_per_item():
    items = np.array([0, 0, 0, 1, 1, 0])
    workers = np.array(["a", "b", "c", "a", "b", "d"])
    labels = np.array([1, 1, 0, 2, 2, 2])
    ask = replayed_answers(items, workers, labels, workers_per_item=2)
    it, wk, lab = ask(np.array([0, 1]))
    assert it.tolist() == [0, 0, 1, 1] and wk.tolist() == ["a", "b", "a", "b"]
    assert lab.tolist() == [1, 1, 2, 2]
    # A call may ask for more per item (validation items): the first that many it has.
    it, wk, lab = ask(np.array([0, 1]), 3)
    assert it.tolist() == [0, 0, 0, 1, 1] and wk.tolist() == ["a", "b", "c", "a", "b"]


def test_validation_items_get_two_more_answers_by_default(digits):
    X, y = digits
    s = AutolabelSettings(batch_size=100)
    assert s.validation_answers == 5
    assert AutolabelSettings(workers_per_item=4).validation_answers == 6
    # One or two people per item: as many on validation items (a small team may not
    # have five people to answer them).
    assert AutolabelSettings(workers_per_item=1).validation_answers == 1
    assert AutolabelSettings(workers_per_item=2).validation_answers == 2
    assert AutolabelSettings(validation_workers_per_item=3).validation_answers == 3
    r = simulate_autolabel(X, y, worker_accuracy=0.9, settings=s, random_state=1)
    n_val = choose_validation_items(len(y), s).size
    # Every item is labelled by people or the model; validation items never by the model.
    n_human = len(y) - r.n_auto
    assert r.human_answers == (n_human - n_val) * 3 + n_val * 5
    same = simulate_autolabel(
        X,
        y,
        worker_accuracy=0.9,
        settings=AutolabelSettings(batch_size=100, validation_workers_per_item=3),
        random_state=1,
    )
    assert same.human_answers == (len(y) - same.n_auto) * 3


def test_class_missing_from_training_keeps_class_ids(digits):
    # Class 0 never appears among the training labels (only in validation): the
    # model's columns must still be mapped to class ids, not column positions.
    X, y = digits
    s = AutolabelSettings(batch_size=50)
    val = choose_validation_items(len(y), s, random_state=0)
    rest = np.setdiff1d(np.arange(len(y)), val)
    train = rest[y[rest] != 0][:600]
    labeled = np.r_[val, train]
    res = run_iteration(X, (labeled, y[labeled]), val, n_classes=10, settings=s, random_state=0)
    assert res.threshold is not None and res.threshold.feasible
    assert 0 not in set(res.auto_labels)
    assert np.array_equal(res.validation_auto_labels, y[res.validation_auto_items]) or (
        (res.validation_auto_labels == y[res.validation_auto_items]).mean() > 0.9
    )
    assert res.validation_auto_labels.max() <= 9


def test_validation_state_drives_iterations_like_the_simulator(digits):
    import json

    from truthset.learning.loop import ValidationState, should_commit

    X, y = digits
    s = AutolabelSettings(batch_size=100)
    val = choose_validation_items(len(y), s, random_state=0)
    rest = np.setdiff1d(np.arange(len(y)), val)
    labeled = np.r_[val, rest[:500]]
    state = ValidationState()
    res = run_iteration(
        X,
        (labeled, y[labeled]),
        val,
        n_classes=10,
        settings=s,
        commit=False,
        random_state=0,
        **state.run_kwargs(),
    )
    assert res.n_auto_labeled == 0 and res.validation_auto_items.size == 0
    assert res.validation_human_items.size > 0
    assert not should_commit(None, res)
    assert should_commit(res.threshold.coverage - 0.001, res)
    state.update(res)
    again = ValidationState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state
    res2 = run_iteration(
        X,
        (labeled, y[labeled]),
        val,
        n_classes=10,
        settings=s,
        commit=True,
        random_state=0,
        **again.run_kwargs(),
    )
    # Validation items already "sent to people" are left out of the threshold check.
    assert res2.threshold.n_validation == val.size - len(state.human_items)
    assert res2.validation_auto_items.size > 0
    assert not np.isin(res2.validation_auto_items, state.human_items).any()


def test_commit_rule_decides_after_one_fit(digits):
    from truthset.learning.loop import plateau_rule
    from truthset.learning.models import LinearClassifier

    fits = []

    class CountingModel(LinearClassifier):
        def fit(self, X, y):
            fits.append(len(y))
            return super().fit(X, y)

    X, y = digits
    s = AutolabelSettings(batch_size=100)
    val = choose_validation_items(len(y), s, random_state=0)
    rest = np.setdiff1d(np.arange(len(y)), val)
    labeled = np.r_[val, rest[:500]]
    common = dict(n_classes=10, settings=s, model=CountingModel(), random_state=0)
    seen = []

    def rule(thr, to_humans):
        seen.append((thr.coverage, to_humans.size))
        return False

    probe = run_iteration(X, (labeled, y[labeled]), val, commit=rule, **common)
    assert len(fits) == 1 and seen == [(probe.threshold.coverage, probe.to_humans.size)]
    assert not probe.committed and probe.n_auto_labeled == 0
    # Coverage barely grew since "the previous iteration": the plateau rule commits.
    grown = plateau_rule(probe.threshold.coverage - 0.001)
    res = run_iteration(X, (labeled, y[labeled]), val, commit=grown, **common)
    assert len(fits) == 2 and res.committed and res.n_auto_labeled > 0
    fixed = run_iteration(X, (labeled, y[labeled]), val, commit=True, **common)
    assert np.array_equal(fixed.auto_items, res.auto_items)
    assert not plateau_rule(None)(probe.threshold, probe.to_humans)
    assert plateau_rule(0.0)(probe.threshold, probe.to_humans[:0])


def test_error_budget_is_a_bonferroni_split_over_every_look():
    from truthset.learning.loop import error_budget, look_confidence_level, planned_looks

    # 10,662 items, 1,066 validation items, batches of 1,000: ten looks planned.
    assert planned_looks(10662, 1066, 1000) == 10
    assert planned_looks(100, 100, 50) == 1
    budgets = [error_budget(k, 10, 0.95) for k in range(1, 500)]
    assert budgets[:10] == [pytest.approx(0.05 / 11)] * 10
    assert budgets[10] == pytest.approx(0.05 / 22) and budgets[11] == pytest.approx(0.05 / 44)
    # However many looks a job takes, together they spend at most alpha.
    assert sum(budgets) <= 0.05 + 1e-12 and sum(budgets) == pytest.approx(0.05)
    s = AutolabelSettings(batch_size=1000, confidence_level=0.9)
    assert look_confidence_level(3, 10662, 1066, s) == pytest.approx(1 - 0.1 / 11)
    with pytest.raises(ValueError, match="from 1"):
        error_budget(0, 10)


def _false_pass_rate(levels, *, accuracy=0.945, n=400, trials=300, seed=0):
    """Share of jobs in which any of the looks certifies a threshold although every
    threshold's accuracy is below the 0.95 target (each look: the model's errors drawn
    afresh on the same kind of validation set)."""
    from truthset.learning.threshold import choose_threshold

    rng = np.random.default_rng(seed)
    confidence = np.linspace(1.0, 0.5, n)
    failed = 0
    for _ in range(trials):
        for level in levels:
            correct = rng.uniform(size=n) < accuracy
            thr = choose_threshold(
                confidence, correct, target_accuracy=0.95, confidence_level=level
            )
            if thr.feasible:
                failed += 1
                break
    return failed / trials


def test_spending_keeps_the_error_across_looks_that_committing_each_look_exceeds():
    from truthset.learning.loop import error_budget

    looks = 10
    # Committing every feasible look at the full level: each look may pass falsely, and
    # over ten looks one of them does far more often than 5% of the time.
    each = _false_pass_rate([0.95] * looks)
    spending = _false_pass_rate([1 - error_budget(k, looks) for k in range(1, looks + 1)])
    assert each > 0.1
    assert spending <= 0.05


def test_spending_commits_a_feasible_look_that_follows_an_infeasible_one():
    from truthset.learning.loop import feasible_rule, plateau_rule
    from truthset.learning.threshold import choose_threshold

    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 600)
    correct = (confidence > 0.8) | (rng.uniform(size=600) < 0.5)
    thr = choose_threshold(confidence, correct)
    assert thr.feasible and thr.coverage > 0.2
    batch = np.arange(10)
    # The session 10 flicker: nothing feasible at the previous look (coverage 0). The
    # plateau rule then never commits; the spending rule takes the feasible threshold.
    assert not plateau_rule(0.0)(thr, batch)
    assert feasible_rule(thr, batch)
    assert not feasible_rule(None, batch)
    assert not feasible_rule(choose_threshold(confidence, np.zeros(600)), batch)


def test_simulation_spends_the_budget_look_by_look(digits):
    from truthset.learning.loop import error_budget, planned_looks

    X, y = digits
    s = AutolabelSettings(batch_size=200)
    res = simulate_autolabel(X, y, settings=s, commit_policy="spending", random_state=0)
    val_size = choose_validation_items(len(y), s, random_state=0).size
    planned = planned_looks(len(y), val_size, 200)
    tested = [it for it in res.iterations if it["level"] is not None]
    assert [it["level"] for it in tested] == [
        pytest.approx(1 - error_budget(k, planned), abs=1e-5) for k in range(1, len(tested) + 1)
    ]
    # Every feasible look commits, the first one included.
    assert all(it["committed"] == (it["coverage"] > 0) for it in tested)
    assert res.n_auto > 0 and res.auto_accuracy >= 0.95


def test_validation_state_counts_looks():
    from truthset.learning.loop import ValidationState

    state = ValidationState.from_dict({"auto_items": [1], "auto_labels": [0]})
    assert state.looks == 0
    state.looks = 3
    assert ValidationState.from_dict(state.to_dict()).looks == 3
