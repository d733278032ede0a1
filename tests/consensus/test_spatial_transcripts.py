import pytest

from truthset.consensus.spatial import TranscriptionConsolidator
from truthset.consensus.spatial.transcripts import _Slot, align


def test_rover_substitution_vote():
    model = TranscriptionConsolidator().fit(
        ["the cat sat on the mat", "the cat sat on mat", "the bat sat on the mat"]
    )
    assert model.label_ == {"transcription": "the cat sat on the mat"}
    assert [w["confidence"] for w in model.metadata_["words"]] == pytest.approx(
        [1, 2 / 3, 1, 1, 2 / 3, 1], abs=1e-4
    )
    assert model.confidence_ == pytest.approx((4 + 2 / 3 + 2 / 3) / 6)


def test_rover_insertion_outvoted_by_null_arcs():
    model = TranscriptionConsolidator().fit(["a b c", "a b x c", "a b c"])
    assert model.words_ == ["a", "b", "c"]
    assert model.slots_[2] == {"x": 1.0, None: 2.0}
    assert model.confidence_ == pytest.approx((1 + 1 + 2 / 3 + 1) / 4)


def test_rover_deletion_by_majority():
    model = TranscriptionConsolidator().fit(
        ["please call stella", "call stella", "call stella now"]
    )
    assert model.label_["transcription"] == "call stella"


def test_skill_weights_decide_between_two_workers():
    answers = ["hello world", "hello word"]
    assert TranscriptionConsolidator().fit(answers).words_ == ["hello", "world"]  # tie: first
    model = TranscriptionConsolidator().fit(answers, ["a", "b"], skills={"a": 0.5, "b": 1.0})
    assert model.words_ == ["hello", "word"]
    assert model.word_confidences_[1] == pytest.approx(1 / 1.5)


def test_case_folding_keeps_the_most_weighted_form():
    model = TranscriptionConsolidator().fit(["The cat", "the cat", "the Cat"])
    assert model.label_["transcription"] == "the cat"
    assert model.confidence_ == 1.0
    strict = TranscriptionConsolidator(case_sensitive=True).fit(["The cat", "The cat", "the cat"])
    assert strict.slots_[0] == {"The": 2.0, "the": 1.0}
    punct = TranscriptionConsolidator(ignore_punctuation=True).fit(
        ["hi, there", "hi there", "hi there."]
    )
    assert punct.words_ == ["hi", "there"]


def test_answer_shapes_and_single_worker():
    model = TranscriptionConsolidator().fit([{"transcription": "one two"}])
    assert model.label_ == {"transcription": "one two"}
    assert model.confidence_ == 0.0
    assert model.metadata_["words"] == [
        {"word": "one", "confidence": 0.0},
        {"word": "two", "confidence": 0.0},
    ]
    with pytest.raises(ValueError, match="no text field"):
        TranscriptionConsolidator().fit([{"audio": 3, "other": 1}])


def test_align_to_network():
    slots = []
    for word in ["a", "b", "c"]:
        s = _Slot()
        s.add(word, word, 1.0)
        slots.append(s)
    assert align(slots, ["a", "c"]) == [(0, 0), (1, None), (2, 1)]
    assert align(slots, ["a", "b", "z", "c"]) == [(0, 0), (1, 1), (None, 2), (2, 3)]
