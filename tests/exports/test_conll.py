"""CoNLL exports: the tokenizer (punctuation split, offsets kept), BIO tags, and an export
with nothing to write refused with the reason."""

from __future__ import annotations

from itertools import pairwise

import pytest

from support import answer_tasks, bearer, job_over_items
from truthset.api.tokens import issue_token
from truthset.errors import BadInput
from truthset.exports.conll import conll_block, tokenize
from truthset.exports.formats import get_exporter
from truthset.jobs.service import get_job
from truthset.workforce.service import create_user


def export(ws, job: str) -> tuple[int, bytes]:
    out: list[bytes] = []
    exporter = get_exporter("conll")
    with ws.db.session_scope(write=False) as s:
        the_job = get_job(s, job)
        exporter.check_job(the_job)  # as the API and the export run do
        n = exporter.export(s, the_job, lambda chunks: out.extend(chunks), now=0)
    return n, b"".join(out)


def words(text: str) -> list[str]:
    return [text[a:b] for a, b in tokenize(text)]


def test_punctuation_is_split_from_words_and_offsets_are_kept():
    text = "Macron, the U.S. envoy, met Dr. Smith in Berlin. It costs $1,000.50 (at 12:30)..."
    assert words(text) == [
        "Macron", ",", "the", "U.S.", "envoy", ",", "met", "Dr.", "Smith", "in", "Berlin",
        ".", "It", "costs", "$", "1,000.50", "(", "at", "12:30", ")", "...",
    ]  # fmt: skip
    assert words("Macron's plan isn't bad — see https://example.org/a?b=1.") == [
        "Macron", "'s", "plan", "isn't", "bad", "—", "see", "https://example.org/a?b=1", ".",
    ]  # fmt: skip
    assert words("“Zürich’s” café, 3.5km; mail a.b@x.org!") == [
        "“", "Zürich", "’s", "”", "café", ",", "3.5km", ";", "mail", "a.b@x.org", "!",
    ]  # fmt: skip
    # Offsets are code points of the text: every token is the text there, in order, and
    # what lies between tokens is white space only.
    text = "Ünïcode 🙂 text: 😀ok, ‘quoted’."
    spans = tokenize(text)
    assert all(a < b for a, b in spans)
    assert all(text[e:s].isspace() or e == s for (_, e), (s, _) in pairwise(spans))
    assert "".join(text[a:b] for a, b in spans) == "".join(text.split())


def test_a_span_that_ends_inside_a_token_cuts_it():
    text = "The Berlin-based firm"
    block = conll_block("x", text, [{"label": "LOC", "startOffset": 4, "endOffset": 10}])
    assert block.splitlines()[1:-1] == [
        "The\tO", "Berlin\tB-LOC", "-based\tO", "firm\tO",
    ]  # fmt: skip


def test_conll_tags_adjacent_and_overlapping_spans():
    text = "New York City"
    # Two spans of one label side by side are two entities; where spans overlap, the one
    # that starts first (the longer when tied) takes the tokens.
    adjacent = [
        {"label": "LOC", "startOffset": 0, "endOffset": 3},
        {"label": "LOC", "startOffset": 4, "endOffset": 13},
    ]
    assert conll_block("x", text, adjacent).splitlines()[1:-1] == [
        "New\tB-LOC",
        "York\tB-LOC",
        "City\tI-LOC",
    ]
    overlapping = [
        {"label": "ORG", "startOffset": 4, "endOffset": 8},
        {"label": "LOC", "startOffset": 0, "endOffset": 13},
    ]
    assert conll_block("x", text, overlapping).splitlines()[1:-1] == [
        "New\tB-LOC",
        "York\tI-LOC",
        "City\tI-LOC",
    ]


def test_entities_as_conll(any_ws):
    ws = any_ws
    with ws.db.session_scope() as s:
        create_user(s, "w", role="worker", teams=["t"])
    texts = {"a": "Ada Lovelace met Charles Babbage in London.", "b": "Nothing here"}
    job_over_items(
        ws,
        "ner",
        [{"id": k, "source": v} for k, v in texts.items()],
        ["PER", "LOC"],
        task_type="named-entity-recognition",
    )
    spans = {
        "a": [
            {"label": "PER", "startOffset": 0, "endOffset": 12},
            {"label": "PER", "startOffset": 17, "endOffset": 32},
            {"label": "LOC", "startOffset": 36, "endOffset": 42},
        ],
        "b": [],
    }
    answer_tasks(ws, "ner", "w", lambda i: {"entities": spans[i]})
    n, body = export(ws, "ner")
    assert n == 2
    assert body.decode() == (
        "# id = a\nAda\tB-PER\nLovelace\tI-PER\nmet\tO\nCharles\tB-PER\nBabbage\tI-PER\n"
        "in\tO\nLondon\tB-LOC\n.\tO\n\n# id = b\nNothing\tO\nhere\tO\n\n"
    )


def test_an_export_with_nothing_to_write_is_refused_with_the_reason(ws, client):
    with ws.db.session_scope() as s:
        admin = issue_token(s, create_user(s, "boss", role="admin"))
    job_over_items(
        ws,
        "ner",
        [{"id": "a", "source": "Ada"}],
        ["PER", "LOC"],
        task_type="named-entity-recognition",
        teams=(),
    )
    with pytest.raises(BadInput, match="nothing to export: no item of job 'ner' has a"):
        export(ws, "ner")
    r = client.post("/api/jobs/ner/exports", json={"format": "conll"}, headers=bearer(admin))
    assert r.status_code == 400, r.text
    assert r.json() == {
        "error": "bad_input",
        "detail": "nothing to export: no item of job 'ner' has a consolidated label yet "
        "(a CoNLL file holds labeled items only)",
    }
    runs = client.get("/api/runs", headers=bearer(admin))
    assert all(run["kind"] != "export" for run in runs.json())  # no run was started
