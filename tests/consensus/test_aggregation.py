"""The contract every classification aggregator keeps (one parametrized test per rule)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from truthset.consensus.aggregation import AGGREGATORS, AnswerMatrix, aggregate, encode_answers
from truthset.consensus.aggregation.simulate import simulate_crowd

METHODS = sorted(AGGREGATORS)


@pytest.fixture(scope="module")
def crowd():
    return simulate_crowd(n_tasks=300, n_workers=30, answers_per_task=7, random_state=1)


@pytest.fixture(scope="module")
def other_crowd():
    return simulate_crowd(n_tasks=120, n_workers=12, n_classes=4, random_state=2)


@pytest.mark.parametrize("method", METHODS)
def test_fit_returns_self(method, crowd):
    estimator = AGGREGATORS[method](random_state=0)
    assert estimator.fit(crowd.answers) is estimator


@pytest.mark.parametrize("method", METHODS)
def test_init_only_stores_parameters(method):
    estimator = AGGREGATORS[method](random_state=3)
    assert estimator.get_params()["random_state"] == 3
    assert not [name for name in vars(estimator) if name.endswith("_")]


@pytest.mark.parametrize("method", METHODS)
def test_refit_equals_fresh_fit(method, crowd, other_crowd):
    reused = AGGREGATORS[method](random_state=0).fit(other_crowd.answers).fit(crowd.answers)
    fresh = AGGREGATORS[method](random_state=0).fit(crowd.answers)
    np.testing.assert_array_equal(reused.predict(), fresh.predict())
    np.testing.assert_allclose(reused.predict_proba(), fresh.predict_proba())
    np.testing.assert_allclose(reused.skills_, fresh.skills_)


@pytest.mark.parametrize("method", METHODS)
def test_deterministic_under_a_seed(method, crowd):
    first = AGGREGATORS[method](random_state=7).fit_predict_proba(crowd.answers)
    second = AGGREGATORS[method](random_state=7).fit_predict_proba(crowd.answers)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("method", METHODS)
def test_probabilities_are_distributions(method, crowd):
    proba = AGGREGATORS[method](random_state=0).fit_predict_proba(crowd.answers)
    assert proba.shape == (crowd.answers.n_tasks, crowd.answers.n_classes)
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_prediction_is_a_most_probable_label(method, crowd):
    estimator = AGGREGATORS[method](random_state=0).fit(crowd.answers)
    proba = estimator.predict_proba()
    chosen = proba[np.arange(len(proba)), estimator.predict()]
    np.testing.assert_allclose(chosen, proba.max(axis=1))


@pytest.mark.parametrize("method", METHODS)
def test_empty_input_is_a_clear_error(method):
    empty = AnswerMatrix.from_codes([], [], [], n_tasks=0, n_workers=0, n_classes=2)
    with pytest.raises(ValueError, match="empty"):
        AGGREGATORS[method]().fit(empty)


@pytest.mark.parametrize("method", METHODS)
def test_wrong_input_type_is_a_clear_error(method):
    with pytest.raises(TypeError, match="AnswerMatrix"):
        AGGREGATORS[method]().fit([(0, 0, 1)])


@pytest.mark.parametrize("method", METHODS)
def test_inputs_are_not_mutated(method, crowd):
    a = crowd.answers
    tasks, workers, labels = a.tasks.copy(), a.workers.copy(), a.labels.copy()
    raw = [tasks.copy(), workers.copy(), labels.copy()]
    answers = AnswerMatrix(*raw, a.n_tasks, a.n_workers, a.n_classes)
    AGGREGATORS[method](random_state=0).fit(answers)
    for before, after in zip((tasks, workers, labels), raw, strict=True):
        np.testing.assert_array_equal(before, after)
    assert not answers.tasks.flags.writeable


@pytest.mark.parametrize("method", METHODS)
def test_recovers_truth_on_easy_data(method, crowd):
    predicted = AGGREGATORS[method](random_state=0).fit_predict(crowd.answers)
    assert np.mean(predicted == crowd.truth) >= 0.95


@pytest.mark.parametrize("method", METHODS)
def test_skills_follow_simulated_accuracy(method, crowd):
    skills = AGGREGATORS[method](random_state=0).fit(crowd.answers).skills_
    assert skills.shape == (crowd.answers.n_workers,)
    assert spearmanr(skills, crowd.skills).statistic > 0.8


@pytest.mark.parametrize(
    "method", ["ds", "onecoin", "glad", "wawa", "gt-mds", "mace", "bcc", "zbs"]
)
def test_weighted_methods_beat_majority_vote_with_spammers(method):
    noisy = simulate_crowd(
        n_tasks=400,
        n_workers=40,
        answers_per_task=5,
        skill_range=(0.7, 0.95),
        spammer_fraction=0.4,
        random_state=4,
    )
    mv = AGGREGATORS["mv"](random_state=0).fit_predict(noisy.answers)
    weighted = AGGREGATORS[method](random_state=0).fit_predict(noisy.answers)
    assert np.mean(weighted == noisy.truth) > np.mean(mv == noisy.truth)


def test_majority_vote_confidence_is_vote_share_and_ties_follow_the_rule():
    answers = AnswerMatrix.from_codes([0, 0, 0, 1, 1], [0, 1, 2, 0, 1], [1, 1, 0, 0, 1])
    mv = AGGREGATORS["mv"](tie_break="smallest").fit(answers)
    np.testing.assert_allclose(mv.predict_proba(), [[1 / 3, 2 / 3], [0.5, 0.5]])
    assert mv.predict().tolist() == [1, 0]
    winners = {
        int(AGGREGATORS["mv"](random_state=seed).fit_predict(answers)[1]) for seed in range(20)
    }
    assert winners == {0, 1}


@pytest.mark.parametrize(
    ("method", "param"),
    [
        ("ds", "init_confusion_matrices"),
        ("gt-mds", "init_confusion_matrices"),
        ("onecoin", "init_skills"),
        ("glad", "init_skills"),
        ("wawa", "init_skills"),
    ],
)
def test_warm_start_from_earlier_worker_parameters(method, param, crowd):
    a = crowd.answers
    earlier = AGGREGATORS[method](random_state=0).fit(a)
    previous = (
        earlier.confusion_matrices_
        if "confusion" in param
        else (earlier.alphas_ if method == "glad" else earlier.skills_)
    )
    kept = previous.copy()
    warm = AGGREGATORS[method](random_state=0, **{param: previous}).fit(a)
    np.testing.assert_array_equal(previous, kept)
    assert np.mean(warm.predict() == crowd.truth) >= 0.95
    # A batch answered only by the first five workers still uses what was learnt of them.
    few = a.subset(a.workers < 5)
    unknown = np.full_like(previous, np.nan)
    unknown[:5] = previous[:5]
    warm_few = AGGREGATORS[method](random_state=0, **{param: unknown}).fit(few)
    assert warm_few.predict_proba().shape == (a.n_tasks, a.n_classes)


def test_encode_answers_round_trip_and_duplicates():
    answers = encode_answers(
        ["t1", "t1", "t2", "t1"], ["w1", "w2", "w1", "w1"], ["b", "a", "b", "a"]
    )
    assert answers.class_names.tolist() == ["a", "b"]
    assert answers.task_names.tolist() == ["t1", "t2"]
    assert answers.n_answers == 4
    assert answers.decode_labels(np.array([1, 0])).tolist() == ["b", "a"]
    first = encode_answers(["t1", "t1"], ["w1", "w1"], ["b", "a"], duplicates="first")
    last = encode_answers(["t1", "t1"], ["w1", "w1"], ["b", "a"], duplicates="last")
    assert first.labels.tolist() == [1] and last.labels.tolist() == [0]
    with pytest.raises(ValueError, match="'c' is not one of the classes"):
        encode_answers(["t"], ["w"], ["c"], classes=["a", "b"])


def test_answer_matrix_rejects_codes_out_of_range():
    with pytest.raises(ValueError, match="labels codes"):
        AnswerMatrix.from_codes([0], [0], [2], n_classes=2)


def test_aggregate_returns_labels_in_callers_ids():
    result = aggregate(
        ["x", "x", "x", "y", "y", "y"],
        ["a", "b", "c", "a", "b", "c"],
        ["cat", "cat", "dog", "dog", "dog", "dog"],
        method="mv",
    )
    assert result.as_dict() == {"x": ("cat", 0.67), "y": ("dog", 1.0)}
    assert result.method == "mv"
    assert set(result.worker_skills) == {"a", "b", "c"}
    with pytest.raises(ValueError, match="unknown method"):
        aggregate(["x"], ["a"], ["cat"], method="best")


@pytest.mark.parametrize("method", METHODS)
def test_a_single_class_is_consolidated_with_full_confidence(method):
    answers = AnswerMatrix.from_codes([0, 0, 1], [0, 1, 0], [0, 0, 0])
    estimator = AGGREGATORS[method](random_state=0).fit(answers)
    assert estimator.predict().tolist() == [0, 0]
    np.testing.assert_allclose(estimator.predict_proba(), [[1.0], [1.0]])
