import pytest

from truthset.consensus.spatial import NamedEntityConsolidator, span_jaccard
from truthset.consensus.spatial.spans import weighted_mode_or_median

LABELS = [
    {"label": "Person", "shortDisplayName": "per"},
    {"label": "Org", "shortDisplayName": "org"},
]


def ent(label, start, end):
    return {"label": label, "startOffset": start, "endOffset": end}


def answer(*entities):
    return {"entities": list(entities)}


def test_span_jaccard():
    assert span_jaccard((0, 10), (0, 10)) == 1.0
    assert span_jaccard((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert span_jaccard((0, 5), (5, 10)) == 0.0


def test_mode_when_clear_median_otherwise():
    import numpy as np

    assert weighted_mode_or_median(np.array([0, 0, 2]), np.ones(3)) == 0
    assert weighted_mode_or_median(np.array([0, 2, 4]), np.ones(3)) == 2
    assert weighted_mode_or_median(np.array([0, 2]), np.ones(2)) == 0  # lower median on a tie
    assert weighted_mode_or_median(np.array([0, 2, 4]), np.array([0.2, 0.2, 0.9])) == 4


def test_boundaries_by_mode_label_by_majority():
    answers = [
        answer(ent("Person", 0, 10), ent("Org", 20, 30)),
        answer(ent("Person", 0, 10), ent("Org", 21, 31)),
        answer(ent("Org", 2, 12), ent("Org", 22, 32)),
    ]
    model = NamedEntityConsolidator(labels=LABELS).fit(answers)
    assert model.label_ == {
        "annotations": {
            "labels": LABELS,
            "entities": [ent("Person", 0, 10), ent("Org", 21, 31)],  # second: medians
        }
    }
    j = [1.0, 1.0, span_jaccard((2, 12), (0, 10))]
    assert model.confidences_[0] == pytest.approx(2 / 3 * sum(j) / 3)
    assert len(model.metadata_["entities"]) == 2


def test_span_by_one_worker_dropped_unless_min_support_allows():
    answers = [
        answer(ent("Person", 0, 10), ent("Org", 40, 50)),
        answer(ent("Person", 0, 10)),
        answer(ent("Person", 1, 10)),
    ]
    assert len(NamedEntityConsolidator().fit(answers).spans_) == 1
    assert len(NamedEntityConsolidator(min_support=1).fit(answers).spans_) == 2


def test_low_jaccard_spans_stay_apart():
    answers = [answer(ent("Person", 0, 10)), answer(ent("Person", 8, 20))]
    model = NamedEntityConsolidator(min_support=1).fit(answers)
    assert model.spans_.tolist() == [[0, 10], [8, 20]]


def test_skill_weights_change_label_and_boundaries():
    answers = [
        answer(ent("Person", 0, 10)),
        answer(ent("Person", 0, 10)),
        answer(ent("Org", 0, 14)),
    ]
    ids = ["a", "b", "c"]
    plain = NamedEntityConsolidator().fit(answers, ids)
    assert plain.label_["annotations"]["entities"] == [ent("Person", 0, 10)]
    skilled = NamedEntityConsolidator().fit(answers, ids, skills={"a": 0.3, "b": 0.3, "c": 1.0})
    assert skilled.label_["annotations"]["entities"] == [ent("Org", 0, 14)]


def test_text_span_output_without_label_config():
    model = NamedEntityConsolidator().fit([answer(ent("Date", 3, 9))] * 2)
    assert model.label_["annotations"]["labels"] == [{"label": "Date"}]
    assert model.metadata_ == {"entities": [{"confidence": 1.0}]}
