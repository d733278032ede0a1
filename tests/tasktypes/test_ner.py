import pytest

from tasktypes.gt_shapes import NER, assert_same_shape, type_meta
from truthset.errors import BadInput
from truthset.tasktypes import WorkerAnswer, get_task_type

T = get_task_type("named-entity-recognition")
RAW = {
    "document-version": "2018-11-28",
    "labels": [
        {"label": "Date", "shortDisplayName": "dt"},
        {"label": "Thing", "shortDisplayName": "tng"},
    ],
    "instructions": {"shortInstruction": "<p>Tag</p>", "fullInstruction": "<p>Tag all</p>"},
}
CONFIG = T.parse_label_config(RAW)
# Code points, not UTF-16 units: the emoji counts as one.
TEXT = "🎉 Amazon SageMaker launched on 29 November 2017 in Las Vegas"
ITEM = {"source": TEXT}


def span(label, word):
    start = TEXT.index(word)
    return {"label": label, "startOffset": start, "endOffset": start + len(word)}


def ents(*spans, **extra):
    return {"entities": list(spans), **extra}


def test_type_facts():
    assert T.output_type == "groundtruth/text-span" and T.media == "text"
    assert not T.supports_auto_labeling


def test_label_config():
    assert CONFIG.labels == ("Date", "Thing")
    assert CONFIG.short_names == {"Date": "dt", "Thing": "tng"}
    T.parse_label_config(["Person"])  # instructions are optional
    with pytest.raises(BadInput, match=r"labels\[0\]\.shortDisplayName 7 must be text"):
        T.parse_label_config({"labels": [{"label": "A", "shortDisplayName": 7}]})
    with pytest.raises(BadInput, match=r"instructions\.longInstruction is not a known field"):
        T.parse_label_config({"labels": [{"label": "A"}], "instructions": {"longInstruction": ""}})
    with pytest.raises(BadInput, match="instructions must be an object"):
        T.parse_label_config({"labels": [{"label": "A"}], "instructions": "read me"})


def test_valid_answer_counts_code_points():
    s = span("Thing", "Amazon SageMaker")
    assert s["startOffset"] == 2  # "🎉 " is two code points
    out = T.validate_answer({"crowd-entity-annotation": ents(s)}, CONFIG, ITEM)
    assert out == {"entities": [s]}


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        (
            {"label": "Date", "startOffset": 40, "endOffset": 70},
            r"answer\.entities\[0\]\.endOffset: 70 is outside the text \(length 60\)",
        ),
        (
            {"label": "Date", "startOffset": 5, "endOffset": 5},
            r"answer\.entities\[0\]\.endOffset: 5 is not after startOffset 5 \(empty span\)",
        ),
        (
            {"label": "Date", "startOffset": 8, "endOffset": 3},
            r"answer\.entities\[0\]\.endOffset: 3 is not after startOffset 8",
        ),
        (
            {"label": "Date", "startOffset": 1, "endOffset": 2},
            r"answer\.entities\[0\]: span 1-2 is only whitespace",
        ),
        (
            {"label": "Place", "startOffset": 0, "endOffset": 2},
            r"answer\.entities\[0\]\.label: 'Place' is not in the label list",
        ),
        (
            {"label": "Date", "startOffset": 1.5, "endOffset": 4},
            r"answer\.entities\[0\]\.startOffset: 1\.5 is not an integer offset",
        ),
        (
            {"label": "Date", "startOffset": -1, "endOffset": 4},
            r"answer\.entities\[0\]\.startOffset: -1 is outside the text",
        ),
    ],
)
def test_bad_spans(entity, message):
    assert len(TEXT) == 60
    with pytest.raises(BadInput, match=message):
        T.validate_answer(ents(entity), CONFIG, ITEM)


def test_needs_inline_text():
    with pytest.raises(BadInput, match=r"needs inline text \('source'\)"):
        T.validate_answer(ents(), CONFIG, {"source-ref": "/x.txt"})


def test_consolidation_matches_gt_shape():
    date = span("Date", "29 November 2017")
    answers = [
        WorkerAnswer(1, ents(span("Thing", "Amazon SageMaker"), date)),
        WorkerAnswer(2, ents(span("Thing", "Amazon SageMaker"), date)),
        WorkerAnswer(3, ents({**date, "label": "Thing"})),
    ]
    result = T.consolidate(answers, CONFIG, {})
    assert_same_shape(result.value, NER["ner-labeling-job-attribute-name"])
    assert_same_shape(result.meta, type_meta(NER, "ner-labeling-job-attribute-name"))
    assert result.value["annotations"]["labels"] == RAW["labels"]
    assert result.value["annotations"]["entities"] == [span("Thing", "Amazon SageMaker"), date]
    conf = [e["confidence"] for e in result.meta["entities"]]
    assert conf[0] == pytest.approx(2 / 3, abs=1e-3)  # 2 of 3 workers
    assert conf[1] == pytest.approx(2 / 3, abs=1e-3)  # all 3 found it, 2 agree on the label


def test_a_single_workers_entities_carry_the_workers_confidence():
    one = [WorkerAnswer(1, ents(span("Thing", "Amazon SageMaker")), 0.8)]
    result = T.consolidate(one, CONFIG, {})
    assert [e["confidence"] for e in result.meta["entities"]] == [0.8]  # not 0.0
    prior = T.consolidate([WorkerAnswer(1, ents(span("Date", "29 November 2017")))], CONFIG, {})
    assert [e["confidence"] for e in prior.meta["entities"]] == [0.5] == [prior.confidence]


def test_end_to_end(engine):
    engine.dataset("texts", [{"id": "t", "source": TEXT}])
    engine.job("ner", "named-entity-recognition", RAW, dataset="texts", workers_per_item=2)
    engine.work("ner", lambda w, item: ents(span("Date", "29 November 2017")), workers=["w0", "w1"])
    (line,) = engine.export("ner")
    assert line["source"] == TEXT
    ref = {
        "source": NER["source"],
        "id": "t",
        "ner": NER["ner-labeling-job-attribute-name"],
        "ner-metadata": NER["ner-labeling-job-attribute-name-metadata"],
    }
    assert_same_shape(line, ref)
    assert line["ner"]["annotations"]["entities"] == [span("Date", "29 November 2017")]
    assert line["ner-metadata"]["entities"] == [{"confidence": 1.0}]
    assert line["ner-metadata"]["type"] == "groundtruth/text-span"
