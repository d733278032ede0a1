"""CoNLL (BIO) from a named-entity job: one token per line, `token<TAB>tag`, a blank line
after each item, and a `# id = <item id>` comment before it.

Tokens come from `tokenize`, a rule-based word tokenizer in the manner of the Penn
Treebank's (no model, nothing to download): punctuation is split from words (`Macron.`
is `Macron` `.`, `Berlin,` is `Berlin` `,`), the possessive `'s` is its own token, and
numbers (`1,000.5`), initialisms (`U.S.`), common abbreviations (`Dr.`), URLs and e-mail
addresses stay whole. Every token keeps its code-point offsets in the text, and a token
that a span starts or ends inside is cut there, so each span is exactly a run of tokens.
A token in a span is `B-<label>` when it starts the span, `I-<label>` otherwise; tokens
outside every span are `O`. CoNLL has one tag per token, so where spans overlap the one
that starts first wins (the longer one when they start together).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, object_session

from truthset.errors import BadInput
from truthset.exports import repository
from truthset.exports.formats import Exporter
from truthset.exports.labels import labeled_items, write_pieces
from truthset.store.models import Job

# Abbreviations whose period belongs to them (case-sensitive, as written in running text).
_ABBREVIATIONS = (
    "Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|Gen|Col|Lt|Sgt|Capt|Gov|Sen|Rep|Rev|Hon|"
    "Inc|Ltd|Co|Corp|Bros|No|vs|etc|approx|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
# The first alternative that matches at a position is the token; the order matters.
_TOKEN = re.compile(
    r"(?:https?://|www\.)[^\s<>\"]+?(?=[.,;:!?)\]}'\"]*(?:\s|$))"  # URLs, less end punctuation
    r"|[\w.+-]+@\w[\w-]*(?:\.\w[\w-]*)+"  # e-mail addresses
    rf"|(?<!\w)(?:{_ABBREVIATIONS})\.(?=\s|$)"  # Dr. Inc. etc.
    r"|(?<!\w)(?:[^\W\d_]\.){2,}"  # initialisms: U.S. e.g.
    r"|\d+(?:[.,:/]\d+)*\w*"  # numbers: 3.5 1,000 12:30 1/2 (and 2nd, 3.5km, 1990s)
    r"|\w+(?:-\w+|['’](?![sS]\b)\w+)*"  # words, also hyphenated and with inner apostrophes
    r"|['’][sS]\b"  # the possessive 's (and the clitic of it's)
    r"|([^\w\s])\1*",  # punctuation: one mark, or a run of the same one (... --)
)


def tokenize(text: str) -> list[tuple[int, int]]:
    """The (start, end) code-point offsets of the tokens of `text`, in order."""
    return [m.span() for m in _TOKEN.finditer(text)]


def _cut_at_spans(
    tokens: list[tuple[int, int]], spans: list[tuple[int, int, str]]
) -> list[tuple[int, int]]:
    """Cut tokens where a span starts or ends inside them (an entity "Berlin" in
    "Berlin-based" becomes its own token)."""
    cuts = sorted({s[0] for s in spans} | {s[1] for s in spans})
    if not cuts:
        return tokens
    out: list[tuple[int, int]] = []
    for start, end in tokens:
        inside = [c for c in cuts if start < c < end]
        for c in inside:
            out.append((start, c))
            start = c
        out.append((start, end))
    return out


def export_conll(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    now: float = 0.0,
    labeled_only: bool = True,
    artifact_sink: Any = None,
) -> int:
    """Write a named-entity job's labels as CoNLL; returns how many items."""
    pieces = (
        conll_block(
            item.external_id,
            item.data.get("source", ""),
            (item.value.get("annotations") or {}).get("entities") or [],
        ).encode()
        for item in labeled_items(session, job)
    )
    return write_pieces(write, pieces, progress)


def conll_block(item_id: str, text: str, entities: list[dict[str, Any]]) -> str:
    """One item as CoNLL lines."""
    spans = sorted(
        ((int(e["startOffset"]), int(e["endOffset"]), str(e["label"])) for e in entities),
        key=lambda s: (s[0], -(s[1] - s[0])),
    )
    lines = [f"# id = {_one_line(item_id)}"]
    taken: list[tuple[int, int, str]] = []  # spans that won their tokens
    for start, end in _cut_at_spans(tokenize(text), spans):
        tag = "O"
        for span in spans:
            if span[0] < end and start < span[1]:  # the token overlaps the span
                if taken and taken[-1] == span:
                    tag = f"I-{span[2]}"
                else:
                    tag = f"B-{span[2]}"
                    taken.append(span)
                break
        lines.append(f"{text[start:end]}\t{_one_line(tag)}")
    return "\n".join(lines) + "\n\n"


def _one_line(value: str) -> str:
    return " ".join(value.split())


@dataclass(frozen=True)
class ConllExporter(Exporter):
    """CoNLL holds labeled items only: a job with none would give an empty file, so the
    export is refused up front, before a run starts, with the reason."""

    def check_job(self, job: Any) -> None:
        super().check_job(job)
        session = object_session(job)
        if session is not None and not repository.has_labels(session, job.id):
            raise BadInput(
                f"nothing to export: no item of job {job.name!r} has a consolidated label "
                "yet (a CoNLL file holds labeled items only)"
            )


CONLL = ConllExporter(
    "conll",
    ".conll",
    "CoNLL BIO tags, one token per line (named-entity jobs)",
    export_conll,
    ("named-entity-recognition",),
)
