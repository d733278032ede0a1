import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from truthset.consensus.spatial import (
    SegmentConsolidator,
    match_intervals,
    temporal_iou,
    temporal_iou_matrix,
)
from truthset.consensus.spatial.segments import weighted_median

LABELS = ["alice", "bob", "dog"]


def seg(label, start, end, text=None):
    out = {"start": start, "end": end, "label": label}
    if text is not None:
        out["text"] = text
    return out


def answer(*segments):
    return {"segments": list(segments)}


def test_temporal_iou():
    assert temporal_iou((0, 2), (0, 2)) == 1.0
    assert temporal_iou((0, 2), (1, 3)) == pytest.approx(1 / 3)
    assert temporal_iou((0, 1), (1, 2)) == 0.0  # touching is not overlapping
    m = temporal_iou_matrix(np.array([[0, 2], [5, 6]]), np.array([[1, 3], [0, 2], [9, 10]]))
    assert m.shape == (2, 3)
    assert m[0].tolist() == pytest.approx([1 / 3, 1.0, 0.0])
    assert m[1].tolist() == [0.0, 0.0, 0.0]


def _brute_force_total(a, b, threshold):
    sim = temporal_iou_matrix(a, b)
    ok = sim >= threshold
    rows, cols = linear_sum_assignment(np.where(ok, -sim, 1e6))
    return sum(sim[r, c] for r, c in zip(rows, cols, strict=True) if ok[r, c])


@pytest.mark.parametrize("seed", range(20))
def test_match_intervals_equals_hungarian_on_every_pair(seed):
    """The sweep's groups lose nothing: the same best total as Hungarian on the full matrix,
    one to one, each pair above the threshold."""
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 40, size=2)
    a0 = rng.uniform(0, 30, n)
    b0 = rng.uniform(0, 30, m)
    a = np.column_stack([a0, a0 + rng.uniform(0.1, 4, n)])
    b = np.column_stack([b0, b0 + rng.uniform(0.1, 4, m)])
    pairs = match_intervals(a, b, 0.3)
    assert len({i for i, _, _ in pairs}) == len(pairs) == len({j for _, j, _ in pairs})
    for i, j, iou in pairs:
        assert iou == pytest.approx(temporal_iou(a[i], b[j])) and iou >= 0.3
    assert sum(p[2] for p in pairs) == pytest.approx(_brute_force_total(a, b, 0.3))


def test_match_intervals_empty_sides():
    assert match_intervals(np.zeros((0, 2)), np.array([[0, 1]]), 0.5) == []
    assert match_intervals(np.array([[0, 1]]), np.zeros((0, 2)), 0.5) == []


def test_weighted_median():
    assert weighted_median([1.0, 2.0, 10.0], [1, 1, 1]) == 2.0
    assert weighted_median([1.0, 2.0], [1, 1]) == 1.5  # an even split: the midpoint
    assert weighted_median([1.0, 2.0, 10.0], [0.2, 0.2, 0.9]) == 10.0
    assert weighted_median([3.0, 1.0, 2.0, 4.0], [1, 1, 1, 1]) == 2.5


def _simulate(truth, n_workers, jitter, rng, drop=0.0):
    """Each worker marks every true segment with Gaussian boundary jitter (seconds)."""
    answers = []
    for _ in range(n_workers):
        segments = []
        for label, start, end in truth:
            if rng.random() < drop:
                continue
            s = max(0.0, start + rng.normal(0, jitter))
            e = max(s + 0.01, end + rng.normal(0, jitter))
            segments.append(seg(label, round(s, 3), round(e, 3)))
        answers.append(answer(*segments))
    return answers


def test_known_truth_boundary_error_and_iou():
    """Five workers with 40 ms of boundary jitter: the median boundaries are within
    ~20 ms of the truth, every segment found with its label, IoU above 0.97."""
    rng = np.random.default_rng(7)
    truth = []
    t = 0.5
    for k in range(60):
        length = rng.uniform(0.8, 3.0)
        truth.append((LABELS[k % 3], round(t, 3), round(t + length, 3)))
        t += length + rng.uniform(0.2, 1.0)
    answers = _simulate(truth, 5, 0.04, rng, drop=0.1)
    model = SegmentConsolidator(labels=LABELS).fit(answers)
    got = model.label_["segments"]
    assert len(got) == len(truth)
    errors_ms, ious = [], []
    for (label, start, end), out in zip(truth, got, strict=True):
        assert out["label"] == label
        errors_ms += [abs(out["start"] - start) * 1000, abs(out["end"] - end) * 1000]
        ious.append(temporal_iou((start, end), (out["start"], out["end"])))
        assert 0 < out["confidence"] <= 1
    assert np.median(errors_ms) < 25 and max(errors_ms) < 120
    assert np.mean(ious) > 0.97
    # One worker alone is off by 40 ms on average: consolidation does better.
    alone = [
        abs(s["start"] - start) * 1000
        for s, (_, start, _) in zip(answers[0]["segments"], truth, strict=False)
    ]
    assert np.median(errors_ms) < np.median(alone)


def test_skill_weighted_median_boundaries():
    answers = [
        answer(seg("alice", 1.0, 3.0)),
        answer(seg("alice", 1.4, 3.4)),
        answer(seg("alice", 1.4, 3.4)),
    ]
    equal = SegmentConsolidator(labels=LABELS).fit(answers).label_["segments"][0]
    assert (equal["start"], equal["end"]) == (1.4, 3.4)
    trusted = SegmentConsolidator(labels=LABELS).fit(
        answers, worker_ids=["a", "b", "c"], skills={"a": 1.0, "b": 0.3, "c": 0.3}
    )
    assert tuple(trusted.segments_[0]) == (1.0, 3.0)
    two = SegmentConsolidator(labels=LABELS).fit(answers[:2])
    assert tuple(two.segments_[0]) == (1.2, 3.2)  # an even split: the midpoints


def test_matching_is_per_label():
    """Two speakers talking at once are two segments, not one cluster."""
    answers = [
        answer(seg("alice", 0, 2), seg("bob", 0.1, 2.1)),
        answer(seg("alice", 0.05, 2), seg("bob", 0, 2)),
    ]
    model = SegmentConsolidator(labels=LABELS).fit(answers)
    assert [s["label"] for s in model.label_["segments"]] == ["alice", "bob"]
    assert all(len(c) == 2 for c in model.clusters_)


def test_iou_threshold_and_min_support():
    answers = [
        answer(seg("dog", 0, 1), seg("dog", 5, 6)),
        answer(seg("dog", 0, 1)),
        answer(seg("dog", 0.6, 1.6)),  # IoU 0.25 with the others: its own cluster
    ]
    model = SegmentConsolidator(labels=LABELS).fit(answers)
    assert [(s["start"], s["end"]) for s in model.label_["segments"]] == [(0, 1)]
    assert model.n_dropped_ == 2
    loose = SegmentConsolidator(labels=LABELS, iou_threshold=0.2).fit(answers)
    assert len(loose.clusters_) == 1 and len(loose.clusters_[0]) == 3
    everything = SegmentConsolidator(labels=LABELS, min_support=1).fit(answers)
    assert len(everything.label_["segments"]) == 3


def test_confidence_is_support_times_mean_iou():
    answers = [answer(seg("alice", 0, 2)), answer(seg("alice", 0, 2)), answer()]
    model = SegmentConsolidator(labels=LABELS).fit(answers)
    assert model.label_["segments"][0]["confidence"] == round(2 / 3, 4)
    assert model.confidences_[0] == pytest.approx(2 / 3)
    # Whole seconds come out as ints, as answers store them.
    assert [type(model.label_["segments"][0][k]) for k in ("start", "end")] == [int, int]
    single = SegmentConsolidator(labels=LABELS).fit(answers[:1])
    assert single.label_["segments"][0]["confidence"] == 0.0  # one worker, as Ground Truth
    assert single.metadata_ == {"class-map": {"0": "alice"}}


def test_nothing_heard():
    model = SegmentConsolidator(labels=LABELS).fit([answer(), answer()])
    assert model.label_ == {"segments": []}
    assert model.metadata_ == {"class-map": {}}
    assert model.segments_.shape == (0, 2)


def test_texts_by_word_voting_per_segment():
    answers = [
        answer(seg("alice", 0, 2, "the cat sat"), seg("bob", 3, 4, "yes")),
        answer(seg("alice", 0, 2, "the cat sat"), seg("bob", 3, 4, "yes")),
        answer(seg("alice", 0, 2, "a cat sat"), seg("bob", 3, 4, "yes")),
    ]
    model = SegmentConsolidator(labels=LABELS, with_text=True).fit(answers)
    alice, bob = model.label_["segments"]
    assert alice["text"] == "the cat sat" and bob["text"] == "yes"
    # Same times and support: the disputed word lowers alice's confidence only.
    assert bob["confidence"] == pytest.approx(1.0)
    assert alice["confidence"] < bob["confidence"]
    assert model.texts_ == ["the cat sat", "yes"]
    no_text = SegmentConsolidator(labels=LABELS).fit(answers)
    assert "text" not in no_text.label_["segments"][0]


def test_overlaps_removed_when_not_allowed():
    answers = [
        answer(seg("alice", 0, 2.2), seg("bob", 2.0, 4), seg("dog", 5, 9), seg("bob", 6, 7)),
        answer(seg("alice", 0, 2.2), seg("bob", 2.0, 4), seg("dog", 5, 9)),
    ]
    allowed = SegmentConsolidator(labels=LABELS, min_support=1).fit(answers)
    assert len(allowed.label_["segments"]) == 4
    model = SegmentConsolidator(labels=LABELS, min_support=1, allow_overlap=False).fit(answers)
    got = [(s["label"], s["start"], s["end"]) for s in model.label_["segments"]]
    # Cut at the middle of the overlap; the less sure segment inside the dog is dropped.
    assert got == [("alice", 0, 2.1), ("bob", 2.1, 4), ("dog", 5, 9)]
    assert model.n_cut_ == 2
    for a, b in zip(got, got[1:], strict=False):
        assert a[2] <= b[1]


def test_errors_name_the_field():
    with pytest.raises(ValueError, match=r"segments\[0\]\.label: label 'cat'"):
        SegmentConsolidator(labels=LABELS).fit([answer(seg("cat", 0, 1))])
    with pytest.raises(ValueError, match=r"segments\[1\]: start must be before end"):
        SegmentConsolidator(labels=LABELS).fit([answer(seg("dog", 0, 1), seg("dog", 2, 2))])
    with pytest.raises(ValueError, match="empty"):
        SegmentConsolidator(labels=LABELS).fit([])
    with pytest.raises(ValueError, match="iou_threshold"):
        SegmentConsolidator(iou_threshold=0).fit([answer()])


def test_refit_is_deterministic_and_inputs_unchanged():
    rng = np.random.default_rng(3)
    truth = [("alice", 0.0, 1.0), ("bob", 1.5, 2.5), ("alice", 3.0, 5.0)]
    answers = _simulate(truth, 4, 0.05, rng)
    before = repr(answers)
    model = SegmentConsolidator(labels=LABELS, with_text=True)
    first = model.fit(answers).label_
    assert SegmentConsolidator(labels=LABELS, with_text=True).fit(answers).label_ == first
    assert repr(answers) == before
    assert model.get_params()["iou_threshold"] == 0.5
