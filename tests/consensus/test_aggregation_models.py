"""MACE, zero-based skill and BCC: what each model is for."""

from __future__ import annotations

import numpy as np

from truthset.consensus.aggregation import BCC, MACE, DawidSkene, MajorityVote, ZeroBasedSkill
from truthset.consensus.aggregation.families import simulate_family
from truthset.consensus.aggregation.simulate import simulate_crowd


def test_mace_tells_spammers_from_competent_workers():
    crowd = simulate_family("spammers", n_tasks=1500, random_state=4)
    mace = MACE().fit(crowd.answers)
    mv = MajorityVote().fit(crowd.answers)
    assert np.mean(mace.predict() == crowd.truth) > np.mean(mv.predict() == crowd.truth) + 0.03
    np.testing.assert_allclose(mace.confusion_matrices_.sum(axis=2), 1.0)
    assert mace.competences_.shape == (crowd.answers.n_workers,)
    # Workers whose answers are right less than half the time are found less competent.
    low = crowd.skills < 0.5
    assert mace.competences_[low].mean() < mace.competences_[~low].mean() - 0.3


def test_zero_based_skill_starts_at_chance_and_learns_agreement():
    crowd = simulate_crowd(n_tasks=400, n_workers=20, answers_per_task=5, random_state=3)
    zbs = ZeroBasedSkill(max_iter=1).fit(crowd.answers)
    # One step with rate 1 moves 1/K to each worker's agreement with the first vote.
    first_vote = ZeroBasedSkill(max_iter=0).fit(crowd.answers)
    np.testing.assert_allclose(first_vote.skills_, 1 / 3 + 1e-5)
    assert np.all(zbs.skills_ > 0.4)
    full = ZeroBasedSkill().fit(crowd.answers)
    assert full.n_iter_ < 100  # stopped once skills stopped moving
    mv = MajorityVote().fit(crowd.answers)
    assert np.mean(full.predict() == crowd.truth) >= np.mean(mv.predict() == crowd.truth)


def test_bcc_shrinks_sparse_workers_to_the_crowd_and_lets_busy_ones_differ():
    crowd = simulate_family("sparse", n_tasks=2000, random_state=5)
    a = crowd.answers
    bcc = BCC().fit(a)
    ds = DawidSkene().fit(a)
    assert np.mean(bcc.predict() == crowd.truth) >= np.mean(ds.predict() == crowd.truth)
    n = a.answers_per_worker
    few = (n > 0) & (n <= 2)
    # A worker with one or two answers stays near the crowd's matrix under BCC, not under DS.
    gap_bcc = np.abs(bcc.confusion_matrices_[few] - bcc.pooled_confusion_).max(axis=(1, 2))
    gap_ds = np.abs(ds.confusion_matrices_[few] - bcc.pooled_confusion_).max(axis=(1, 2))
    assert gap_bcc.mean() < gap_ds.mean()
    assert np.all(bcc.prior_strength_ > 0)
    fixed = BCC(strength=3.0).fit(a)
    np.testing.assert_allclose(fixed.prior_strength_, 3.0)
