"""Agreement metrics against published worked examples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from truthset.consensus.aggregation import AnswerMatrix
from truthset.consensus.agreement import (
    fleiss_kappa,
    krippendorff_alpha,
    pairwise_cohen_kappa,
    per_label_agreement,
)

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
# 4 observers x 12 units, values 1..5, None = missing. Published: nominal alpha 0.743,
# interval alpha 0.849.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]

# Fleiss' kappa worked example (Wikipedia "Fleiss' kappa"): 10 subjects, 14 raters,
# 5 categories; counts per subject and category. Published kappa 0.210.
FLEISS_EXAMPLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def reliability_matrix(rows) -> AnswerMatrix:
    tasks, workers, labels = [], [], []
    for worker, values in enumerate(rows):
        for task, value in enumerate(values):
            if value is not None:
                tasks.append(task)
                workers.append(worker)
                labels.append(value - 1)
    return AnswerMatrix.from_codes(tasks, workers, labels, n_classes=5)


def count_table(rows) -> AnswerMatrix:
    tasks, workers, labels = [], [], []
    for task, counts in enumerate(rows):
        rater = 0
        for label, n in enumerate(counts):
            for _ in range(n):
                tasks.append(task)
                workers.append(rater)
                labels.append(label)
                rater += 1
    return AnswerMatrix.from_codes(tasks, workers, labels)


def test_krippendorff_alpha_matches_the_published_example():
    answers = reliability_matrix(KRIPPENDORFF_2011)
    assert krippendorff_alpha(answers) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(answers, "interval") == pytest.approx(0.849, abs=5e-4)


def test_krippendorff_alpha_interval_uses_the_given_values():
    answers = reliability_matrix(KRIPPENDORFF_2011)
    scaled = krippendorff_alpha(answers, "interval", values=np.arange(5) * 10.0)
    assert scaled == pytest.approx(krippendorff_alpha(answers, "interval"))
    with pytest.raises(ValueError, match="one number per class"):
        krippendorff_alpha(answers, "interval", values=np.arange(3))


def test_fleiss_kappa_matches_the_worked_example():
    assert fleiss_kappa(count_table(FLEISS_EXAMPLE)) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_kappa_skips_tasks_with_one_answer():
    base = count_table(FLEISS_EXAMPLE)
    extra = AnswerMatrix.from_codes(
        [*base.tasks, 10], [*base.workers, 0], [*base.labels, 3], n_classes=5
    )
    assert fleiss_kappa(extra) == pytest.approx(fleiss_kappa(base))


def test_perfect_agreement():
    answers = AnswerMatrix.from_codes([0, 0, 1, 1], [0, 1, 0, 1], [0, 0, 1, 1])
    assert fleiss_kappa(answers) == pytest.approx(1.0)
    assert krippendorff_alpha(answers) == pytest.approx(1.0)


def test_pairwise_cohen_kappa_matches_scikit_learn():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 40)
    tasks, workers, labels = [], [], []
    for worker, noise in enumerate([0.1, 0.3, 0.6]):
        for task in range(40 if worker < 2 else 5):
            tasks.append(task)
            workers.append(worker)
            labels.append(truth[task] if rng.random() > noise else int(rng.integers(0, 3)))
    answers = AnswerMatrix.from_codes(tasks, workers, labels, n_classes=3)
    kappa = pairwise_cohen_kappa(answers, min_shared=10)
    a = np.array(labels[:40])
    b = np.array(labels[40:80])
    assert kappa[0, 1] == pytest.approx(cohen_kappa_score(a, b))
    assert kappa[1, 0] == pytest.approx(kappa[0, 1])
    assert np.isnan(kappa[0, 2])  # only 5 shared tasks
    assert np.isnan(kappa[0, 0])


def test_per_label_agreement_by_hand():
    # Task 0: a, a, b; task 1: b, b. Pairs involving a: 2*(2)=4 ordered slots... by hand:
    # a agreeing ordered pairs = 2*1 = 2; involving a = 2 * (3 - 1) = 4 -> 0.5.
    # b agreeing = 0 + 2*1 = 2; involving b = 1*(3-1) + 2*(2-1) = 4 -> 0.5.
    answers = AnswerMatrix.from_codes([0, 0, 0, 1, 1], [0, 1, 2, 0, 1], [0, 0, 1, 1, 1])
    np.testing.assert_allclose(per_label_agreement(answers), [0.5, 0.5])


def test_too_little_data_is_a_clear_error():
    single = AnswerMatrix.from_codes([0, 1], [0, 0], [0, 1])
    with pytest.raises(ValueError, match="two answers"):
        fleiss_kappa(single)
    with pytest.raises(ValueError, match="two answers"):
        krippendorff_alpha(single)
