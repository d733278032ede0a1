"""What the export formats share: a job's labels in import order, read in batches (the
formats other than Ground Truth's manifest are written from it), the writing of an
export's pieces in chunks with progress, and file names made from item ids."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from truthset.store.models import Job
from truthset.store.raw import raw, stored_json

BATCH = 5000
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class LabeledItem:
    external_id: str
    data: dict[str, Any]
    value: Any
    meta: dict[str, Any]
    human: bool


def labeled_items(session: Session, job: Job) -> Iterator[LabeledItem]:
    """Every labeled, non-gold item of the job, in import order: the export's streaming
    read, a batched walk by position through `store.raw` that the formats other than
    Ground Truth's manifest are written from. It stays beside the formats that use it; the
    exports' other queries are in exports/repository.py."""
    last_pos = -1
    while True:
        rows = raw(session).all(
            "SELECT t.position, i.external_id, i.data, l.value, l.meta, l.human "
            "FROM tasks t JOIN items i ON i.id = t.item_id JOIN labels l ON l.task_id = t.id "
            "WHERE t.job_id = :j AND t.position > :p AND t.is_gold = 0 "
            "AND t.status IN ('complete', 'auto') ORDER BY t.position LIMIT :n",
            {"j": job.id, "p": last_pos, "n": BATCH},
        )
        if not rows:
            return
        last_pos = rows[-1][0]
        for _pos, external_id, data, value, meta, human in rows:
            yield LabeledItem(
                str(external_id),
                stored_json(data),
                stored_json(value),
                stored_json(meta) or {},
                bool(human),
            )


def write_pieces(
    write: Callable[[Iterator[bytes]], None],
    pieces: Iterable[bytes],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Hand `pieces` (a line, an item's block) to `write` joined in chunks of up to BATCH
    pieces or CHUNK_BYTES, reporting the count after each chunk; returns the count."""
    count = 0

    def chunks() -> Iterator[bytes]:
        nonlocal count
        buf: list[bytes] = []
        size = 0
        for piece in pieces:
            buf.append(piece)
            size += len(piece)
            count += 1
            if len(buf) >= BATCH or size >= CHUNK_BYTES:
                yield b"".join(buf)
                buf, size = [], 0
                if progress:
                    progress(count)
        if buf:
            yield b"".join(buf)
        if progress:
            progress(count)

    write(chunks())
    return count


def file_name(item_id: str) -> str:
    """An item id as a file name: anything but letters, digits, `_ . -` becomes `_`."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", item_id) or "_"
