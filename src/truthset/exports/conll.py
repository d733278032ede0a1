"""CoNLL (BIO) from a named-entity job: one token per line, `token<TAB>tag`, a blank line
after each item, and a `# id = <item id>` comment before it.

Tokens are the item's `source` text split at whitespace. A token is in a span when it
overlaps it; the first token of a span is `B-<label>`, the others `I-<label>`, tokens
outside every span `O`. CoNLL has one tag per token, so where spans overlap the one that
starts first wins (the longer one when they start together).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from truthset.exports.formats import Exporter
from truthset.exports.labels import labeled_items, write_pieces
from truthset.store.models import Job

_TOKEN = re.compile(r"\S+")


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
    for token in _TOKEN.finditer(text):
        start, end = token.span()
        tag = "O"
        for span in spans:
            if span[0] < end and start < span[1]:  # the token overlaps the span
                if taken and taken[-1] == span:
                    tag = f"I-{span[2]}"
                else:
                    tag = f"B-{span[2]}"
                    taken.append(span)
                break
        lines.append(f"{token.group()}\t{_one_line(tag)}")
    return "\n".join(lines) + "\n\n"


def _one_line(value: str) -> str:
    return " ".join(value.split())


CONLL = Exporter(
    "conll",
    ".conll",
    "CoNLL BIO tags, one token per line (named-entity jobs)",
    export_conll,
    ("named-entity-recognition",),
)
