"""GT-MDS against a line-by-line transcription of AWS's published algorithm."""

from __future__ import annotations

import numpy as np
import pytest

from truthset.consensus.aggregation import AnswerMatrix, DawidSkene, GroundTruthMDS
from truthset.consensus.aggregation.simulate import simulate_crowd


def sym(a: float, k: int) -> np.ndarray:
    return np.full((k, k), (1 - a) / (k - 1)) + np.eye(k) * (a - (1 - a) / (k - 1))


def reference_mds(answers: AnswerMatrix, max_epochs: int = 20, tol: float = 1e-8):
    """Plain loops over items and workers, following section 3.1 step by step."""
    k = answers.n_classes
    by_item: dict[int, list[tuple[int, int]]] = {}
    for t, w, lab in zip(answers.tasks, answers.workers, answers.labels, strict=True):
        by_item.setdefault(int(t), []).append((int(w), int(lab)))
    p = {i: np.full(k, 1 / k) for i in by_item}
    c = {w: sym(0.7, k) for w in set(answers.workers.tolist())}
    all_worker_prior = 0.7
    old = None
    for _ in range(max_epochs):
        prior = sum(p.values())
        prior = prior / prior.sum()
        log_lik = 0.0
        for i, rows in by_item.items():
            unnorm = prior.copy()
            for w, lab in rows:
                unnorm = unnorm * c[w][:, lab]
            log_lik += np.log(unnorm.sum())
            p[i] = unnorm / unnorm.sum()
        counts = {w: np.zeros((k, k)) for w in c}
        n = dict.fromkeys(c, 0)
        for i, rows in by_item.items():
            for w, lab in rows:
                counts[w][:, lab] += p[i]
                n[w] += 1
        accuracies = []
        for w in c:
            acc = np.trace(counts[w]) / n[w]
            accuracies.append(acc)
            m = counts[w] + n[w] * sym(acc, k) + n[w] / 2 * sym(all_worker_prior, k)
            c[w] = m / m.sum(axis=1, keepdims=True)
        all_worker_prior = float(np.mean(accuracies))
        if old is not None and abs((log_lik - old) / old) < tol:
            break
        old = log_lik
    return p, c


@pytest.fixture(scope="module")
def crowd():
    return simulate_crowd(
        n_tasks=60,
        n_workers=8,
        n_classes=3,
        answers_per_task=4,
        skill_range=(0.4, 0.9),
        random_state=5,
    )


def test_matches_the_published_algorithm(crowd):
    fitted = GroundTruthMDS().fit(crowd.answers)
    posteriors, confusion = reference_mds(crowd.answers)
    expected = np.array([posteriors[i] for i in range(crowd.answers.n_tasks)])
    np.testing.assert_allclose(fitted.posteriors_, expected, rtol=1e-9, atol=1e-12)
    for w, matrix in confusion.items():
        np.testing.assert_allclose(fitted.confusion_matrices_[w], matrix, rtol=1e-9)


def test_first_e_step_uses_the_0_7_diagonal():
    # answers 0, 0, 1: p(0) = 0.7 * 0.7 * 0.3 / (that + 0.3 * 0.3 * 0.7) = 0.7
    answers = AnswerMatrix.from_codes([0, 0, 0], [0, 1, 2], [0, 0, 1])
    fitted = GroundTruthMDS(max_iter=1).fit(answers)
    np.testing.assert_allclose(fitted.posteriors_[0], [0.7, 0.3])


def test_confidence_is_max_posterior_rounded_to_two_places(crowd):
    fitted = GroundTruthMDS().fit(crowd.answers)
    np.testing.assert_array_equal(fitted.confidences_, np.round(fitted.posteriors_.max(1), 2))
    assert set(np.round(fitted.confidences_ * 100, 6) % 1) == {0}


def test_stops_after_twenty_epochs_or_on_converged_likelihood(crowd):
    assert GroundTruthMDS().fit(crowd.answers).n_iter_ <= 20
    assert GroundTruthMDS(tol=1.0).fit(crowd.answers).n_iter_ == 2


def test_shrinkage_keeps_a_one_answer_worker_near_the_crowd():
    # Worker 3 answered once, against three agreeing workers: plain DS makes them almost
    # certainly wrong on class 1; the crowd-accuracy term keeps MDS's diagonal above zero.
    answers = AnswerMatrix.from_codes(
        [0, 0, 0, 0, 1, 1, 1], [0, 1, 2, 3, 0, 1, 2], [1, 1, 1, 0, 0, 0, 0]
    )
    fitted = GroundTruthMDS().fit(answers)
    plain = DawidSkene(smoothing=0.01).fit(answers)
    assert fitted.confusion_matrices_[3][1, 1] > 0.1
    assert fitted.confusion_matrices_[3][1, 1] > 5 * plain.confusion_matrices_[3][1, 1]
    assert fitted.predict().tolist() == [1, 0]


def test_warm_start_carries_worker_parameters_between_batches():
    # Batch 2 alone is a 1-1 tie; worker 0's confusion learnt on batch 1 breaks it.
    trusted = np.array([[[0.95, 0.05], [0.05, 0.95]], [[0.5, 0.5], [0.5, 0.5]]])
    answers = AnswerMatrix.from_codes([0, 0], [0, 1], [1, 0])
    fitted = GroundTruthMDS(max_iter=1, init_confusion_matrices=trusted).fit(answers)
    assert fitted.predict().tolist() == [1]
    cold = GroundTruthMDS(max_iter=1).fit(answers)
    np.testing.assert_allclose(cold.posteriors_[0], [0.5, 0.5])
