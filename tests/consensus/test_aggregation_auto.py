"""How ``auto`` chooses, with and without gold."""

from __future__ import annotations

import numpy as np
import pytest

from truthset.consensus.aggregation import AnswerMatrix, AutoAggregator, aggregate
from truthset.consensus.aggregation.checks import keeps_class_meaning
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


def test_without_gold_prefers_dawid_skene_when_its_classes_keep_their_meaning(crowd):
    auto = AutoAggregator().fit(crowd.answers)
    assert auto.method_ == "ds"
    assert auto.report_["ds"]["keeps_class_meaning"] is True


def test_without_gold_falls_back_when_the_first_choice_fails_the_check(crowd, monkeypatch):
    import truthset.consensus.aggregation.auto as auto_module

    monkeypatch.setattr(auto_module, "keeps_class_meaning", lambda answers, post: False)
    auto = AutoAggregator().fit(crowd.answers)
    assert auto.method_ == "wawa"  # the last preference is accepted unconditionally


def test_gold_switches_only_on_clear_evidence(crowd):
    answers = with_adversaries(crowd, 8)
    tasks = np.arange(answers.n_tasks)
    auto = AutoAggregator(preference=("mv",), candidates=("mv", "ds"))
    chosen = auto.fit(answers, tasks, crowd.truth).method_
    assert chosen == "ds"
    assert auto.report_["ds"]["gold_accuracy"] > auto.report_["mv"]["gold_accuracy"]
    # Two gold items are not enough evidence to leave the no-gold choice.
    few = AutoAggregator(preference=("mv",), candidates=("mv", "ds"))
    assert few.fit(answers, tasks[:2], crowd.truth[:2]).method_ == "mv"


def test_gold_ties_keep_the_no_gold_choice(crowd):
    tasks = np.arange(crowd.answers.n_tasks)
    auto = AutoAggregator().fit(crowd.answers, tasks, crowd.truth)
    accuracies = {n: r["gold_accuracy"] for n, r in auto.report_.items()}
    assert auto.method_ == "ds" or accuracies[auto.method_] > accuracies["ds"]


def test_unknown_candidate_is_a_clear_error(crowd):
    with pytest.raises(ValueError, match="unknown method 'best'"):
        AutoAggregator(candidates=("best",)).fit(crowd.answers)


def test_aggregate_reports_the_choice_and_gold_accuracy(crowd):
    a = crowd.answers
    tasks = [f"t{t}" for t in a.tasks]
    workers = [f"w{w}" for w in a.workers]
    labels = [f"c{lab}" for lab in a.labels]
    gold = {f"t{t}": f"c{crowd.truth[t]}" for t in range(50)}
    result = aggregate(tasks, workers, labels, gold=gold)
    assert result.method in {"ds", "wawa", "mv", "gt-mds", "onecoin", "glad"}
    assert result.details["gold_tasks"] == 50
    assert result.details["gold_accuracy"] >= 0.8
    assert "candidates" in result.details
    with pytest.raises(ValueError, match="gold label"):
        aggregate(tasks, workers, labels, gold={"t0": "zz"}, classes=["c0", "c1", "c2"])
