"""``auto`` on crowds drawn from each model's own generative story (not the shared sets)."""

from __future__ import annotations

import numpy as np
import pytest

from truthset.consensus.aggregation import AGGREGATORS, AutoAggregator
from truthset.consensus.aggregation.calibration import expected_calibration_error
from truthset.consensus.aggregation.families import FAMILIES, simulate_family

SIZES = {"many-classes": 600}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request):
    name = request.param
    crowd = simulate_family(name, n_tasks=SIZES.get(name, 1200), random_state=11)
    auto = AutoAggregator().fit(crowd.answers)
    generating = AGGREGATORS[FAMILIES[name].model](random_state=0).fit(crowd.answers)
    return name, crowd, auto, generating


def test_auto_comes_within_half_a_point_of_the_generating_model(family):
    name, crowd, auto, generating = family
    auto_accuracy = np.mean(auto.predict() == crowd.truth)
    generating_accuracy = np.mean(generating.predict() == crowd.truth)
    assert auto_accuracy >= generating_accuracy - 0.005, (name, auto.method_, auto.report_)


def test_auto_confidences_are_calibrated(family):
    name, crowd, auto, _ = family
    proba = auto.predict_proba()
    right = auto.predict() == crowd.truth
    assert expected_calibration_error(proba.max(axis=1), right) <= 0.05, name


def test_families_follow_their_stories():
    spam = simulate_family("spammers", n_tasks=400, random_state=0)
    assert spam.answers.n_classes == 3 and spam.answers.n_tasks == 400
    sparse = simulate_family("sparse", n_tasks=2000, random_state=0)
    per_worker = np.bincount(sparse.answers.workers, minlength=sparse.answers.n_workers)
    assert np.median(per_worker[per_worker > 0]) <= 3 < per_worker.max() / 10  # a long tail
    per_task = np.bincount(sparse.answers.tasks)
    assert per_task.min() == 1 and per_task.max() == 5
    pairs = sparse.answers.tasks * sparse.answers.n_workers + sparse.answers.workers
    assert len(np.unique(pairs)) == len(pairs)  # distinct workers per task
    many = simulate_family("many-classes", n_tasks=300, random_state=0)
    assert many.answers.n_classes == 20
    with pytest.raises(ValueError, match="unknown family"):
        simulate_family("nope")
