"""How ``auto`` chooses, with and without gold."""

from __future__ import annotations

import numpy as np
import pytest

from truthset.consensus.aggregation import AGGREGATORS, AnswerMatrix, AutoAggregator, aggregate
from truthset.consensus.aggregation.auto import n_parameters
from truthset.consensus.aggregation.checks import keeps_class_meaning
from truthset.consensus.aggregation.families import simulate_family
from truthset.consensus.aggregation.selection import HeldOut, Profiled, profile
from truthset.consensus.aggregation.simulate import simulate_crowd


@pytest.fixture(scope="module")
def crowd():
    return simulate_crowd(n_tasks=300, n_workers=30, answers_per_task=5, random_state=8)


def with_adversaries(crowd, n_adversaries: int) -> AnswerMatrix:
    """Workers 0..n-1 always answer the next class after the truth (systematic confusion)."""
    a = crowd.answers
    labels = a.labels.copy()
    bad = a.workers < n_adversaries
    labels[bad] = (crowd.truth[a.tasks[bad]] + 1) % a.n_classes
    return AnswerMatrix(a.tasks, a.workers, labels, a.n_tasks, a.n_workers, a.n_classes)


def test_class_meaning_check_rejects_swapped_classes(crowd):
    truth = np.eye(crowd.answers.n_classes)[crowd.truth]
    assert keeps_class_meaning(crowd.answers, truth)
    assert not keeps_class_meaning(crowd.answers, truth[:, [1, 2, 0]])


def test_without_gold_chooses_the_best_held_out_likelihood(crowd):
    auto = AutoAggregator().fit(crowd.answers)
    scores = {n: r["held_out_log_likelihood"] for n, r in auto.report_.items()}
    best = max(scores, key=scores.get)
    chosen = auto.report_[auto.method_]
    if auto.method_ != best:  # a simpler model that the held-out answers cannot tell apart
        assert chosen["within_tie_of"] == best
        assert n_parameters(auto.method_, crowd.answers) < n_parameters(best, crowd.answers)
        gap = scores[best] - scores[auto.method_]
        assert 0 <= gap <= chosen["std_error"] + 1e-5
    assert chosen["keeps_class_meaning"] in (True, None)
    assert auto.criterion_["answers_scored"] == crowd.answers.n_answers  # 5 folds, all scored
    assert auto.criterion_["answer_models"] == "best per truth estimate"


def test_each_truth_estimate_is_scored_with_the_best_answer_model(crowd):
    auto = AutoAggregator().fit(crowd.answers)
    joint = AutoAggregator(criterion="joint").fit(crowd.answers)
    for name, row in auto.report_.items():
        # The own answer model is one of those tried, so the profiled score is never lower.
        assert row["held_out_log_likelihood"] >= row["own_log_likelihood"] - 1e-9
        assert row["own_log_likelihood"] == joint.report_[name]["held_out_log_likelihood"]
        assert row["answer_model"] in auto.report_
        if row["answer_model"] == name:
            assert row["held_out_log_likelihood"] == row["own_log_likelihood"]
    assert all(r["answer_model"] == n for n, r in joint.report_.items())
    assert joint.criterion_["answer_models"] == "own"


def test_profile_takes_the_best_answer_model_per_posterior():
    # Two answers, two classes: m's posterior is right, r's answer model is the sharper one.
    post_m = np.array([[0.9, 0.1], [0.2, 0.8]], np.float32)
    post_r = np.array([[0.5, 0.5], [0.5, 0.5]], np.float32)
    lik_m = np.array([[0.6, 0.4], [0.4, 0.6]], np.float32)  # P(given label | t)
    lik_r = np.array([[0.9, 0.1], [0.1, 0.9]], np.float32)

    def scored(post, lik):
        return HeldOut(np.log(np.einsum("at,at->a", post, lik).astype(np.float64)), post, lik)

    got = profile({"m": scored(post_m, lik_m), "r": scored(post_r, lik_r)})
    assert got["m"].answer_model == "r"
    expected = np.log(np.einsum("at,at->a", post_m, lik_r).astype(np.float64)).mean()
    assert got["m"].mean == pytest.approx(expected)
    assert got["r"].answer_model == "r"  # m's model does not help r's flat posterior
    np.testing.assert_array_equal(got["m"].scores.likelihoods, lik_r)


def test_held_out_likelihood_prefers_the_generating_model_over_an_over_fitted_one():
    # Sparse one-coin workers: full confusion matrices over-fit, one coin does not.
    crowd = simulate_family("sparse", n_tasks=1500, random_state=3)
    joint = AutoAggregator(candidates=("ds", "onecoin"), criterion="joint").fit(crowd.answers)
    report = joint.report_
    assert report["onecoin"]["held_out_log_likelihood"] > report["ds"]["held_out_log_likelihood"]
    assert joint.method_ == "onecoin"
    # Profiled, DS's truth estimate with the one-coin answer model predicts the held-out
    # answers within noise of one coin's: the simpler model is kept.
    auto = AutoAggregator(candidates=("ds", "onecoin")).fit(crowd.answers)
    assert auto.method_ == "onecoin"
    assert auto.report_["ds"]["answer_model"] == "onecoin"


def test_the_one_standard_error_rule_keeps_the_simpler_model_only_within_the_tie(crowd):
    a = crowd.answers
    fitted = {n: AGGREGATORS[n](random_state=0).fit(a) for n in ("ds", "onecoin")}
    rng = np.random.default_rng(0)
    base = rng.normal(-0.7, 0.3, 400)
    noise = rng.normal(0.0, 0.05, 400)  # per-answer differences: standard error 0.0025
    post = np.full((400, a.n_classes), 1 / a.n_classes, np.float32)

    def scores(gap: float) -> dict[str, Profiled]:
        return {
            "ds": Profiled("ds", HeldOut(base, post, post)),
            "onecoin": Profiled("onecoin", HeldOut(base - gap + noise - noise.mean(), post, post)),
        }

    def choose(gap: float, tie_se: float = 1.0) -> tuple[str, dict]:
        report = {n: {"keeps_class_meaning": None} for n in ("ds", "onecoin")}
        auto = AutoAggregator(tie_se=tie_se)
        return auto._choose_without_gold(
            a, ["ds", "onecoin"], scores(gap), fitted.__getitem__, report
        ), report

    assert n_parameters("onecoin", a) < n_parameters("ds", a)
    chosen, report = choose(0.001)
    assert chosen == "onecoin" and report["onecoin"]["within_tie_of"] == "ds"
    assert choose(0.02)[0] == "ds"  # eight standard errors: a real difference
    assert choose(0.001, tie_se=0.0)[0] == "ds"  # the rule switched off


def test_parameters_count_what_each_answer_model_estimates(crowd):
    a = crowd.answers
    w, t, k = a.n_workers, a.n_tasks, a.n_classes
    assert n_parameters("mv", a) == 0
    assert n_parameters("onecoin", a) == n_parameters("wawa", a) == w
    assert n_parameters("glad", a) == w + t
    assert n_parameters("mace", a) == w * k
    assert n_parameters("ds", a) == n_parameters("bcc", a) == w * k * (k - 1)


def test_a_solution_that_relabels_a_class_is_not_chosen(crowd, monkeypatch):
    import truthset.consensus.aggregation.auto as auto_module

    monkeypatch.setattr(auto_module, "keeps_class_meaning", lambda answers, post: False)
    auto = AutoAggregator().fit(crowd.answers)
    # Every model-based candidate "fails" now; the best vote-based one is taken.
    assert auto.method_ in auto_module.VOTE_BASED
    # No model keeps its classes' meaning, so the vote's own shares stay its confidences.
    assert auto.confidence_model_ == auto.method_
    failed = [n for n, r in auto.report_.items() if r["keeps_class_meaning"] is False]
    assert failed and all(
        auto.report_[n]["held_out_log_likelihood"]
        >= auto.report_[auto.method_]["held_out_log_likelihood"]
        for n in failed
    )


def test_a_chosen_vote_takes_its_confidences_and_ties_from_its_profiled_answer_model(
    monkeypatch,
):
    # Four answers per task: many 2-2 ties.
    even = simulate_crowd(n_tasks=300, n_workers=30, answers_per_task=4, random_state=3)
    monkeypatch.setattr(AutoAggregator, "_choose_without_gold", lambda self, *args: "mv")
    import truthset.consensus.aggregation.auto as auto_module

    auto = AutoAggregator().fit(even.answers)
    assert auto.method_ == "mv"
    assert auto.confidence_model_ not in auto_module.VOTE_BASED
    assert auto.report_[auto.confidence_model_]["keeps_class_meaning"] is True
    assert auto.calibration_["confidence_model"] == auto.confidence_model_
    assert "posterior of its label under" in auto.explanation_
    votes = auto.estimator_.posteriors_
    top = np.isclose(votes, votes.max(axis=1, keepdims=True))
    tied = top.sum(axis=1) > 1
    assert tied.sum() > 20
    np.testing.assert_array_equal(auto.labels_[~tied], auto.estimator_.labels_[~tied])
    # A tied label is always one of the tied ones, the confidence model's most probable.
    confidence = AGGREGATORS[auto.confidence_model_](random_state=0).fit(even.answers)
    assert top[tied, auto.labels_[tied]].all()
    expected = np.where(top[tied], confidence.posteriors_[tied], -1.0).argmax(axis=1)
    np.testing.assert_array_equal(auto.labels_[tied], expected)
    # Confidences are the (calibrated) model posterior, not the vote shares: a 2-2 tie
    # is not "0.5 sure" when the two sides' workers differ in skill.
    assert not np.allclose(auto.posteriors_, votes)
    np.testing.assert_allclose(auto.posteriors_.sum(axis=1), 1.0)
    chosen = auto.posteriors_[np.arange(even.answers.n_tasks), auto.labels_]
    assert np.mean(auto.labels_ == even.truth) > np.mean(auto.estimator_.labels_ == even.truth)
    # aggregate reports the chosen label's probability as its confidence.
    result = aggregate(
        [f"t{t}" for t in even.answers.tasks],
        [f"w{w}" for w in even.answers.workers],
        [f"c{c}" for c in even.answers.labels],
        method="auto",
        classes=[f"c{c}" for c in range(even.answers.n_classes)],
    )
    assert result.method == "mv"
    order = np.array([int(t[1:]) for t in result.task_ids])
    np.testing.assert_allclose(result.confidences, np.round(chosen[order], 2))


def test_a_chosen_vote_with_gold_reports_the_shares_and_the_model_posterior_ece(monkeypatch):
    even = simulate_crowd(n_tasks=300, n_workers=30, answers_per_task=4, random_state=3)
    monkeypatch.setattr(AutoAggregator, "_choose_without_gold", lambda self, *args: "mv")
    monkeypatch.setattr(AutoAggregator, "_choose_with_gold", lambda self, default, *a: default)
    tasks = np.arange(even.answers.n_tasks)
    auto = AutoAggregator().fit(even.answers, tasks, even.truth)
    calibration = auto.calibration_
    assert auto.method_ == "mv" and calibration["source"] == "gold"
    assert calibration["confidence_model"] == auto.confidence_model_ != "mv"
    # The vote's shares (a 2-2 tie is "0.5", one of one "1.0") are worse calibrated than
    # the model posterior that replaces them, before and after the gold temperature.
    assert calibration["ece_method"] > calibration["ece_raw"]
    assert calibration["ece_calibrated"] <= calibration["ece_raw"] + 0.01


def test_one_fold_is_enough_on_many_answers(crowd):
    auto = AutoAggregator(max_scored=100).fit(crowd.answers)
    assert auto.criterion_["folds_fitted"] == 1
    assert auto.criterion_["answers_scored"] == pytest.approx(crowd.answers.n_answers / 5, abs=1)


def test_confidences_are_calibrated_by_a_temperature(crowd):
    auto = AutoAggregator().fit(crowd.answers)
    assert auto.calibration_["source"] == "held-out answers"
    np.testing.assert_array_equal(auto.predict(), auto.estimator_.predict())
    np.testing.assert_allclose(auto.predict_proba().sum(axis=1), 1.0)
    raw = AutoAggregator(calibrate=False).fit(crowd.answers)
    assert raw.temperature_ == 1.0
    np.testing.assert_array_equal(raw.predict_proba(), raw.estimator_.posteriors_)


def test_gold_switches_only_on_clear_evidence(crowd):
    answers = with_adversaries(crowd, 8)
    tasks = np.arange(answers.n_tasks)
    fitted = {n: AGGREGATORS[n](random_state=0).fit(answers) for n in ("mv", "ds")}
    auto = AutoAggregator()
    report: dict = {}
    # Majority vote as the no-gold choice; DS handles the adversaries, and all gold says so.
    chosen = auto._choose_with_gold(
        "mv", ["mv", "ds"], fitted.__getitem__, tasks, crowd.truth, report
    )
    assert chosen == "ds"
    assert report["ds"]["gold_accuracy"] > report["mv"]["gold_accuracy"]
    # Two gold items are not enough evidence to leave the no-gold choice.
    assert (
        auto._choose_with_gold(
            "mv", ["mv", "ds"], fitted.__getitem__, tasks[:2], crowd.truth[:2], {}
        )
        == "mv"
    )


def test_gold_ties_keep_the_no_gold_choice(crowd):
    tasks = np.arange(crowd.answers.n_tasks)
    auto = AutoAggregator().fit(crowd.answers, tasks, crowd.truth)
    accuracies = {n: r["gold_accuracy"] for n, r in auto.report_.items()}
    choice = auto.no_gold_choice_
    assert auto.method_ == choice or accuracies[auto.method_] > accuracies[choice]
    assert auto.calibration_["source"] == "gold"
    assert auto.calibration_["ece_calibrated"] <= auto.calibration_["ece_raw"] + 0.01


def test_unknown_candidate_is_a_clear_error(crowd):
    with pytest.raises(ValueError, match="unknown method 'best'"):
        AutoAggregator(candidates=("best",)).fit(crowd.answers)
    with pytest.raises(ValueError, match="unknown criterion 'gold'"):
        AutoAggregator(criterion="gold").fit(crowd.answers)


def test_aggregate_reports_the_choice_and_gold_accuracy(crowd):
    a = crowd.answers
    tasks = [f"t{t}" for t in a.tasks]
    workers = [f"w{w}" for w in a.workers]
    labels = [f"c{lab}" for lab in a.labels]
    gold = {f"t{t}": f"c{crowd.truth[t]}" for t in range(50)}
    result = aggregate(tasks, workers, labels, gold=gold)
    assert result.method in AGGREGATORS
    assert result.details["gold_tasks"] == 50
    assert result.details["gold_accuracy"] >= 0.8
    assert "candidates" in result.details
    with pytest.raises(ValueError, match="gold label"):
        aggregate(tasks, workers, labels, gold={"t0": "zz"}, classes=["c0", "c1", "c2"])


@pytest.mark.parametrize("n_answers", [1, 2, 3])
def test_too_few_answers_to_hold_out_still_consolidate(n_answers):
    tasks = [f"t{i % 2}" for i in range(n_answers)]
    workers = [f"w{i}" for i in range(n_answers)]
    labels = ["a" if i % 2 else "b" for i in range(n_answers)]
    result = aggregate(tasks, workers, labels)
    assert len(result.labels) == len(set(tasks))
    assert result.details["why"].startswith(result.details["no_gold_choice"])
    if n_answers == 1:
        assert result.method == "mv"
        assert result.details["candidates"]["ds"]["held_out_log_likelihood"] is None
