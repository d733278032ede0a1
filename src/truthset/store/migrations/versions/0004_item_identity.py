"""items are the same object by identity (source or source-ref, plus the id), not by line

An item's `content_hash` was the hash of the whole manifest line, so a job's input manifest
and its output manifest (the same objects with labels added) gave two items per object.
It is now the hash of the object's identity (`truthset.datasets.checking.item_identity`,
copied here so that this migration keeps its meaning when that code changes). Items whose
identities collide in one dataset (the same object imported twice with other keys, which
the old rule kept apart) keep their old hash, so no item is lost or merged here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:30:00.000000
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BATCH = 5000


def _identity(obj: dict[str, Any], ident: str | None) -> str:
    if "source-ref" in obj:
        kind, value = "source-ref", obj["source-ref"]
    else:
        kind, value = "source", obj.get("source")
    return blake2b(orjson.dumps([kind, value, ident]), digest_size=16).hexdigest()


def upgrade() -> None:
    conn = op.get_bind()
    last = -1
    taken: dict[int, set[str]] = {}
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, dataset_id, external_id, content_hash, data FROM items "
                "WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        updates = []
        for item_id, dataset_id, external_id, old_hash, data in rows:
            # Without an id key the external id was the old hash's first 16 characters.
            ident = None if external_id == old_hash[:16] else external_id
            new_hash = _identity(orjson.loads(data), ident)
            seen = taken.setdefault(dataset_id, set())
            if new_hash in seen or new_hash == old_hash:
                continue
            seen.add(new_hash)
            updates.append({"i": item_id, "h": new_hash})
        if updates:
            conn.execute(sa.text("UPDATE items SET content_hash = :h WHERE id = :i"), updates)


def downgrade() -> None:
    # The old hashes (of whole lines) are computed again from the stored lines.
    conn = op.get_bind()
    last = -1
    while True:
        rows = conn.execute(
            sa.text("SELECT id, data FROM items WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        conn.execute(
            sa.text("UPDATE items SET content_hash = :h WHERE id = :i"),
            [
                {
                    "i": item_id,
                    "h": blake2b(
                        orjson.dumps(orjson.loads(data), option=orjson.OPT_SORT_KEYS),
                        digest_size=16,
                    ).hexdigest(),
                }
                for item_id, data in rows
            ],
        )
